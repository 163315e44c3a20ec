// bare_wolfssl_echo — bare_tls_echo on wolfSSL 5.5 (its native API) instead
// of OpenSSL 3, to choose fastnet's TLS library with data: one thread, one
// level-triggered epoll, nonblocking sockets, wolfSSL straight on the socket
// (wolfSSL_set_fd, its own send/recv callbacks), and nothing else.
//
// Per connection: handshake, then read until WOLFSSL_ERROR_WANT_READ and
// write each piece back at once; a write the socket does not take waits in a
// per-connection buffer and only then is EPOLLOUT asked for (reading pauses
// meanwhile). wolfSSL remembers how much of a blocked wolfSSL_write it has
// taken; the retry presents the same bytes again. Settings match
// bare_tls_echo as far as wolfSSL goes: TLS 1.2 and up from
// wolfSSLv23_server_method (a client offering 1.3 gets 1.3), default suites
// and groups. No renegotiation: Debian's build has no
// HAVE_SECURE_RENEGOTIATION, so it cannot be switched on. Session tickets
// with wolfSSL's built-in ticket callback and key (made once per context);
// one TLS 1.3 ticket per handshake (--tickets changes it). No
// release-buffers switch is needed: wolfSSL reads and writes through small
// static buffers in the session and grows them per record, shrinking back
// once a record is done. The peer's close_notify is answered. Prints a line
// containing "listening" when ready, exits on SIGINT/SIGTERM.
//
//   bare_wolfssl_echo --port P --cert FILE --key FILE [--host 127.0.0.1] [--tickets 1]
//
// g++ -std=c++20 -O2 bare_wolfssl_echo.cpp -lwolfssl

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>
// options.h first: it carries the configuration the library was built with.
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace {

struct ctx_free {
  void operator()(WOLFSSL_CTX* c) const { wolfSSL_CTX_free(c); }
};
struct ssl_free {
  void operator()(WOLFSSL* s) const { wolfSSL_free(s); }
};
using ctx_ptr = std::unique_ptr<WOLFSSL_CTX, ctx_free>;
using ssl_ptr = std::unique_ptr<WOLFSSL, ssl_free>;

/// wolfSSL_Init at start, wolfSSL_Cleanup after everything made with it.
struct library {
  library() : ok(wolfSSL_Init() == WOLFSSL_SUCCESS) {}
  ~library() {
    if (ok) wolfSSL_Cleanup();
  }
  library(const library&) = delete;
  library& operator=(const library&) = delete;

  bool ok;
};

struct connection {
  connection(int socket, WOLFSSL* s) : fd(socket), ssl(s) {}
  ~connection() { ::close(fd); }
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  int fd;
  ssl_ptr ssl;
  bool handshaken = false;
  uint32_t events = EPOLLIN;  // what epoll watches for now
  std::vector<char> pending;  // echo bytes wolfSSL_write has not taken yet
};

int epfd = -1;
char buf[16384];  // one TLS record's worth of plaintext, shared by all connections

[[noreturn]] void die(const char* what, int err = 0) {
  char reason[WOLFSSL_MAX_ERROR_SZ] = "";
  if (err != 0) wolfSSL_ERR_error_string_n(static_cast<unsigned long>(err), reason, sizeof reason);
  std::fprintf(stderr, "bare_wolfssl_echo: %s %s\n", what, reason);
  std::exit(1);
}

/// Watches `c` for `events` (EPOLLIN or EPOLLOUT); one epoll_ctl only on change.
bool watch(connection& c, uint32_t events) {
  if (c.events == events) return true;
  epoll_event ev{.events = events, .data = {.ptr = &c}};
  c.events = events;
  return epoll_ctl(epfd, EPOLL_CTL_MOD, c.fd, &ev) == 0;
}

enum class step { more, wait, close };

/// What a wolfSSL call's failure means: wait for the socket (watching what
/// wolfSSL asked for), or close. A close_notify from the peer is answered.
step failed(connection& c, int rc) {
  switch (wolfSSL_get_error(c.ssl.get(), rc)) {
    case WOLFSSL_ERROR_WANT_READ:
      return watch(c, EPOLLIN) ? step::wait : step::close;
    case WOLFSSL_ERROR_WANT_WRITE:
      return watch(c, EPOLLOUT) ? step::wait : step::close;
    case WOLFSSL_ERROR_ZERO_RETURN:
      wolfSSL_shutdown(c.ssl.get());  // one try: nothing more is owed to a leaving peer
      return step::close;
    default:
      wolfSSL_ERR_clear_error();  // keep the (per-thread) error queue from filling
      return step::close;
  }
}

/// Writes data[0, n) or keeps what wolfSSL_write did not take for EPOLLOUT.
step write_all(connection& c, const char* data, size_t n) {
  size_t done = 0;
  while (done < n) {
    const int w = wolfSSL_write(c.ssl.get(), data + done, static_cast<int>(n - done));
    if (w > 0) {
      done += static_cast<size_t>(w);
      continue;
    }
    const step s = failed(c, w);
    // wolfSSL keeps the progress of a blocked write (records already sent or
    // buffered) and resumes it when called again with the same bytes and
    // length, so the rest is kept (pending may be `data`).
    if (s == step::wait) c.pending = std::vector<char>(data + done, data + n);
    return s;
  }
  if (data == c.pending.data()) c.pending = {};  // flushed: give the memory back
  return watch(c, EPOLLIN) ? step::more : step::close;
}

/// Everything a readiness event can move forward, in order.
step service(connection& c) {
  if (!c.handshaken) {
    const int rc = wolfSSL_accept(c.ssl.get());
    if (rc != WOLFSSL_SUCCESS) return failed(c, rc);
    c.handshaken = true;
  }
  if (!c.pending.empty()) {
    const step s = write_all(c, c.pending.data(), c.pending.size());
    if (s != step::more) return s;
  }
  for (;;) {
    const int n = wolfSSL_read(c.ssl.get(), buf, sizeof buf);
    if (n <= 0) return failed(c, n);
    const step s = write_all(c, buf, static_cast<size_t>(n));
    if (s != step::more) return s;
  }
}

void accept_all(int listener, WOLFSSL_CTX* ctx) {
  for (;;) {
    const int fd = accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;  // EAGAIN, or EMFILE and the like: epoll tells us again
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    auto c = std::make_unique<connection>(fd, wolfSSL_new(ctx));
    if (!c->ssl || wolfSSL_set_fd(c->ssl.get(), fd) != WOLFSSL_SUCCESS) continue;  // closes fd
    epoll_event ev{.events = EPOLLIN, .data = {.ptr = c.get()}};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) != 0) continue;
    // The ClientHello usually came with the connection: try it now rather
    // than after another epoll_wait.
    if (service(*c) == step::close) continue;
    c.release();  // owned by the epoll set from here; deleted on close
  }
}

