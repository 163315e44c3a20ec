// bare_tls_echo — the floor for a TLS echo on OpenSSL 3: one thread, one
// level-triggered epoll, nonblocking sockets, OpenSSL straight on the socket
// (SSL_set_fd), and nothing else. What a library built on the same OpenSSL
// cannot beat by much, so fastnet's TLS is measured against it.
//
// Per connection: handshake, then read until WANT_READ and write each piece
// back at once; a write the socket does not take waits in a per-connection
// buffer and only then is EPOLLOUT asked for (reading pauses meanwhile, so a
// client that does not read cannot make us buffer without bound). Reading
// until WANT_READ matters: with read-ahead, OpenSSL may hold decrypted bytes
// the socket no longer signals. Settings are fastnet's defaults: TLS 1.2 and
// up (a client offering 1.3 gets 1.3), no renegotiation, record buffers
// released while idle, one TLS 1.3 session ticket per handshake (OpenSSL's
// default of two costs ~20 µs per handshake; --tickets changes it). The
// peer's close_notify is answered. Prints a line containing "listening" when
// ready, exits on SIGINT/SIGTERM.
//
//   bare_tls_echo --port P --cert FILE --key FILE [--host 127.0.0.1] [--tickets 1]
//
// g++ -std=c++20 -O2 bare_tls_echo.cpp -lssl -lcrypto

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

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
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
struct ssl_free {
  void operator()(SSL* s) const { SSL_free(s); }
};
using ctx_ptr = std::unique_ptr<SSL_CTX, ctx_free>;
using ssl_ptr = std::unique_ptr<SSL, ssl_free>;

struct connection {
  connection(int socket, SSL* s) : fd(socket), ssl(s) {}
  ~connection() { ::close(fd); }
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  int fd;
  ssl_ptr ssl;
  bool handshaken = false;
  uint32_t events = EPOLLIN;  // what epoll watches for now
  std::vector<char> pending;  // echo bytes SSL_write has not taken yet
};

int epfd = -1;
char buf[16384];  // one TLS record's worth of plaintext, shared by all connections

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "bare_tls_echo: %s\n", what);
  ERR_print_errors_fp(stderr);
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

/// What an SSL call's failure means: wait for the socket (watching what
/// OpenSSL asked for), or close. A close_notify from the peer is answered.
step failed(connection& c, int rc) {
  switch (SSL_get_error(c.ssl.get(), rc)) {
    case SSL_ERROR_WANT_READ:
      return watch(c, EPOLLIN) ? step::wait : step::close;
    case SSL_ERROR_WANT_WRITE:
      return watch(c, EPOLLOUT) ? step::wait : step::close;
    case SSL_ERROR_ZERO_RETURN:
      SSL_shutdown(c.ssl.get());  // one try: nothing more is owed to a leaving peer
      return step::close;
    default:
      ERR_clear_error();  // the queue must be empty before the next connection's calls
      return step::close;
  }
}

/// Writes data[0, n) or keeps what SSL_write did not take for EPOLLOUT.
step write_all(connection& c, const char* data, size_t n) {
  size_t done = 0;
  while (done < n) {
    const int w = SSL_write(c.ssl.get(), data + done, static_cast<int>(n - done));
    if (w > 0) {
      done += static_cast<size_t>(w);
      continue;
    }
    const step s = failed(c, w);
    // A retried SSL_write must present the same bytes; the moving-buffer mode
    // lets them live elsewhere, so the rest is kept (pending may be `data`).
    if (s == step::wait) c.pending = std::vector<char>(data + done, data + n);
    return s;
  }
  if (data == c.pending.data()) c.pending = {};  // flushed: give the memory back
  return watch(c, EPOLLIN) ? step::more : step::close;
}

/// Everything a readiness event can move forward, in order.
step service(connection& c) {
  if (!c.handshaken) {
    const int rc = SSL_do_handshake(c.ssl.get());
    if (rc != 1) return failed(c, rc);
    c.handshaken = true;
  }
  if (!c.pending.empty()) {
    const step s = write_all(c, c.pending.data(), c.pending.size());
    if (s != step::more) return s;
  }
  for (;;) {
    const int n = SSL_read(c.ssl.get(), buf, sizeof buf);
    if (n <= 0) return failed(c, n);
    const step s = write_all(c, buf, static_cast<size_t>(n));
    if (s != step::more) return s;
  }
}

void accept_all(int listener, SSL_CTX* ctx) {
  for (;;) {
    const int fd = accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;  // EAGAIN, or EMFILE and the like: epoll tells us again
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    auto c = std::make_unique<connection>(fd, SSL_new(ctx));
    if (!c->ssl || SSL_set_fd(c->ssl.get(), fd) != 1) continue;  // ~connection closes fd
    SSL_set_accept_state(c->ssl.get());
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
  std::fprintf(stderr,
               "usage: bare_tls_echo --port P --cert FILE --key FILE [--host A] [--tickets N]\n");
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
  // OpenSSL writes to the socket with write(), not send(MSG_NOSIGNAL): a
  // close_notify to a peer that has gone must not kill the server.
  std::signal(SIGPIPE, SIG_IGN);
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;  // many idle connections need many descriptors
    setrlimit(RLIMIT_NOFILE, &lim);
  }

  ctx_ptr ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx) die("SSL_CTX_new failed");
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                                  SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_read_ahead(ctx.get(), 1);  // whole socket reads: fewer recv calls
  SSL_CTX_set_num_tickets(ctx.get(), tickets);
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), cert.c_str()) != 1 ||
      SSL_CTX_use_PrivateKey_file(ctx.get(), key.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(ctx.get()) != 1) {
    die("cannot use --cert/--key");
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
    std::perror("bare_tls_echo: bind/listen");
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
    std::perror("bare_tls_echo: epoll/signalfd");
    return 1;
  }
  std::printf("bare_tls_echo listening on %s:%u (%s, tickets=%u)\n", host.c_str(), port,
              OpenSSL_version(OPENSSL_VERSION), tickets);
  std::fflush(stdout);

  epoll_event events[256];
  for (;;) {
    const int n = epoll_wait(epfd, events, 256, -1);
    for (int i = 0; i < n; ++i) {
      void* tag = events[i].data.ptr;
      if (tag == &listener_tag) {
        accept_all(listener, ctx.get());
      } else if (tag == &signal_tag) {
        std::printf("bare_tls_echo stopping\n");
        return 0;  // exiting closes every connection
      } else if (auto* c = static_cast<connection*>(tag); service(*c) == step::close) {
        delete c;  // closing the descriptor also takes it out of the epoll set
      }
    }
  }
}
