/* libuv_echo — a plain TCP echo server on libuv, written for speed the way an
 * experienced libuv user would: one loop, one thread, one uv_tcp_t per
 * connection, nothing else. The libuv row of the benchmark matrix, next to
 * the bare_epoll floor: what libuv's callback layer (level-triggered epoll,
 * uv__read's alloc/read/callback cycle) costs on top of it.
 *
 * Per message: libuv reads into the loop's one 64 KiB buffer (alloc_cb
 * always hands out the same static buffer: libuv calls read_cb right after
 * each read(), on the loop thread, and the echo has copied or sent the bytes
 * before read_cb returns, so no per-connection or per-read allocation is
 * needed), then uv_try_write sends straight from it: one write() and no
 * uv_write_t, no heap. What the socket does not take is copied once into a
 * heap block holding its own uv_write_t and queued with uv_write, and reading
 * stops until that write has completed, so a client that does not read
 * cannot make the server buffer more than one read's worth; the write
 * callback frees the block and starts reading again. (uv_write tries the
 * write once more at once and only then waits for POLLOUT: one write() that
 * usually returns EAGAIN per back-pressure episode, which libuv's API leaves
 * no way to skip.) Accepted sockets get TCP_NODELAY.
 *
 * EOF and errors close the connection (uv_close; its close callback frees
 * it; a write still queued is cancelled before that, so its callback can
 * still see the connection). An echo owes nothing after EOF: reading is off
 * while a write is pending, so EOF is only seen once everything read has
 * been written.
 *
 * Descriptors run out gracefully: libuv keeps a spare descriptor per loop,
 * and on EMFILE/ENFILE closes it, accepts and drops every pending connection
 * and reopens it (so level-triggered accept readiness does not spin). Only
 * if that fails does the connection callback see the error; it is logged
 * once and the loop goes on. RLIMIT_NOFILE is raised from soft to hard at
 * start, for the benchmark's 10,000 idle connections. SIGPIPE is ignored
 * (libuv writes with write(), which raises it on a reset socket). SIGINT and
 * SIGTERM arrive through uv_signal_t: every handle is closed (uv_walk), the
 * loop runs out and the process exits 0. Prints a line containing
 * "listening" when ready.
 *
 *   libuv_echo --port P [--host 127.0.0.1]
 *
 * gcc -std=c17 -O2 -DNDEBUG -Wall -Wextra -Wpedantic libuv_echo.c -luv
 * (Debian: libuv1-dev)
 */

/* Strict -std=c17 hides POSIX; uv.h needs pthread_rwlock_t and friends. */
#define _POSIX_C_SOURCE 200809L

#include <uv.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>

#define READ_BUF_SIZE (64 * 1024)

/* A queued remainder: the request and the bytes it writes, one allocation. */
typedef struct {
  uv_write_t req;
  char data[];
} pending_write;

static uv_loop_t loop;
static uv_tcp_t listener;
static uv_signal_t sigint_handle;
static uv_signal_t sigterm_handle;
static int stopping;
static int accept_error_logged;

/* The loop's one receive buffer, see the head comment. */
static _Alignas(64) char read_buf[READ_BUF_SIZE];

static void on_alloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf) {
  (void)handle;
  (void)suggested;
  buf->base = read_buf;
  buf->len = sizeof read_buf;
}

/* A connection is its uv_tcp_t alone: allocated on accept, freed here. */
static void on_conn_closed(uv_handle_t* handle) { free(handle); }

static void close_conn(uv_stream_t* stream) {
  if (!uv_is_closing((uv_handle_t*)stream)) uv_close((uv_handle_t*)stream, on_conn_closed);
}

static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);

static void on_write_done(uv_write_t* req, int status) {
  uv_stream_t* stream = req->handle;
  free(req);  /* the pending_write block: req is its first member */
  if (status < 0) {
    close_conn(stream);  /* includes UV_ECANCELED: already closing, nothing to do */
    return;
  }
  /* The remainder is out: the next read may be echoed. */
  if (uv_read_start(stream, on_alloc, on_read) != 0) close_conn(stream);
}

static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  if (nread <= 0) {
    if (nread < 0) close_conn(stream);  /* UV_EOF or an error */
    return;                             /* 0: EAGAIN, nothing read */
  }
  uv_buf_t out = uv_buf_init(buf->base, (unsigned int)nread);
  int sent = uv_try_write(stream, &out, 1);
  if (sent == (int)nread) return;  /* the usual case: all of it in one write() */
  if (sent < 0) {
    if (sent != UV_EAGAIN) {
      close_conn(stream);
      return;
    }
    sent = 0;
  }
  /* The socket is full: copy what is left, queue it and stop reading. */
  const size_t rest = (size_t)nread - (size_t)sent;
  pending_write* w = malloc(sizeof *w + rest);
  if (w == NULL) {
    close_conn(stream);
    return;
  }
  memcpy(w->data, buf->base + sent, rest);
  uv_read_stop(stream);
  out = uv_buf_init(w->data, (unsigned int)rest);
  if (uv_write(&w->req, stream, &out, 1, on_write_done) != 0) {
    free(w);
    close_conn(stream);
  }
}