bool parse_uint(std::string_view text, unsigned min, unsigned max, unsigned& out) {
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value < min || value > max) {
    return false;
  }
  out = value;
  return true;
}

[[noreturn]] void usage() {
  std::fprintf(
      stderr,
      "usage: bare_wolfssl_echo --port P --cert FILE --key FILE [--host A] [--tickets N]\n");
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  std::string host = "127.0.0.1";
  std::string cert;
  std::string key;
  unsigned port = 0;
  unsigned tickets = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (i + 1 >= argc) usage();
    const std::string_view value = argv[++i];
    if (flag == "--port") {
      if (!parse_uint(value, 1, 65535, port)) usage();
    } else if (flag == "--tickets") {
      if (!parse_uint(value, 0, 16, tickets)) usage();
    } else if (flag == "--host") {
      host = value;
    } else if (flag == "--cert") {
      cert = value;
    } else if (flag == "--key") {
      key = value;
    } else {
      usage();
    }
  }
  if (port == 0 || cert.empty() || key.empty()) usage();
  // wolfSSL sends with send() and no MSG_NOSIGNAL: a close_notify to a peer
  // that has gone must not kill the server.
  std::signal(SIGPIPE, SIG_IGN);
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;  // many idle connections need many descriptors
    setrlimit(RLIMIT_NOFILE, &lim);
  }

  const library lib;  // outlives the context below
  if (!lib.ok) die("wolfSSL_Init failed");
  ctx_ptr ctx(wolfSSL_CTX_new(wolfSSLv23_server_method()));
  if (!ctx) die("wolfSSL_CTX_new failed");
  if (int rc = wolfSSL_CTX_SetMinVersion(ctx.get(), WOLFSSL_TLSV1_2); rc != WOLFSSL_SUCCESS) {
    die("wolfSSL_CTX_SetMinVersion failed", rc);
  }
  // TLS 1.3 tickets sent after each handshake (wolfSSL's default is one);
  // the ticket key is wolfSSL's default callback's, made once per context.
  wolfSSL_CTX_set_num_tickets(ctx.get(), tickets);
  if (tickets == 0) wolfSSL_CTX_no_ticket_TLSv13(ctx.get());
  if (int rc = wolfSSL_CTX_use_certificate_chain_file(ctx.get(), cert.c_str());
      rc != WOLFSSL_SUCCESS) {
    die("cannot use --cert:", rc);
  }
  if (int rc = wolfSSL_CTX_use_PrivateKey_file(ctx.get(), key.c_str(), WOLFSSL_FILETYPE_PEM);
      rc != WOLFSSL_SUCCESS) {
    die("cannot use --key:", rc);
  }
  if (wolfSSL_CTX_check_private_key(ctx.get()) != WOLFSSL_SUCCESS) {
    die("--key does not match --cert");
  }

  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) usage();
  const int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  const int one = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(listener, SOMAXCONN) != 0) {
    std::perror("bare_wolfssl_echo: bind/listen");
    return 1;
  }
  // Signals arrive as readable data on a descriptor in the same epoll set.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigprocmask(SIG_BLOCK, &stop_signals, nullptr);
  const int sigfd = signalfd(-1, &stop_signals, SFD_NONBLOCK | SFD_CLOEXEC);
  epfd = epoll_create1(EPOLL_CLOEXEC);
  int listener_tag = 0;
  int signal_tag = 0;
  epoll_event lev{.events = EPOLLIN, .data = {.ptr = &listener_tag}};
  epoll_event sev{.events = EPOLLIN, .data = {.ptr = &signal_tag}};
  if (sigfd < 0 || epfd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, listener, &lev) != 0 ||
      epoll_ctl(epfd, EPOLL_CTL_ADD, sigfd, &sev) != 0) {
    std::perror("bare_wolfssl_echo: epoll/signalfd");
    return 1;
  }
  std::printf("bare_wolfssl_echo listening on %s:%u (wolfSSL %s, tickets=%u)\n", host.c_str(), port,
              wolfSSL_lib_version(), tickets);
  std::fflush(stdout);

  epoll_event events[256];
  for (;;) {
    const int n = epoll_wait(epfd, events, 256, -1);
    for (int i = 0; i < n; ++i) {
      void* tag = events[i].data.ptr;
      if (tag == &listener_tag) {
        accept_all(listener, ctx.get());
      } else if (tag == &signal_tag) {
        std::printf("bare_wolfssl_echo stopping\n");
        return 0;  // exiting closes every connection
      } else if (auto* c = static_cast<connection*>(tag); service(*c) == step::close) {
        delete c;  // closing the descriptor also takes it out of the epoll set
      }
    }
  }
}
