#!/usr/bin/python3
"""run_matrix — fastnet side by side with its peers, in one run, on this machine.

Builds fastnet's echo_server and load_client (cmake) and the peer servers
(bench/build_peers.sh), then runs every server pinned to one core and the
neutral load client pinned to another, through the cases of the benchmark
issue, REPS times each, and writes one markdown table (median with min-max)
plus fastnet's CPU-per-message ratios to each peer and the loopback ceiling
measured with iperf3 in the same run. Everything is loopback-only and bounded
in time; every process it starts is stopped by PID on exit.

    bench/run_matrix.py [matrix] [--servers a,b] [--cases x,y] [--out FILE]
    bench/run_matrix.py scale    [--out FILE]
    bench/run_matrix.py charts   FILE.md [--out DIR]

matrix: the table (default file bench/results/latest.md). Cases named tls-*
        run only on the TLS servers (*-tls, go_tls, asio_ssl, bare_tls) and
        the other cases only on the plain ones; every server and case is in
        by default, --servers/--cases pick. bare_epoll and bare_uring are
        reference rows (issue 15): a bare edge-triggered epoll echo and a
        bare io_uring echo, no framework; fastnet's ratios to them get their
        own table and they take no part in the peer targets. Beside the
        markdown file go the raw numbers of every repetition (same name,
        .json) and the charts (same name + -charts/, bench/charts.py): per
        case an SVG of server CPU per message per server, per idle case one
        of memory per idle connection, bar = median, whisker = min-max.
        Without python3-matplotlib the charts are skipped with a note.
scale:  fastnet reactor and actor modes holding as many idle connections as
        the hard RLIMIT_NOFILE allows (at least 10,000), RSS and kernel memory
        per connection, and the projection to 1,000,000 connections
        (default file bench/results/scale.md).
charts: the charts of an existing results file, from its table (default
        directory: FILE's name + -charts/ beside it). Needs python3-matplotlib.

Environment: DURATION (seconds per run, default 5), REPS (default 3),
WARMUP (seconds before each measured window, default 0.5), PORT (first port
tried, default 9400), BUILD_DIR (default build), PEERS_DIR (default
build/bench-peers), SKIP_BUILD=1 (use the binaries as they are), IDLE_CONNS
(default 10000), SCALE_CONNS (default: as many as the fd limit allows),
SERVER_CPU / CLIENT_CPU (cores to pin to, default 0 and 1), TLS_CIPHERS (what
the client offers in the tls-* cases, default TLS_AES_128_GCM_SHA256: Go picks
AES-128 and OpenSSL's servers AES-256 from OpenSSL's default offer, so one
suite keeps them comparable; empty: OpenSSL's default offer). The tls-* cases
use a throwaway CA and ECDSA P-256 server certificate that
scripts/make_test_certs.sh makes in BUILD_DIR/bench-certs.
Python standard library only (the charts: python3-matplotlib if present):
run it with /usr/bin/python3.
"""

import argparse
import datetime
import json
import os
import platform
import resource
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ beside the scripts for the import below
import charts  # noqa: E402  (bench/charts.py; imports matplotlib only when it draws)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def env_num(name, default, kind=float):
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return kind(raw)
    except ValueError:
        die(f"{name}={raw!r} is not a number")


def die(msg):
    print(f"run_matrix: {msg}", file=sys.stderr)
    sys.exit(1)


def log(msg):
    print(msg, file=sys.stderr, flush=True)


DURATION = env_num("DURATION", 5.0)
REPS = env_num("REPS", 3, int)
WARMUP = env_num("WARMUP", 0.5)
FIRST_PORT = env_num("PORT", 9400, int)
IDLE_CONNS = env_num("IDLE_CONNS", 10000, int)
SERVER_CPU = os.environ.get("SERVER_CPU", "0")
CLIENT_CPU = os.environ.get("CLIENT_CPU", "1")
BUILD_DIR = os.path.abspath(os.environ.get("BUILD_DIR") or os.path.join(ROOT, "build"))
PEERS_DIR = os.path.abspath(os.environ.get("PEERS_DIR") or os.path.join(BUILD_DIR, "bench-peers"))
SKIP_BUILD = os.environ.get("SKIP_BUILD", "") not in ("", "0")
CERTS_DIR = os.path.join(BUILD_DIR, "bench-certs")
TLS_CIPHERS = os.environ.get("TLS_CIPHERS", "TLS_AES_128_GCM_SHA256")

# -- what is run ---------------------------------------------------------------

# Every server gets exactly one core (taskset) and is told so: one loop, one
# thread, one CAF worker. A second thread or worker on the same core would only
# contend with the first.
def fastnet_echo(port, mode, *extra):
    """fastnet's echo_server on one loop (actor mode adds its one CAF worker)."""
    return [f"{BUILD_DIR}/bench/echo_server", "--host", "127.0.0.1", "--port", str(port),
            "--mode", mode, "--loops", "1", *extra]


def tls_files():
    """The flags every TLS server is given: the same certificate and key."""
    return f"{CERTS_DIR}/server.pem", f"{CERTS_DIR}/server.key"


def fastnet_tls(port, mode, *extra):
    cert, key = tls_files()
    return fastnet_echo(port, mode, *extra, "--tls-cert", cert, "--tls-key", key)


def peer_tls(binary, port, *extra):
    cert, key = tls_files()
    return [f"{PEERS_DIR}/{binary}", "--port", str(port), *extra, "--cert", cert, "--key", key]


# The handicapped reactor's known extra work per message.
BURN_NS = 500

