//! tokio_echo — echo server peer for fastnet's benchmarks, written the way an
//! experienced tokio user writes a fast one on a single core:
//!
//! * A `current_thread` runtime (one thread; the benchmark compares one loop
//!   per server), built with `runtime::Builder` rather than `#[tokio::main]`,
//!   which is the same runtime without compiling the proc-macro crates.
//! * A task per connection, spawned from the accept loop: the idiomatic tokio
//!   shape, and what tokio's own echo example does.
//! * TCP_NODELAY on every accepted socket, so a small echo leaves at once
//!   instead of waiting on Nagle for the previous segment's ACK.
//! * Per connection one 16 KiB buffer, `read` then `write_all` of what was
//!   read. 16 KiB as the Asio and Go peers use (a TLS record's size and most
//!   tuned servers' read size): a 64 KiB stream message takes 4 reads instead
//!   of 16 and the stream rows measure tokio, not the buffer size. (tokio's
//!   echo example uses 1 KiB, which is for reading, not for speed.) The
//!   buffer is a `Vec::with_capacity` filled by `read_buf`, so it is never
//!   zeroed: no 16 KiB memset per connection, and an idle connection's pages
//!   stay untouched until data arrives.
//! * The listener is bound through `TcpSocket` with SO_REUSEADDR and the
//!   largest backlog the kernel allows (it truncates to net.core.somaxconn).
//! * RLIMIT_NOFILE's soft limit is raised to the hard one at start (the
//!   benchmark holds 10,000 idle connections). If descriptors run out all the
//!   same, accept fails with EMFILE while the connection stays queued, so the
//!   listener stays ready: the loop logs the first failure and sleeps 5 ms
//!   after each (as the Go peer and hyper do) instead of spinning or panicking.
//! * SIGINT/SIGTERM (tokio::signal) end `block_on`; dropping the runtime
//!   closes every connection; the process exits 0. SIGPIPE is already
//!   ignored by Rust's std, so writing to a reset peer is just an error.
//!
//! Echoes raw bytes, prints a line containing "listening" when ready.
//!
//!   tokio_echo --port P [--host 127.0.0.1]
//!
//! Built offline from Debian's packaged crate sources only (librust-tokio-dev
//! and librust-libc-dev fill the directory source /usr/share/cargo/registry,
//! which .cargo/config.toml beside Cargo.toml puts in place of the default
//! registry), with the target dir outside the tree:
//!   CARGO_TARGET_DIR=/tmp/t cargo build --release --offline
//! Any cargo from 1.63 (Debian 12's own) up builds it; the code keeps to
//! Rust 1.63. bench/peers/tokio/BUILD.txt has the lines for build_peers.sh,
//! which builds a copy under its OUT_DIR so Cargo.lock is not written here.

use std::future::Future;
use std::io::{self, Write};
use std::net::{SocketAddr, ToSocketAddrs};
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::signal::unix::{signal, Signal, SignalKind};

/// Read buffer per connection (see the head comment).
const BUFFER_BYTES: usize = 16 * 1024;
/// Listen backlog asked for; the kernel caps it at net.core.somaxconn.
const BACKLOG: u32 = 65535;
/// Pause after a failed accept, so EMFILE does not turn into a busy loop.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(5);

static ACCEPT_ERRORS: AtomicU64 = AtomicU64::new(0);

fn usage() -> ExitCode {
    eprintln!("usage: tokio_echo --port P [--host 127.0.0.1]");
    ExitCode::from(2)
}

/// Soft RLIMIT_NOFILE up to the hard limit; a failure is only reported.
fn raise_nofile_limit() {
    let mut rl = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: plain syscalls on a properly initialised struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) != 0 || rl.rlim_cur >= rl.rlim_max {
            return;
        }
        let wanted = libc::rlimit { rlim_cur: rl.rlim_max, rlim_max: rl.rlim_max };
        if libc::setrlimit(libc::RLIMIT_NOFILE, &wanted) != 0 {
            eprintln!(
                "tokio_echo: could not raise RLIMIT_NOFILE from {} to {}: {}",
                rl.rlim_cur,
                rl.rlim_max,
                io::Error::last_os_error()
            );
        }
    }
}