static void on_connection(uv_stream_t* server, int status) {
  if (status < 0) {
    /* libuv's spare-descriptor trick has failed (or another accept error):
     * the pending connection stays in the backlog. Say so once, go on. */
    if (!accept_error_logged) {
      fprintf(stderr, "libuv_echo: accept failed: %s (logged once)\n", uv_strerror(status));
      accept_error_logged = 1;
    }
    return;
  }
  uv_tcp_t* conn = malloc(sizeof *conn);
  if (conn == NULL) {
    fprintf(stderr, "libuv_echo: out of memory\n");
    exit(1);
  }
  uv_tcp_init(&loop, conn);  /* no socket is created: cannot fail */
  if (uv_accept(server, (uv_stream_t*)conn) != 0) {
    /* libuv has closed the descriptor already; only the handle is left. */
    uv_close((uv_handle_t*)conn, on_conn_closed);
    return;
  }
  uv_tcp_nodelay(conn, 1);
  if (uv_read_start((uv_stream_t*)conn, on_alloc, on_read) != 0) close_conn((uv_stream_t*)conn);
}

static void close_any(uv_handle_t* handle, void* arg) {
  (void)arg;
  if (uv_is_closing(handle)) return;
  const int ours = handle == (uv_handle_t*)&listener || handle == (uv_handle_t*)&sigint_handle ||
                   handle == (uv_handle_t*)&sigterm_handle;
  uv_close(handle, ours ? NULL : on_conn_closed);
}

static void on_signal(uv_signal_t* handle, int signum) {
  (void)handle;
  (void)signum;
  if (stopping) return;
  stopping = 1;
  printf("libuv_echo stopping\n");
  fflush(stdout);
  /* The listener, every connection and the signal handles: once all are
   * closed, uv_run returns. */
  uv_walk(&loop, close_any, NULL);
}

static void usage(void) {
  fprintf(stderr, "usage: libuv_echo --port P [--host A]\n");
  exit(2);
}

int main(int argc, char** argv) {
  const char* host = "127.0.0.1";
  long port = 0;
  for (int i = 1; i < argc; ++i) {
    const char* flag = argv[i];
    if (i + 1 >= argc) usage();
    const char* value = argv[++i];
    if (strcmp(flag, "--port") == 0) {
      char* end = NULL;
      port = strtol(value, &end, 10);
      if (*value == '\0' || *end != '\0' || port < 1 || port > 65535) usage();
    } else if (strcmp(flag, "--host") == 0) {
      host = value;
    } else {
      usage();
    }
  }
  if (port == 0) usage();

  signal(SIGPIPE, SIG_IGN);
  struct rlimit lim;
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;  /* many connections need many descriptors */
    setrlimit(RLIMIT_NOFILE, &lim);
  }

  struct sockaddr_storage addr;
  if (uv_ip4_addr(host, (int)port, (struct sockaddr_in*)&addr) != 0 &&
      uv_ip6_addr(host, (int)port, (struct sockaddr_in6*)&addr) != 0)
    usage();

  int err = uv_loop_init(&loop);
  if (err == 0) err = uv_tcp_init(&loop, &listener);
  /* libuv sets SO_REUSEADDR itself; a bind error may only surface at listen. */
  if (err == 0) err = uv_tcp_bind(&listener, (const struct sockaddr*)&addr, 0);
  if (err == 0) err = uv_listen((uv_stream_t*)&listener, SOMAXCONN, on_connection);
  if (err != 0) {
    fprintf(stderr, "libuv_echo: listen on %s:%ld: %s\n", host, port, uv_strerror(err));
    return 1;
  }
  err = uv_signal_init(&loop, &sigint_handle);
  if (err == 0) err = uv_signal_start(&sigint_handle, on_signal, SIGINT);
  if (err == 0) err = uv_signal_init(&loop, &sigterm_handle);
  if (err == 0) err = uv_signal_start(&sigterm_handle, on_signal, SIGTERM);
  if (err != 0) {
    fprintf(stderr, "libuv_echo: signals: %s\n", uv_strerror(err));
    return 1;
  }

  printf("libuv_echo listening on %s:%ld (libuv %s, one loop, one thread)\n", host, port,
         uv_version_string());
  fflush(stdout);

  uv_run(&loop, UV_RUN_DEFAULT);
  /* Every handle is closed and its close callback has run. */
  if (uv_loop_close(&loop) != 0) {
    fprintf(stderr, "libuv_echo: loop did not close cleanly\n");
    return 1;
  }
  return 0;
}