SERVERS = {
    # Each backend explicitly (issue 15), so a change of what `auto` picks
    # does not move a row.
    "fastnet-reactor": lambda port: fastnet_echo(port, "reactor", "--backend", "epoll"),
    "fastnet-actors": lambda port: fastnet_echo(port, "actors", "--caf-workers", "1",
                                                "--backend", "epoll"),
    "fastnet-reactor-uring": lambda port: fastnet_echo(port, "reactor", "--backend", "io_uring"),
    "fastnet-actors-uring": lambda port: fastnet_echo(port, "actors", "--caf-workers", "1",
                                                      "--backend", "io_uring"),
    "go_net": lambda port: [f"{PEERS_DIR}/go_net", "--port", str(port), "--threads", "1"],
    "asio": lambda port: [f"{PEERS_DIR}/asio_echo", "--port", str(port), "--threads", "1"],
    "caf_broker": lambda port: [f"{PEERS_DIR}/caf_broker_echo", "--port", str(port),
                                "--threads", "1"],
    # One loop / current-thread runtime each, as issue 15 asks.
    "libuv": lambda port: [f"{PEERS_DIR}/libuv_echo", "--port", str(port)],
    "tokio": lambda port: [f"{PEERS_DIR}/tokio_echo", "--port", str(port)],
    # Not run by default: the reactor with a known 0.5 µs of spin per message.
    # A case in which it does not cost about 0.5 µs more than fastnet-reactor
    # cannot rank servers by CPU per message (see bench/RESULTS.md).
    f"fastnet-reactor-burn{BURN_NS}": lambda port: fastnet_echo(port, "reactor", "--burn-ns",
                                                                str(BURN_NS)),
    # TLS: the same echo servers with the same certificate. Each accepts TLS
    # 1.2 and 1.3 as it would be configured; the client offers 1.3 only.
    "fastnet-reactor-tls": lambda port: fastnet_tls(port, "reactor"),
    "fastnet-actors-tls": lambda port: fastnet_tls(port, "actors", "--caf-workers", "1"),
    "go_tls": lambda port: peer_tls("go_tls", port, "--threads", "1"),
    "asio_ssl": lambda port: peer_tls("asio_ssl_echo", port, "--threads", "1"),
    # Single-threaded by design: the floor for a library on OpenSSL.
    "bare_tls": lambda port: peer_tls("bare_tls_echo", port),
    # The same floor on GnuTLS and wolfSSL, to choose the TLS library.
    "bare_gnutls": lambda port: peer_tls("bare_gnutls_echo", port),
    "bare_wolfssl": lambda port: peer_tls("bare_wolfssl_echo", port),
    # Reference rows (issue 15), single-threaded by design: the floors of an
    # epoll loop and of an io_uring loop, 230 and 360 lines, no framework.
    "bare_epoll": lambda port: [f"{PEERS_DIR}/bare_epoll_echo", "--port", str(port)],
    "bare_uring": lambda port: [f"{PEERS_DIR}/bare_uring_echo", "--port", str(port)],
}
FASTNET = ["fastnet-reactor", "fastnet-actors", "fastnet-reactor-uring", "fastnet-actors-uring"]
PEERS = ["go_net", "asio", "libuv", "tokio", "caf_broker"]
FASTNET_TLS = ["fastnet-reactor-tls", "fastnet-actors-tls"]
PEERS_TLS = ["go_tls", "asio_ssl", "bare_tls", "bare_gnutls", "bare_wolfssl"]
TLS_SERVERS = FASTNET_TLS + PEERS_TLS
# Reference rows, not peers: the issue 5 targets' "every peer" / "best peer"
# leave them out; render_ratios gives fastnet's ratios to them separately.
FLOORS = ["bare_epoll", "bare_uring"]
# The peers' binaries, which bench/build_peers.sh makes.
PEER_BINARIES = {"go_net": "go_net", "asio": "asio_echo", "caf_broker": "caf_broker_echo",
                 "libuv": "libuv_echo", "tokio": "tokio_echo",
                 "go_tls": "go_tls", "asio_ssl": "asio_ssl_echo", "bare_tls": "bare_tls_echo",
                 "bare_gnutls": "bare_gnutls_echo", "bare_wolfssl": "bare_wolfssl_echo",
                 "bare_epoll": "bare_epoll_echo", "bare_uring": "bare_uring_echo"}
CHECKS = {f"fastnet-reactor-burn{BURN_NS}": ("fastnet-reactor", BURN_NS / 1000)}  # server -> (baseline, µs added)
DEFAULT_SERVERS = [s for s in SERVERS if s not in CHECKS]

# The paced ping-pong's offered load: well under every server's and the
# client's one-core capacity, so neither side is saturated.
PACED_RATE = 40000

# The idle case holds 10,000; IDLE_CONNS changes it, and its name.
IDLE_CASE = f"idle-{IDLE_CONNS // 1000}k" if IDLE_CONNS % 1000 == 0 else f"idle-{IDLE_CONNS}"

# name -> (description, load_client arguments)
CASES = {
    "pingpong-1x64": ("ping-pong, 1 conn, 64 B", ["--mode", "pingpong", "--conns", "1", "--size", "64"]),
    "pingpong-100x64": ("ping-pong, 100 conns, 64 B",
                        ["--mode", "pingpong", "--conns", "100", "--size", "64"]),
    "pingpong-1000x64": ("ping-pong, 1,000 conns, 64 B",
                         ["--mode", "pingpong", "--conns", "1000", "--size", "64"]),
    "pingpong-100x64-paced": (f"ping-pong, 100 conns, 64 B, {PACED_RATE // 1000}k msgs/s offered",
                              ["--mode", "pingpong", "--conns", "100", "--size", "64", "--rate",
                               str(PACED_RATE)]),
    "pingpong-1x4k": ("ping-pong, 1 conn, 4 KiB",
                      ["--mode", "pingpong", "--conns", "1", "--size", "4096"]),
    "pingpong-100x4k": ("ping-pong, 100 conns, 4 KiB",
                        ["--mode", "pingpong", "--conns", "100", "--size", "4096"]),
    "pipelined-16x32x64": ("pipelined, 16 conns x 32 in flight, 64 B",
                           ["--mode", "pipelined", "--conns", "16", "--inflight", "32", "--size",
                            "64"]),
    "stream-1x64k": ("stream, 1 conn, 64 KiB messages, 16 in flight",
                     ["--mode", "stream", "--conns", "1", "--size", "65536", "--inflight", "16"]),
    "shortconn": ("short connections, 16 at a time, 64 B each",
                  ["--mode", "shortconn", "--conns", "16", "--size", "64"]),
    IDLE_CASE: (f"{IDLE_CONNS} idle conns, 64 B ping each per second",
                 ["--mode", "idle", "--conns", str(IDLE_CONNS), "--size", "64",
                  "--ping-interval", "1"]),
    # TLS (issue 14): the client's flags for TLS are added by tls_args().
    "tls-pingpong-100x64": ("TLS 1.3 ping-pong, 100 conns, 64 B",
                            ["--mode", "pingpong", "--conns", "100", "--size", "64"]),
    "tls-stream": ("TLS 1.3 stream, 1 conn, 64 KiB messages, 16 in flight",
                   ["--mode", "stream", "--conns", "1", "--size", "65536", "--inflight", "16"]),
    "tls-handshakes": ("TLS 1.3 full handshakes, 16 at a time, 64 B echo each",
                       ["--mode", "handshake", "--conns", "16", "--size", "64"]),
    "tls-handshakes-resumed": ("TLS 1.3 resumed handshakes (session tickets), 16 at a time",
                               ["--mode", "handshake", "--conns", "16", "--size", "64",
                                "--tls-resume"]),
    "tls-idle": (f"{IDLE_CONNS} idle TLS 1.3 conns, 64 B ping each per second",
                 ["--mode", "idle", "--conns", str(IDLE_CONNS), "--size", "64",
                  "--ping-interval", "1"]),
}


def is_tls_case(case):
    return case.startswith("tls-")


def case_mode(case):
    """The load client's --mode of a case."""
    args = CASES[case][1]
    return args[args.index("--mode") + 1]


def is_idle(case):
    return case_mode(case) == "idle"


def runs_on(server, case):
    """TLS cases run on the TLS servers, the others on the plain ones."""
    return is_tls_case(case) == (server in TLS_SERVERS)


def tls_args():
    args = ["--tls", "--tls-ca", f"{CERTS_DIR}/ca.pem"]
    return args + (["--tls-ciphers", TLS_CIPHERS] if TLS_CIPHERS else [])

# -- processes -----------------------------------------------------------------

_live = {}  # pid -> (Popen, name): everything started and not yet reaped


def start(cmd, name, **kwargs):
    proc = subprocess.Popen(cmd, **kwargs)
    _live[proc.pid] = (proc, name)
    return proc


