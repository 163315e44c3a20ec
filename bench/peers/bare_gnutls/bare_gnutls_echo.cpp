// bare_gnutls_echo — bare_tls_echo on GnuTLS 3.7 instead of OpenSSL 3, to
// choose fastnet's TLS library with data: one thread, one level-triggered
// epoll, nonblocking sockets, GnuTLS straight on the socket
// (gnutls_transport_set_int, GNUTLS_NONBLOCK), and nothing else.
//
// Per connection: handshake, then read until GNUTLS_E_AGAIN and write each
// piece back at once; a write the socket does not take waits in a
// per-connection buffer and only then is EPOLLOUT asked for (reading pauses
// meanwhile). GnuTLS has encrypted and kept the record that met EAGAIN; the
// retry presents the same bytes again and only flushes it. Settings match
// bare_tls_echo as far as GnuTLS goes: priority string
// "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2" (GnuTLS's default suites,
// groups and signatures, the server following the client's order as OpenSSL
// does, only TLS 1.2 and 1.3, 1.3 first). No renegotiation: a client's
// attempt gets a no_renegotiation warning. Session tickets with one key made
// at start; GnuTLS sends two TLS 1.3 tickets by itself, so automatic sending
// is off and --tickets N (default 1) are sent after the handshake. GnuTLS has
// no release-buffers switch: it allocates record buffers per record and
// frees them once consumed. The peer's close_notify is answered. Prints a
// line containing "listening" when ready, exits on SIGINT/SIGTERM.
//
//   bare_gnutls_echo --port P --cert FILE --key FILE [--host 127.0.0.1] [--tickets 1]
//
// g++ -std=c++20 -O2 bare_gnutls_echo.cpp -lgnutls

#include <arpa/inet.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
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
#include <type_traits>
#include <vector>

namespace {

struct cred_free {
  void operator()(gnutls_certificate_credentials_t c) const {
    gnutls_certificate_free_credentials(c);
  }
};
struct priority_free {
  void operator()(gnutls_priority_t p) const { gnutls_priority_deinit(p); }
};
struct session_free {
  void operator()(gnutls_session_t s) const { gnutls_deinit(s); }
};
using cred_ptr =
    std::unique_ptr<std::remove_pointer_t<gnutls_certificate_credentials_t>, cred_free>;
using priority_ptr = std::unique_ptr<std::remove_pointer_t<gnutls_priority_t>, priority_free>;
using session_ptr = std::unique_ptr<std::remove_pointer_t<gnutls_session_t>, session_free>;

/// The session ticket key, made once; wiped and freed at exit.
struct ticket_key {
  ticket_key() = default;
  ~ticket_key() {
    if (datum.data == nullptr) return;
    gnutls_memset(datum.data, 0, datum.size);
    gnutls_free(datum.data);
  }
  ticket_key(const ticket_key&) = delete;
  ticket_key& operator=(const ticket_key&) = delete;