/// One connection: read what is there, write all of it back, until EOF or an error.
async fn echo(mut stream: TcpStream) {
    let mut buf: Vec<u8> = Vec::with_capacity(BUFFER_BYTES);
    loop {
        match stream.read_buf(&mut buf).await {
            Ok(0) | Err(_) => return, // EOF, reset: dropping the stream closes it
            Ok(_) => {}
        }
        if stream.write_all(&buf).await.is_err() {
            return;
        }
        buf.clear(); // keeps the capacity: no allocation per message
    }
}

async fn accept_loop(listener: TcpListener) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let _ = stream.set_nodelay(true);
                tokio::spawn(echo(stream));
            }
            Err(e) => {
                // EMFILE/ENFILE/ENOBUFS, or a connection aborted before it was
                // accepted. Log once, back off briefly, keep serving.
                if ACCEPT_ERRORS.fetch_add(1, Ordering::Relaxed) == 0 {
                    eprintln!(
                        "tokio_echo: accept: {e} (backing off {} ms after each failure; \
                         further failures are only counted)",
                        ACCEPT_BACKOFF.as_millis()
                    );
                }
                tokio::time::sleep(ACCEPT_BACKOFF).await;
            }
        }
    }
}

/// Ready with the signal's name at the first SIGTERM or SIGINT.
struct Stop {
    term: Signal,
    int: Signal,
}

impl Future for Stop {
    type Output = &'static str;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<&'static str> {
        if self.term.poll_recv(cx).is_ready() {
            return Poll::Ready("SIGTERM");
        }
        if self.int.poll_recv(cx).is_ready() {
            return Poll::Ready("SIGINT");
        }
        Poll::Pending
    }
}

fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)
}

fn main() -> ExitCode {
    let mut host = String::from("127.0.0.1");
    let mut port: Option<u16> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = match args.next() {
            Some(v) => v,
            None => return usage(),
        };
        match arg.as_str() {
            "--port" => match value.parse::<u16>() {
                Ok(p) if p > 0 => port = Some(p),
                _ => return usage(),
            },
            "--host" => host = value,
            _ => return usage(),
        }
    }
    let port = match port {
        Some(p) => p,
        None => return usage(),
    };
    let addr = match (host.as_str(), port).to_socket_addrs().map(|mut a| a.next()) {
        Ok(Some(a)) => a,
        _ => {
            eprintln!("tokio_echo: cannot resolve --host {host}");
            return ExitCode::from(2);
        }
    };

    raise_nofile_limit();

    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tokio_echo: runtime: {e}");
            return ExitCode::from(1);
        }
    };

    let result: io::Result<&'static str> = runtime.block_on(async {
        // Signals first, so a SIGTERM right after "listening" is not lost.
        let stop = Stop {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
        };
        let listener = bind(addr)?;
        println!(
            "tokio_echo listening on {} (tokio current_thread, {} KiB buffers)",
            listener.local_addr()?,
            BUFFER_BYTES / 1024
        );
        io::stdout().flush()?;
        tokio::spawn(accept_loop(listener));
        Ok(stop.await)
    });

    match result {
        Ok(sig) => {
            let errors = ACCEPT_ERRORS.load(Ordering::Relaxed);
            if errors > 0 {
                println!("tokio_echo stopping ({sig}); {errors} failed accepts");
            } else {
                println!("tokio_echo stopping ({sig})");
            }
            let _ = io::stdout().flush();
            // Dropping the runtime drops every connection task and its socket.
            drop(runtime);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("tokio_echo: {addr}: {e}");
            ExitCode::from(1)
        }
    }
}