def stop(proc, sig=signal.SIGTERM, grace=10.0):
    """Stops one process we started, by its PID; returns its exit status."""
    if proc.poll() is None:
        try:
            os.kill(proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
    _live.pop(proc.pid, None)
    return proc.returncode


def stop_all():
    for proc, _ in list(_live.values()):
        stop(proc, grace=3.0)


def on_signal(signum, _frame):
    raise SystemExit(f"run_matrix: interrupted by signal {signum}, stopping what it started")


def port_free(port):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


class Ports:
    """Hands out a free port per server start. A fresh port each time also
    keeps one server's TIME_WAIT leftovers away from the next server."""

    def __init__(self, first):
        self.next = first

    def take(self):
        for _ in range(200):
            port = self.next
            self.next = self.next + 1 if self.next < 65000 else FIRST_PORT
            if port_free(port):
                return port
        die(f"no free port found near PORT={FIRST_PORT}")


def pinned(cpu, cmd):
    return ["taskset", "-c", cpu] + cmd


class Server:
    """One server process pinned to SERVER_CPU; its output goes to a log file."""

    def __init__(self, name, port, tmpdir):
        self.name = name
        self.port = port
        self.log_path = os.path.join(tmpdir, f"{name}-{port}.log")
        self.log = open(self.log_path, "w")
        # taskset execs the server, so the PID is the server's own.
        self.proc = start(pinned(SERVER_CPU, SERVERS[name](port)), name, stdout=self.log,
                          stderr=subprocess.STDOUT)

    def wait_ready(self, timeout=15.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            with open(self.log_path) as f:
                if "listening" in f.read():
                    return True
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        return False

    def tail(self):
        with open(self.log_path) as f:
            return "".join(f.readlines()[-15:])

    def stop(self):
        status = stop(self.proc)
        self.log.close()
        return status


def run_client(args, server_pid, timeout):
    cmd = pinned(CLIENT_CPU, [f"{BUILD_DIR}/bench/load_client", "--host", "127.0.0.1"] + args +
                 ["--server-pid", str(server_pid), "--json"])
    proc = start(cmd, "load_client", stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop(proc, grace=2.0)
        return None, f"load_client did not finish within {timeout:.0f} s"
    _live.pop(proc.pid, None)
    lines = [l for l in out.splitlines() if l.startswith("{")]
    if proc.returncode == 2 or not lines:
        return None, f"load_client failed (status {proc.returncode}): {err.strip() or out.strip()}"
    return json.loads(lines[-1]), None


# -- build ---------------------------------------------------------------------

def check_tools():
    for tool in ("taskset", "cmake"):
        if subprocess.run(["sh", "-c", f"command -v {tool}"], capture_output=True).returncode:
            die(f"{tool} is missing (taskset: util-linux; cmake: apt-get install cmake)")
    if os.cpu_count() is None or os.cpu_count() < 2:
        die("needs at least 2 cores: the server and the client are pinned to different ones")
    for cpu in (SERVER_CPU, CLIENT_CPU):
        if int(cpu) >= os.cpu_count():
            die(f"core {cpu} does not exist (SERVER_CPU/CLIENT_CPU)")
    if SERVER_CPU == CLIENT_CPU:
        die("SERVER_CPU and CLIENT_CPU must differ")


def build(servers):
    """Builds fastnet's binaries, and the peers only when one of `servers` is a
    peer; makes the TLS certificates when one of them speaks TLS."""
    want_peers = any(s in PEER_BINARIES for s in servers)
    if any(s in TLS_SERVERS for s in servers):
        # Cheap and idempotent, so also with SKIP_BUILD: certificates are not binaries.
        run_or_die([os.path.join(ROOT, "scripts", "make_test_certs.sh"), CERTS_DIR],
                   "scripts/make_test_certs.sh")
    if SKIP_BUILD:
        log("run_matrix: SKIP_BUILD set, using the binaries as they are")
    else:
        log(f"run_matrix: building fastnet in {BUILD_DIR} (Release, -j2) ...")
        # Release unless the build dir was configured otherwise on purpose.
        configure = ["cmake", "-S", ROOT, "-B", BUILD_DIR, "-DFASTNET_BUILD_BENCH=ON",
                     "-DFASTNET_BUILD_EXAMPLES=ON"]
        if not os.path.exists(os.path.join(BUILD_DIR, "CMakeCache.txt")):
            configure.append("-DCMAKE_BUILD_TYPE=Release")
        run_or_die(configure, "cmake configure")
        run_or_die(["cmake", "--build", BUILD_DIR, "-j", os.environ.get("FASTNET_JOBS", "2"),
                    "--target", "bench_echo_server", "load_client"], "building echo_server and load_client")
        if want_peers:
            log("run_matrix: building the peers ...")
            run_or_die([os.path.join(ROOT, "bench", "build_peers.sh"), PEERS_DIR],
                       "bench/build_peers.sh")
    needed = [f"{BUILD_DIR}/bench/echo_server", f"{BUILD_DIR}/bench/load_client"]
    needed += [f"{PEERS_DIR}/{PEER_BINARIES[s]}" for s in servers if s in PEER_BINARIES]
    missing = [p for p in needed if not os.access(p, os.X_OK)]
    if missing:
        die("missing binaries: " + ", ".join(missing) + " (run without SKIP_BUILD)")
    build_type = cache_value("CMAKE_BUILD_TYPE")
    if build_type not in ("Release", "RelWithDebInfo"):
        log(f"run_matrix: WARNING: {BUILD_DIR} is a {build_type or 'unspecified'} build; "
            "numbers from it are not comparable")


def run_or_die(cmd, what):
    result = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if result.returncode != 0:
        sys.stderr.write(result.stdout[-4000:])
        die(f"{what} failed (status {result.returncode})")


def cache_value(key):
    try:
        with open(os.path.join(BUILD_DIR, "CMakeCache.txt")) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return line.split("=", 1)[1].strip()
    except OSError:
        pass
    return None


def raise_nofile():
    """Children inherit the limit: servers and client both get the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


# -- statistics and formatting -------------------------------------------------

def summary(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return statistics.median(values), min(values), max(values)


def fmt_value(v, digits):
    if v >= 1e6:
        return f"{v / 1e6:.2f}M"
    if v >= 1e4:
        return f"{v / 1e3:.1f}k"
    return f"{v:.{digits}f}"


def cell(s, digits=1):
    if s is None:
        return "–"
    med, lo, hi = s
    text = fmt_value(med, digits)
    if REPS > 1 and hi > lo:
        text += f" ({fmt_value(lo, digits)}–{fmt_value(hi, digits)})"
    return text


def elapsed(t0):
    s = int(time.time() - t0)
    return f"{s // 60}m{s % 60:02d}s"


# -- the matrix ----------------------------------------------------------------

def one_run(server_name, case, ports, tmpdir):
    """Starts the server, drives one case, stops the server. Returns a dict of
    figures (from the client's JSON) plus 'problem' when something failed."""
    args = list(CASES[case][1]) + ["--duration", str(DURATION)]
    if is_tls_case(case):
        args += tls_args()
    idle = is_idle(case)
    if not idle:
        args += ["--warmup", str(WARMUP)]
    port = ports.take()
    srv = Server(server_name, port, tmpdir)
    try:
        if not srv.wait_ready():
            return {"problem": f"{server_name} did not print 'listening':\n{srv.tail()}"}
        # Idle connects thousands of connections and waits a ping interval first.
        timeout = DURATION + WARMUP + (150 if idle else 30)
        result, problem = run_client(args + ["--port", str(port)], srv.proc.pid, timeout)
        if srv.proc.poll() is not None:
            problem = (problem or "") + f" {server_name} died (status {srv.proc.returncode}):\n{srv.tail()}"
        result = result or {}
        if problem:
            result["problem"] = problem.strip()
        return result
    finally:
        status = srv.stop()
        if status not in (0, None, -signal.SIGTERM, 143):
            log(f"run_matrix: note: {server_name} exited with status {status} after SIGTERM")


def saturation(server_pct, client_pct):
    if server_pct is None or client_pct is None:
        return "–"
    s, c = server_pct >= 90, client_pct >= 90
    if s and c:
        return "both"
    if s:
        return "server"
    if c:
        return "client"
    return "neither (latency)"


def iperf_ceiling(ports, t0, tmpdir):
    """Single-stream loopback TCP, server and client pinned like the echo runs:
    MiB/s of each repetition that gave a result."""
    results = []
    for rep in range(REPS):
        log(f"run_matrix: ceiling: iperf3 rep {rep + 1}/{REPS} — elapsed {elapsed(t0)}")
        port = ports.take()
        # -1: serve one test and exit. Readiness comes from its output, not a
        # probe connection: iperf3 would take the probe for the one test.
        log_path = os.path.join(tmpdir, f"iperf3-{port}.log")
        with open(log_path, "w") as out:
            srv = start(pinned(SERVER_CPU, ["iperf3", "-s", "-1", "--forceflush", "-p", str(port)]),
                        "iperf3 -s", stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.time() + 10
            while time.time() < deadline and srv.poll() is None:
                with open(log_path) as f:
                    if "listening" in f.read():
                        break
                time.sleep(0.05)
            client = start(pinned(CLIENT_CPU, ["iperf3", "-c", "127.0.0.1", "-p", str(port), "-t",
                                               str(max(1, round(DURATION))), "-J"]), "iperf3 -c",
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            try:
                out, _ = client.communicate(timeout=DURATION + 30)
            except subprocess.TimeoutExpired:
                stop(client)
                continue
            _live.pop(client.pid, None)
            try:
                bps = json.loads(out)["end"]["sum_received"]["bits_per_second"]
                results.append(bps / 8 / 2**20)
            except (ValueError, KeyError):
                log("run_matrix: iperf3 gave no result")
        finally:
            stop(srv, grace=3.0)
    return results


def matrix(opts):
    servers = opts.servers.split(",") if opts.servers else list(DEFAULT_SERVERS)
    cases = opts.cases.split(",") if opts.cases else list(CASES)
    for s in servers:
        if s not in SERVERS:
            die(f"unknown server {s!r} (known: {', '.join(SERVERS)})")
    for c in cases:
        if c not in CASES:
            die(f"unknown case {c!r} (known: {', '.join(CASES)})")
    hard = raise_nofile()
    if any(is_idle(c) for c in cases) and hard < IDLE_CONNS + 100:
        die(f"RLIMIT_NOFILE hard limit {hard} < {IDLE_CONNS + 100} needed for the idle cases "
            "(raise it, or set IDLE_CONNS lower)")
    if not any(runs_on(s, c) for s in servers for c in cases):
        die("no server of --servers runs a case of --cases (tls-* cases need TLS servers)")

    t0 = time.time()
    ports = Ports(FIRST_PORT)
    runs = {}  # (server, case) -> list of results
    problems = []
    total = len(cases)
    with tempfile.TemporaryDirectory(prefix="fastnet-bench-") as tmpdir:
        for n, case in enumerate(cases, 1):
            log(f"run_matrix: case {n} of {total}: {case} ({CASES[case][0]}) — elapsed {elapsed(t0)}")
            # Servers interleaved within each repetition, so a noisy moment on
            # the machine spreads over all of them instead of hitting one.
            for rep in range(REPS):
                for server in (s for s in servers if runs_on(s, case)):
                    r = one_run(server, case, ports, tmpdir)
                    runs.setdefault((server, case), []).append(r)
                    if "problem" in r:
                        problems.append(f"{server} / {case} rep {rep + 1}: {r['problem']}")
                        log(f"run_matrix:   {server} rep {rep + 1}: PROBLEM: {r['problem']}")
                    else:
                        log(f"run_matrix:   {server} rep {rep + 1}/{REPS}: "
                            f"{r.get('msgs_per_s', 0):.0f} msgs/s, "
                            f"server {r.get('server_cpu_us_per_msg', float('nan')):.2f} us/msg, "
                            f"errors {r.get('errors', '?')}"
                            + (f", {r['tls']} ({r.get('tls_full', 0)} full, "
                               f"{r.get('tls_resumed', 0)} resumed)" if "tls" in r else "")
                            + f" — elapsed {elapsed(t0)}")
        ceiling = [] if opts.no_iperf else iperf_ceiling(ports, t0, tmpdir)
    text = render_matrix(servers, cases, runs, summary(ceiling), problems, t0)
    path = opts.out or os.path.join(ROOT, "bench", "results", "latest.md")
    emit(text, path)
    stem = os.path.splitext(path)[0]
    write_raw(stem + ".json", servers, cases, runs, ceiling, problems)
    write_charts(chart_rows(tabulate(servers, cases, runs)), stem + "-charts")
    errors = sum(r.get("errors", 0) for rs in runs.values() for r in rs)
    return 1 if problems or errors else 0


def figures(rs):
    def col(key):
        return summary([r.get(key) for r in rs])
    f = {k: col(k) for k in ("msgs_per_s", "mib_per_s", "p99_us", "server_cpu_us_per_msg",
                             "server_cpu_pct", "client_cpu_pct", "server_rss_kib_after",
                             "rss_per_conn_kib", "kernel_kib_per_socket")}
    f["errors_total"] = sum(r.get("errors", 0) for r in rs)
    f["tls_full"] = sum(r.get("tls_full", 0) for r in rs)
    f["tls_resumed"] = sum(r.get("tls_resumed", 0) for r in rs)
    f["tls"] = sorted({r["tls"] for r in rs if r.get("tls")})
    return f


def tabulate(servers, cases, runs):
    """(server, case) -> figures of its successful runs, in the table's order."""
    return {(s, c): figures([r for r in runs.get((s, c), []) if "problem" not in r])
            for c in cases for s in servers if runs_on(s, c)}


def render_matrix(servers, cases, runs, ceiling, problems, t0):
    out = [header("fastnet benchmark matrix")]
    out.append("| server | case | msgs/s | MiB/s | p99 µs | server CPU µs/msg | server CPU % "
               "| client CPU % | RSS MiB / KiB per idle conn | saturated | errors |")
    out.append("|---|---|---|---|---|---|---|---|---|---|---|")
    table = tabulate(servers, cases, runs)
    for (server, case), f in table.items():
        idle = is_idle(case)
        if idle:
            mem = cell(f["rss_per_conn_kib"], 2) + " KiB/conn"
        elif f["server_rss_kib_after"]:
            mem = f"{f['server_rss_kib_after'][0] / 1024:.1f} MiB"
        else:
            mem = "–"
        sat = "–" if idle or not f["server_cpu_pct"] else saturation(
            f["server_cpu_pct"][0], f["client_cpu_pct"][0])
        errs = f["errors_total"]
        failed = sum("problem" in r for r in runs.get((server, case), []))
        err_text = str(errs) + (f" + {failed} failed runs" if failed else "")
        unit_note = {"shortconn": " /conn", "handshake": " /handshake"}.get(case_mode(case), "")
        out.append(f"| {server} | {case} | {cell(f['msgs_per_s'], 0)} | {cell(f['mib_per_s'], 1)} "
                   f"| {cell(f['p99_us'], 0)} | {cell(f['server_cpu_us_per_msg'], 2)}{unit_note} "
                   f"| {cell(f['server_cpu_pct'], 0)} | {cell(f['client_cpu_pct'], 0)} "
                   f"| {mem} | {sat} | {err_text} |")
    if ceiling:
        out.append(f"| iperf3 (ceiling) | 1 stream, one way | – | {cell(ceiling, 0)} | – | – | – | – "
                   "| – | – | – |")
    out.append("")
    out.append("shortconn: msgs/s are connections/s and CPU is per connection (connect, 64 B echo, "
               "close); tls-handshakes likewise per handshake (connect, TLS handshake, 64 B echo, "
               "close_notify, close). idle: msgs/s are pings. MiB/s count each way once; "
               "iperf3 is one way, one "
               "stream. saturated: server or client CPU ≥ 90 % of its core. When the client "
               "saturates first, server CPU µs/msg is the figure left to rank servers; "
               "--servers fastnet-reactor,fastnet-reactor-burn500 shows how much of a known "
               "0.5 µs/msg handicap each case reveals. The paced ping-pong leaves both sides "
               "slack.")
    out.append("")
    out += render_tls(servers, cases, table)
    out += render_ratios(servers, cases, table)
    out += render_targets(servers, cases, table)
    out += render_tls_targets(servers, cases, table)
    out += render_uring_targets(servers, cases, table)
    out += render_checks(servers, cases, table)
    if problems:
        out.append("## Problems")
        out.append("")
        out += [f"- {p}" for p in problems]
        out.append("")
    out.append(f"Total time {elapsed(t0)}.")
    return "\n".join(out) + "\n"


def median_of(table, server, case, key):
    f = table.get((server, case))
    return f[key][0] if f and f.get(key) else None


def render_ratios(servers, cases, table):
    out = []
    for fast_all, peers_all, tls, what in ((FASTNET, PEERS, False, "peer"),
                                           (FASTNET, FLOORS, False, "reference floor"),
                                           (FASTNET_TLS, PEERS_TLS, True, "peer over TLS")):
        fast = [s for s in fast_all if s in servers]
        peers = [s for s in peers_all if s in servers]
        mine = [c for c in cases if is_tls_case(c) == tls]
        if not fast or not peers or not mine:
            continue
        out += [f"## fastnet ÷ {what} (server CPU µs per message; "
                "idle: KiB per connection; < 1 is better for fastnet)", ""]
        heads = [f"{f.replace('fastnet-', '')} ÷ {p}" for f in fast for p in peers]
        out.append("| case | " + " | ".join(heads) + " |")
        out.append("|---|" + "---|" * len(heads))
        for case in mine:
            key = "rss_per_conn_kib" if is_idle(case) else "server_cpu_us_per_msg"
            row = []
            for f in fast:
                for p in peers:
                    a, b = median_of(table, f, case, key), median_of(table, p, case, key)
                    row.append(f"{a / b:.2f}" if a is not None and b else "–")
            out.append(f"| {case} | " + " | ".join(row) + " |")
        out.append("")
    return out


def render_tls(servers, cases, table):
    """What each TLS server negotiated, and how many handshakes were resumed."""
    tls_cases = [c for c in cases if is_tls_case(c)]
    tls_servers = [s for s in servers if s in TLS_SERVERS]
    if not tls_cases or not tls_servers:
        return []
    shakes = [c for c in tls_cases if case_mode(c) == "handshake"]
    offer = f", cipher suites {TLS_CIPHERS}" if TLS_CIPHERS else ""
    out = ["## TLS: what was negotiated", "",
           f"The client offers TLS 1.3 only{offer}; every server has the same ECDSA P-256 certificate (from {CERTS_DIR}), which the "
           "client verifies. Handshakes: full / resumed, counted inside the measured windows of "
           "all repetitions.", "",
           "| server | negotiated | " + " | ".join(f"{c}: full / resumed" for c in shakes) + " |",
           "|---|---|" + "---|" * len(shakes)]
    warnings = []
    for s in tls_servers:
        figs = [table[(s, c)] for c in tls_cases if (s, c) in table]
        negotiated = sorted({t for f in figs for t in f["tls"]})
        cells = []
        for c in shakes:
            f = table.get((s, c))
            if not f:
                cells.append("–")
                continue
            cells.append(f"{f['tls_full']} / {f['tls_resumed']}")
            total = f["tls_full"] + f["tls_resumed"]
            if "--tls-resume" in CASES[c][1] and total and f["tls_resumed"] < 0.9 * total:
                warnings.append(f"- WARNING: {s} resumed only {f['tls_resumed']} of {total} "
                                f"handshakes in {c}: its figure there is mostly full handshakes.")
        out.append(f"| {s} | {', '.join(negotiated) or '–'} | " + " | ".join(cells) + " |")
    out.append("")
    if warnings:
        out += warnings + [""]
    return out


def render_uring_targets(servers, cases, table):
    """Issue 15's io_uring targets, with the medians (and ranges) behind each."""
    out = ["## Targets (issue 15, io_uring)", ""]
    ru, au = "fastnet-reactor-uring", "fastnet-actors-uring"
    if ru not in servers and au not in servers:
        return []

    def cpu(s, c):
        return table.get((s, c), {}).get("server_cpu_us_per_msg")

    def line(ok, text):
        out.append(f"- {'not measured' if ok is None else ('met' if ok else 'MISSED')}: {text}")

    def show(v):
        return "–" if v is None else f"{v[0]:.2f} ({v[1]:.2f}–{v[2]:.2f})"

    for c in ("pingpong-100x64", "pingpong-1000x64", "pipelined-16x32x64"):
        if c not in cases or ru not in servers or "bare_uring" not in servers:
            continue
        x, y = cpu(ru, c), cpu("bare_uring", c)
        line(None if not x or not y else x[0] <= 1.03 * y[0],
             f"reactor-uring CPU/msg on {c} ≤ 1.03× bare_uring's ({show(x)} vs {show(y)} µs)")
    best_of = [p for p in ("asio", "libuv", "tokio") if p in servers]
    for c, factor in (("pingpong-1000x64", 0.9), ("pingpong-100x64", 1.0)):
        if c not in cases or ru not in servers or not best_of:
            continue
        x = cpu(ru, c)
        others = {p: cpu(p, c) for p in best_of}
        best = min((v[0] for v in others.values() if v), default=None)
        line(None if not x or best is None else x[0] <= factor * best,
             f"reactor-uring CPU/msg on {c} ≤ {factor:g}× the best of "
             + ", ".join(best_of) + f" ({show(x)} vs "
             + ", ".join(f"{p} {show(v)}" for p, v in others.items()) + ")")
    c = "pingpong-100x64"
    if c in cases and au in servers and "go_net" in servers:
        x, y = cpu(au, c), cpu("go_net", c)
        line(None if not x or not y else x[0] <= 0.9 * y[0],
             f"actors-uring CPU/msg on {c} ≤ 0.9× go_net's ({show(x)} vs {show(y)} µs)")
    # "No case worse than epoll by more than the noise": io_uring's median
    # above the whole of epoll's range.
    for uring, epoll in ((ru, "fastnet-reactor"), (au, "fastnet-actors")):
        if uring not in servers or epoll not in servers:
            continue
        for c in cases:
            if is_tls_case(c):
                continue
            key = "rss_per_conn_kib" if is_idle(c) else "server_cpu_us_per_msg"
            x, y = table.get((uring, c), {}).get(key), table.get((epoll, c), {}).get(key)
            line(None if not x or not y else x[0] <= y[2],
                 f"{uring.replace('fastnet-', '')} on {c} not worse than epoll's beyond its "
                 f"range ({show(x)} vs {show(y)})")
    if IDLE_CASE in cases and ru in servers:
        x = table.get((ru, IDLE_CASE), {}).get("rss_per_conn_kib")
        line(None if not x else x[0] <= 0.25,
             f"reactor-uring idle memory ≤ 0.25 KiB/conn ({show(x)} KiB)")
    out.append("")
    return out


def render_checks(servers, cases, table):
    """For each handicapped server in the run: how much of its known extra
    cost per message each case showed."""
    out = []
    for check, (base, added) in CHECKS.items():
        if check not in servers or base not in servers:
            continue
        out += [f"## Sensitivity: {check} against {base} (+{added} µs of spin per message)", "",
                "| case | shown µs/msg | share of the handicap |", "|---|---|---|"]
        for case in cases:
            if case_mode(case) in ("idle", "shortconn", "handshake", "stream"):
                continue
            a = median_of(table, check, case, "server_cpu_us_per_msg")
            b = median_of(table, base, case, "server_cpu_us_per_msg")
            if a is None or b is None:
                continue
            out.append(f"| {case} | {a - b:+.2f} | {(a - b) / added:.0%} |")
        out.append("")
    return out


def render_targets(servers, cases, table):
    """The issue's targets, each with the measured medians behind it. A target
    whose case or servers were not part of this run is left out."""
    out = ["## Targets (issue 5)", ""]

    def have(case, *who):
        return case in cases and all(w in servers for w in who)

    def num(v, digits):
        return "–" if v is None else f"{v:.{digits}f}"

    def line(a, b, ok, text):
        verdict = "not measured" if a is None or b is None else ("met" if ok(a, b) else "MISSED")
        out.append(f"- {verdict}: {text}")

    def cpu(s, c):
        return median_of(table, s, c, "server_cpu_us_per_msg")

    r, a = "fastnet-reactor", "fastnet-actors"
    # Unpaced, client and server both saturate; paced, both have slack.
    for c in ("pingpong-100x64", "pingpong-100x64-paced"):
        if have(c, r, "asio"):
            x, y = cpu(r, c), cpu("asio", c)
            line(x, y, lambda x, y: x <= y,
                 f"reactor CPU/msg on {c} ≤ asio's ({num(x, 2)} vs {num(y, 2)} µs)")
        if have(c, a, "go_net"):
            x, y = cpu(a, c), cpu("go_net", c)
            line(x, y, lambda x, y: x <= y,
                 f"actors CPU/msg on {c} ≤ go_net's ({num(x, 2)} vs {num(y, 2)} µs)")
    c = "stream-1x64k"
    peers = [p for p in PEERS if p in servers]
    if have(c, r) and peers:
        x = median_of(table, r, c, "mib_per_s")
        best = [median_of(table, p, c, "mib_per_s") for p in peers]
        best = None if None in best else max(best)
        line(x, best, lambda x, y: x >= y,
             f"reactor stream MiB/s ≥ best peer's ({num(x, 0)} vs {num(best, 0)})")
    # The idle-memory issue's targets: libuv's one-loop echo holds 0.26 KiB
    # per idle connection here; the actor mode's bound includes the actor.
    for who, limit in ((r, 0.25), (a, 1.5)):
        if have(IDLE_CASE, who):
            x = median_of(table, who, IDLE_CASE, "rss_per_conn_kib")
            line(x, limit, lambda x, y: x <= y,
                 f"{who} idle memory ≤ {limit} KiB/conn ({num(x, 2)} KiB)")
    c = "shortconn"
    if have(c, r) and peers:
        x = cpu(r, c)
        others = {p: cpu(p, c) for p in peers}
        worst = None if None in others.values() else min(others.values())
        line(x, worst, lambda x, y: x <= y,
             f"reactor CPU per short connection ≤ every peer's ({num(x, 1)} µs vs "
             + ", ".join(f"{p} {num(v, 1)}" for p, v in others.items()) + ")")
    if have(c, a, "go_net"):
        x, y = cpu(a, c), cpu("go_net", c)
        line(x, y, lambda x, y: x <= y,
             f"actors CPU per short connection ≤ go_net's ({num(x, 1)} vs {num(y, 1)} µs)")
    errs = {s: sum(table[(s, c)]["errors_total"] for c in cases if (s, c) in table)
            for s in FASTNET + FASTNET_TLS if s in servers}
    if errs:
        line(0, 0, lambda x, y: all(v == 0 for v in errs.values()),
             "no lost or corrupted byte in fastnet (errors: "
             + ", ".join(f"{s} {v}" for s, v in errs.items()) + ")")
    out.append("")
    return out


def render_tls_targets(servers, cases, table):
    """Issue 14's TLS targets, for each fastnet TLS server in the run."""
    out = []

    def have(case, *who):
        return case in cases and all(w in servers for w in who)

    def num(v, digits):
        return "–" if v is None else f"{v:.{digits}f}"

    def line(a, b, ok, text):
        verdict = "not measured" if a is None or b is None else ("met" if ok(a, b) else "MISSED")
        out.append(f"- {verdict}: {text}")

    def cpu(s, c):
        return median_of(table, s, c, "server_cpu_us_per_msg")

    for f in (s for s in FASTNET_TLS if s in servers):
        c = "tls-pingpong-100x64"
        for peer, factor in (("go_tls", 1.0), ("asio_ssl", 0.8), ("bare_tls", 1.05)):
            if have(c, f, peer):
                x, y = cpu(f, c), cpu(peer, c)
                line(x, y, lambda x, y, k=factor: x <= k * y,
                     f"{f} CPU/msg on {c} ≤ {factor:g}× {peer}'s "
                     f"({num(x, 2)} vs {num(y, 2)} µs)")
        for c in ("tls-handshakes", "tls-handshakes-resumed"):
            if have(c, f, "go_tls"):
                x, y = cpu(f, c), cpu("go_tls", c)
                line(x, y, lambda x, y: x <= y,
                     f"{f} CPU per handshake on {c} ≤ go_tls's ({num(x, 0)} vs {num(y, 0)} µs)")
        c = "tls-idle"
        if have(c, f):
            x = median_of(table, f, c, "rss_per_conn_kib")
            line(x, 16.0, lambda x, y: x <= y,
                 f"{f} idle TLS memory ≤ 16 KiB/conn ({num(x, 2)} KiB)")
        c = "tls-stream"
        for peer in ("go_tls", "asio_ssl"):
            if have(c, f, peer):
                x, y = (median_of(table, f, c, "mib_per_s"), median_of(table, peer, c, "mib_per_s"))
                line(x, y, lambda x, y: x >= y,
                     f"{f} TLS stream MiB/s ≥ {peer}'s ({num(x, 0)} vs {num(y, 0)})")
    if out:
        out = ["## TLS targets (issue 14)", ""] + out + [""]
    return out


# -- scale ---------------------------------------------------------------------

def slabinfo():
    """bytes per slab cache, or None when /proc/slabinfo is not readable (non-root)."""
    try:
        with open("/proc/slabinfo") as f:
            lines = f.readlines()[2:]
    except OSError:
        return None
    caches = {}
    for l in lines:
        p = l.split()
        caches[p[0]] = int(p[2]) * int(p[3])  # num_objs * objsize
    return caches


# Slab caches a TCP socket with a descriptor and an epoll registration lives
# in: the socket, its inode, file and dentry, the epoll item, LSM blobs.
SOCKET_CACHES = ("TCP", "TCPv6", "sock_inode_cache", "filp", "bfilp", "dentry", "eventpoll_epi",
                 "eventpoll_pwq", "lsm_file_cache", "lsm_inode_cache")


def tcp_inuse():
    """TCP sockets in use in this network namespace. Read instead of listing
    /proc/PID/fd, which would itself grow the kernel caches being measured."""
    with open("/proc/net/sockstat") as f:
        for line in f:
            if line.startswith("TCP:"):
                p = line.split()
                return int(p[p.index("inuse") + 1])
    return 0


def scale(opts):
    hard = raise_nofile()
    # Both ends live here: the client needs a descriptor per connection, the
    # server too; keep some for epoll, listeners, logs.
    wanted = env_num("SCALE_CONNS", hard - 200, int)
    if wanted > hard - 200:
        die(f"SCALE_CONNS={wanted} does not fit the hard RLIMIT_NOFILE {hard} (keep 200 spare)")
    if wanted < 10000:
        if "SCALE_CONNS" not in os.environ:
            die(f"hard RLIMIT_NOFILE is {hard}: fewer than 10,000 idle connections possible. "
                "Raise the hard limit (e.g. /etc/security/limits.conf, or `ulimit -Hn` as root).")
        log(f"run_matrix: note: SCALE_CONNS={wanted} is below the 10,000 the issue asks for")
    nr_open = int(open("/proc/sys/fs/nr_open").read())
    t0 = time.time()
    ports = Ports(FIRST_PORT)
    rows = []
    problems = []
    with tempfile.TemporaryDirectory(prefix="fastnet-scale-") as tmpdir:
        for n, server in enumerate(FASTNET, 1):
            log(f"run_matrix: scale {n} of {len(FASTNET)}: {server}, {wanted} idle connections "
                f"— elapsed {elapsed(t0)}")
            port = ports.take()
            srv = Server(server, port, tmpdir)
            try:
                if not srv.wait_ready():
                    problems.append(f"{server} did not start:\n{srv.tail()}")
                    continue
                base_sockets = tcp_inuse()
                slab0 = slabinfo()
                args = ["--mode", "idle", "--conns", str(wanted), "--size", "64", "--ping-interval",
                        "2", "--duration", str(DURATION), "--port", str(port), "--host", "127.0.0.1",
                        "--server-pid", str(srv.proc.pid), "--json"]
                client = start(pinned(CLIENT_CPU, [f"{BUILD_DIR}/bench/load_client"] + args),
                               "load_client", stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
                # Kernel caches are sampled while every connection is held
                # (both ends of each are counted in sockstat).
                deadline = time.time() + 150
                while (time.time() < deadline and client.poll() is None
                       and tcp_inuse() < base_sockets + 2 * wanted):
                    time.sleep(0.1)
                time.sleep(0.5)
                slab1 = slabinfo() if client.poll() is None else None
                try:
                    out, err = client.communicate(timeout=DURATION + 200)
                except subprocess.TimeoutExpired:
                    stop(client)
                    problems.append(f"{server}: load_client timed out")
                    continue
                _live.pop(client.pid, None)
                lines = [l for l in out.splitlines() if l.startswith("{")]
                if not lines:
                    problems.append(f"{server}: load_client failed: {err.strip()}")
                    continue
                r = json.loads(lines[-1])
                if r.get("errors"):
                    problems.append(f"{server}: {r['errors']} errors during the idle hold")
                top = []
                if slab0 and slab1 and r.get("idle_open_end"):
                    growth = {k: slab1.get(k, 0) - slab0.get(k, 0) for k in slab1}
                    top = sorted(growth.items(), key=lambda kv: -kv[1])[:6]
                    # Per socket: both ends of each loopback connection are alike.
                    sockets = 2 * r["idle_open_end"]
                    per = sum(growth.get(k, 0) for k in SOCKET_CACHES) / 1024 / sockets
                    pages = r.get("tcp_mem_delta_pages", 0)
                    r["kernel_kib_per_socket_slabinfo"] = per + max(pages, 0) * (
                        os.sysconf("SC_PAGE_SIZE") / 1024) / sockets
                rows.append((server, r, top))
            finally:
                srv.stop()
    emit(render_scale(rows, problems, hard, nr_open, wanted, t0),
         opts.out or os.path.join(ROOT, "bench", "results", "scale.md"))
    return 1 if problems else 0


def render_scale(rows, problems, hard, nr_open, wanted, t0):
    out = [header("fastnet idle-connection scale", reps=1)]
    out.append(f"RLIMIT_NOFILE hard limit {hard} (fs.nr_open {nr_open}); {wanted} connections "
               "asked for, client and server on this machine, each connection pinged every 2 s "
               "with 64 verified bytes.")
    out.append("")
    out.append("| server | conns held | server RSS before → after | user KiB/conn "
               "| kernel KiB/socket (slabinfo; meminfo) | 1,000,000 conns: user | kernel | total |")
    out.append("|---|---|---|---|---|---|---|---|")

    def num(v):
        return "–" if v is None else f"{v:.2f}"

    def gib(kib):
        return "–" if kib is None else f"{kib * 1e6 / 2**20:.2f} GiB"

    for server, r, _ in rows:
        per = r.get("rss_per_conn_kib")
        by_slab = r.get("kernel_kib_per_socket_slabinfo")
        by_meminfo = r.get("kernel_kib_per_socket")
        kern = by_slab if by_slab is not None else by_meminfo
        total = per + kern if per is not None and kern is not None else None
        out.append(f"| {server} | {r.get('idle_open_end')} | {r.get('server_rss_kib_base')} → "
                   f"{r.get('server_rss_kib_after')} KiB | {num(per)} | {num(by_slab)}; "
                   f"{num(by_meminfo)} | {gib(per)} | {gib(kern)} | {gib(total)} |")
    out.append("")
    out.append("User space: the server's RSS growth per connection (from before the first connect "
               "to the end of the hold), times 10^6. Kernel, per socket: growth of the slab caches "
               "a socket lives in (" + ", ".join(SOCKET_CACHES) + "; /proc/slabinfo, root only) "
               "plus TCP buffer pages (/proc/net/sockstat), over both ends of every loopback "
               "connection, halved, so it is the server's side of one connection; the meminfo "
               "figure uses all of /proc/meminfo Slab instead and is noisier. Both are "
               "machine-wide: other activity on the machine adds noise. The projection uses the "
               "slabinfo figure when there is one. A million connections also need "
               "RLIMIT_NOFILE and fs.nr_open above 10^6 and, from one client host, at least 36 "
               "source addresses (about 28,000 ephemeral ports each).")
    out.append("")
    for server, _, top in rows:
        if top:
            out.append(f"Slab caches that grew most while {server} held the connections (KiB): "
                       + ", ".join(f"{k} {v / 1024:+.0f}" for k, v in top))
            out.append("")
    if problems:
        out.append("## Problems")
        out.append("")
        out += [f"- {p}" for p in problems]
        out.append("")
    out.append(f"Total time {elapsed(t0)}.")
    return "\n".join(out) + "\n"


# -- output --------------------------------------------------------------------

def header(title, reps=REPS):
    def cmd_out(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT).stdout.strip()
        except OSError:
            return "?"
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            model = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    commit = cmd_out(["git", "rev-parse", "--short", "HEAD"])
    dirty = (" (tracked files modified)"
             if cmd_out(["git", "status", "--porcelain", "--untracked-files=no"]) else "")
    go = cmd_out(["go", "version"])
    lines = [
        f"# {title}",
        "",
        f"- date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"- command: `{' '.join(shlex.quote(a) for a in sys.argv)}` with DURATION={DURATION:g}"
        + (f" REPS={REPS} WARMUP={WARMUP:g}" if reps > 1 or REPS == 1 else ""),
        f"- machine: {os.cpu_count()} cores ({model}), {platform.platform()}",
        f"- fastnet {commit}{dirty}, build type {cache_value('CMAKE_BUILD_TYPE')}; peers: {go}, "
        "Boost.Asio (libboost-dev), libuv (libuv1-dev, one loop), tokio (librust-tokio-dev, "
        "current-thread runtime), CAF 0.17 io::broker (libcaf-dev); over TLS Go crypto/tls, "
        "Asio ssl::stream and a bare epoll echo, the latter two and fastnet on "
        + (cmd_out(["openssl", "version"]).split(" (")[0] or "OpenSSL"),
        "- reference floors (no framework, one thread): bare_epoll (edge-triggered epoll) and "
        "bare_uring (io_uring, multishot accept and recv, provided buffer ring; liburing "
        + (cmd_out(["dpkg-query", "-W", "-f=${Version}", "liburing-dev"]) or "?") + ")",
        f"- server pinned to core {SERVER_CPU}, load_client (bench/load_client/, one thread) to "
        f"core {CLIENT_CPU}; loopback; every echoed byte verified",
        f"- cells: median of {reps} runs (min–max)" if reps > 1 else "- cells: one run",
        "",
    ]
    return "\n".join(lines)


def emit(text, path):
    print(text)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    log(f"run_matrix: written to {path}")


# What a case's server CPU figure is per, by the load client's mode.
CPU_UNITS = {"shortconn": "connection", "handshake": "handshake", "idle": "ping"}


def chart_rows(table):
    """The charts' rows from a run's figures; a row whose runs all failed is left out."""
    return [charts.Row(s, c, CPU_UNITS.get(case_mode(c), "message"), f["server_cpu_us_per_msg"],
                       f["rss_per_conn_kib"] if is_idle(c) else None)
            for (s, c), f in table.items() if f["server_cpu_us_per_msg"]]


def write_charts(rows, out_dir, reps=REPS):
    """Renders the charts into out_dir. False, with a note, when there is
    nothing to draw or no matplotlib."""
    if not rows:
        log("run_matrix: no charts: no row has a server CPU figure")
        return False
    try:
        paths = charts.render(rows, out_dir, reps, floors=FLOORS,
                              descriptions={c: CASES[c][0] for c in CASES})
    except ImportError:
        log("run_matrix: charts skipped: python3-matplotlib is missing "
            "(apt-get install python3-matplotlib)")
        return False
    log(f"run_matrix: {len(paths)} charts written to {out_dir}")
    return True


def write_raw(path, servers, cases, runs, ceiling, problems):
    """Every repetition's figures as the load client reported them (plus
    'problem' where a run failed), as JSON beside the table."""
    data = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": sys.argv,
        "settings": {"DURATION": DURATION, "REPS": REPS, "WARMUP": WARMUP,
                     "IDLE_CONNS": IDLE_CONNS, "TLS_CIPHERS": TLS_CIPHERS,
                     "SERVER_CPU": SERVER_CPU, "CLIENT_CPU": CLIENT_CPU},
        "servers": servers,
        "floors": [s for s in FLOORS if s in servers],
        "cases": {c: {"description": CASES[c][0], "mode": case_mode(c)} for c in cases},
        "runs": [{"server": s, "case": c, "reps": runs.get((s, c), [])}
                 for c in cases for s in servers if runs_on(s, c)],
        "iperf3_ceiling_mib_per_s": ceiling,
        "problems": problems,
    }
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1, ensure_ascii=False)
        f.write("\n")
    log(f"run_matrix: raw numbers written to {path}")


def charts_command(path, out_dir):
    """The charts of an existing results file, from its table."""
    try:
        rows, reps = charts.parse_markdown(path)
    except (OSError, ValueError) as e:
        die(str(e))
    ok = write_charts(rows, out_dir or os.path.splitext(path)[0] + "-charts", reps)
    return 0 if ok else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", nargs="?", default="matrix", choices=["matrix", "scale", "charts"])
    parser.add_argument("file", nargs="?", help="charts: the results markdown file to draw")
    parser.add_argument("--servers", help="comma-separated subset of: " + ", ".join(SERVERS))
    parser.add_argument("--cases", help="comma-separated subset of: " + ", ".join(CASES))
    parser.add_argument("--out", help="markdown file to write (also printed); charts: the "
                        "directory to write the SVGs to")
    parser.add_argument("--no-iperf", action="store_true", help="skip the iperf3 ceiling")
    opts = parser.parse_args()
    if opts.what == "charts":
        if not opts.file:
            parser.error("charts needs the results markdown FILE")
        return charts_command(opts.file, opts.out)
    if opts.file:
        parser.error(f"unexpected argument {opts.file!r}")

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if DURATION <= 0 or DURATION > 600 or REPS < 1:
        die("DURATION must be in (0, 600] and REPS at least 1")
    check_tools()
    try:
        build(opts.servers.split(",") if opts.what == "matrix" and opts.servers
              else DEFAULT_SERVERS if opts.what == "matrix" else FASTNET)
        if not opts.no_iperf and opts.what == "matrix":
            if subprocess.run(["sh", "-c", "command -v iperf3"], capture_output=True).returncode:
                die("iperf3 is missing (bench/build_peers.sh installs it) — or pass --no-iperf")
        return matrix(opts) if opts.what == "matrix" else scale(opts)
    finally:
        stop_all()


if __name__ == "__main__":
    sys.exit(main())