  gnutls_datum_t datum{};
};

struct connection {
  connection(int socket, gnutls_session_t s) : fd(socket), session(s) {}
  ~connection() { ::close(fd); }
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  int fd;
  session_ptr session;
  bool handshaken = false;
  bool tickets_owed = false;  // TLS 1.3 tickets not sent yet
  uint32_t events = EPOLLIN;  // what epoll watches for now
  std::vector<char> pending;  // echo bytes gnutls_record_send has not finished
};

int epfd = -1;
unsigned tickets = 1;
char buf[16384];  // one TLS record's worth of plaintext, shared by all connections

[[noreturn]] void die(const char* what, int rc) {
  std::fprintf(stderr, "bare_gnutls_echo: %s: %s\n", what, gnutls_strerror(rc));
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

/// What a negative GnuTLS return means: wait for the socket (watching the
/// direction GnuTLS was interrupted in), retry at once, or close.
step failed(connection& c, int rc) {
  if (rc == GNUTLS_E_AGAIN) {
    const bool writing = gnutls_record_get_direction(c.session.get()) == 1;
    return watch(c, writing ? EPOLLOUT : EPOLLIN) ? step::wait : step::close;
  }
  if (rc == GNUTLS_E_REHANDSHAKE) {
    // A TLS 1.2 client asks to renegotiate: refuse, as
    // SSL_OP_NO_RENEGOTIATION does. An alert that cannot go out at once ends
    // the connection rather than mixing with a pending record.
    const int a = gnutls_alert_send(c.session.get(), GNUTLS_AL_WARNING, GNUTLS_A_NO_RENEGOTIATION);
    return a == 0 ? step::more : step::close;
  }
  // GNUTLS_E_INTERRUPTED, a warning alert and the like: call again.
  if (gnutls_error_is_fatal(rc) == 0) return step::more;
  // OpenSSL sends the alert for a fatal error by itself, GnuTLS leaves it to
  // the caller (one try). Not to a peer that has gone, nor for an alert the
  // peer sent (GnuTLS sends none for that).
  if (rc != GNUTLS_E_PREMATURE_TERMINATION && rc != GNUTLS_E_PUSH_ERROR &&
      rc != GNUTLS_E_PULL_ERROR) {
    gnutls_alert_send_appropriate(c.session.get(), rc);
  }
  return step::close;
}

/// Writes data[0, n) or keeps what gnutls_record_send did not finish for EPOLLOUT.
step write_all(connection& c, const char* data, size_t n) {
  size_t done = 0;
  while (done < n) {
    const ssize_t w = gnutls_record_send(c.session.get(), data + done, n - done);
    if (w > 0) {
      done += static_cast<size_t>(w);
      continue;
    }
    const step s = failed(c, static_cast<int>(w));
    if (s == step::more) continue;
    // On GNUTLS_E_AGAIN the record is encrypted and buffered inside GnuTLS;
    // the retry must present the same bytes (it then flushes and returns
    // their count), so the rest is kept (pending may be `data`).
    if (s == step::wait) c.pending = std::vector<char>(data + done, data + n);
    return s;
  }
  if (data == c.pending.data()) c.pending = {};  // flushed: give the memory back
  return watch(c, EPOLLIN) ? step::more : step::close;
}

/// Everything a readiness event can move forward, in order.
step service(connection& c) {
  gnutls_session_t s = c.session.get();
  while (!c.handshaken) {
    const int rc = gnutls_handshake(s);
    if (rc == 0) {
      c.handshaken = true;
      c.tickets_owed = tickets > 0 && gnutls_protocol_get_version(s) == GNUTLS_TLS1_3;
      break;
    }
    if (const step st = failed(c, rc); st != step::more) return st;
  }
  while (c.tickets_owed) {
    const int rc = gnutls_session_ticket_send(s, tickets, 0);
    if (rc == 0) {
      c.tickets_owed = false;
      break;
    }
    if (const step st = failed(c, rc); st != step::more) return st;
  }
  if (!c.pending.empty()) {
    const step st = write_all(c, c.pending.data(), c.pending.size());
    if (st != step::more) return st;
  }
  for (;;) {
    const ssize_t n = gnutls_record_recv(s, buf, sizeof buf);
    if (n > 0) {
      const step st = write_all(c, buf, static_cast<size_t>(n));
      if (st != step::more) return st;
      continue;
    }
    if (n == 0) {                     // the peer's close_notify
      gnutls_bye(s, GNUTLS_SHUT_WR);  // one try: nothing more is owed to a leaving peer
      return step::close;
    }
    if (const step st = failed(c, static_cast<int>(n)); st != step::more) return st;
  }
}

void accept_all(int listener, gnutls_certificate_credentials_t cred, gnutls_priority_t priority,
                const gnutls_datum_t& key) {
  for (;;) {
    const int fd = accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;  // EAGAIN, or EMFILE and the like: epoll tells us again
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    gnutls_session_t raw = nullptr;
    // GNUTLS_NO_SIGNAL: send with MSG_NOSIGNAL.
    const int rc = gnutls_init(
        &raw, GNUTLS_SERVER | GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL | GNUTLS_NO_AUTO_SEND_TICKET);
    auto c = std::make_unique<connection>(fd, raw);
    if (rc != GNUTLS_E_SUCCESS || gnutls_priority_set(raw, priority) != GNUTLS_E_SUCCESS ||
        gnutls_credentials_set(raw, GNUTLS_CRD_CERTIFICATE, cred) != GNUTLS_E_SUCCESS ||
        gnutls_session_ticket_enable_server(raw, &key) != GNUTLS_E_SUCCESS) {
      continue;  // ~connection closes fd
    }
    gnutls_transport_set_int(raw, fd);
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
      stderr, "usage: bare_gnutls_echo --port P --cert FILE --key FILE [--host A] [--tickets N]\n");
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  std::string host = "127.0.0.1";
  std::string cert;
  std::string key;
  unsigned port = 0;
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
  std::signal(SIGPIPE, SIG_IGN);  // belt and braces: GNUTLS_NO_SIGNAL covers sends
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;  // many idle connections need many descriptors
    setrlimit(RLIMIT_NOFILE, &lim);
  }

  gnutls_certificate_credentials_t raw_cred = nullptr;
  int rc = gnutls_certificate_allocate_credentials(&raw_cred);
  if (rc != GNUTLS_E_SUCCESS) die("gnutls_certificate_allocate_credentials", rc);
  const cred_ptr cred(raw_cred);
  // The file may hold the chain after the leaf; GnuTLS sends it all.
  rc = gnutls_certificate_set_x509_key_file2(cred.get(), cert.c_str(), key.c_str(),
                                             GNUTLS_X509_FMT_PEM, nullptr, 0);
  if (rc < 0) die("cannot use --cert/--key", rc);

  gnutls_priority_t raw_priority = nullptr;
  const char* bad = nullptr;
  rc = gnutls_priority_init(&raw_priority, "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2", &bad);
  if (rc != GNUTLS_E_SUCCESS) die("gnutls_priority_init", rc);
  const priority_ptr priority(raw_priority);

  ticket_key ticket;
  rc = gnutls_session_ticket_key_generate(&ticket.datum);
  if (rc != GNUTLS_E_SUCCESS) die("gnutls_session_ticket_key_generate", rc);

  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) usage();
  const int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  const int one = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(listener, SOMAXCONN) != 0) {
    std::perror("bare_gnutls_echo: bind/listen");
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
    std::perror("bare_gnutls_echo: epoll/signalfd");
    return 1;
  }
  std::printf("bare_gnutls_echo listening on %s:%u (GnuTLS %s, tickets=%u)\n", host.c_str(), port,
              gnutls_check_version(nullptr), tickets);
  std::fflush(stdout);

  epoll_event events[256];
  for (;;) {
    const int n = epoll_wait(epfd, events, 256, -1);
    for (int i = 0; i < n; ++i) {
      void* tag = events[i].data.ptr;
      if (tag == &listener_tag) {
        accept_all(listener, cred.get(), priority.get(), ticket.datum);
      } else if (tag == &signal_tag) {
        std::printf("bare_gnutls_echo stopping\n");
        // Connections still open are not deleted (like bare_tls_echo); the
        // credentials, priority cache and ticket key are released by RAII.
        return 0;
      } else if (auto* c = static_cast<connection*>(tag); service(*c) == step::close) {
        delete c;  // closing the descriptor also takes it out of the epoll set
      }
    }
  }
}
