// bare_epoll_echo — the epoll floor for a plain TCP echo: one thread, one
// edge-triggered epoll, nonblocking sockets, no framework. A reference row for
// the benchmark matrix: what any epoll event loop pays at least per message.
//
// Edge-triggered, the way tokio and the fastest epoll loops do it: each
// socket is registered once for EPOLLIN | EPOLLOUT | EPOLLET and never
// touched again, so there is no epoll_ctl per message or per back-pressure
// episode, and epoll_wait does not re-poll every socket it reported (level-
// triggered epoll puts each reported socket back on the ready list and polls
// it again in the next epoll_wait). A read shorter than the buffer means the
// socket was drained, so the usual extra recv that only returns EAGAIN is
// skipped: data arriving later raises a new edge (but not a FIN that came
// with the data, hence EPOLLRDHUP: once the peer has shut down its side,
// reading goes on until EOF).
//
// Per message: one recv into the loop's one 64 KiB buffer and one send
// straight from it. What the socket does not take goes into a per-connection
// pending buffer (allocated only then, freed when flushed) and reading pauses
// until the EPOLLOUT edge has flushed it, so a client that does not read
// cannot make the server buffer more than one read's worth. Descriptors run
// out gracefully: a spare descriptor is given up to accept and drop the
// connection (else level-triggered accept readiness would spin). Prints a
// line containing "listening" when ready, exits on SIGINT/SIGTERM.
//
//   bare_epoll_echo --port P [--host 127.0.0.1]
//
// g++ -std=c++20 -O2 bare_epoll_echo.cpp

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

// Per descriptor, indexed by fd: what send() did not take. Empty and
// unallocated while the connection keeps up, which is nearly always.
struct conn {
  std::string pending;
  size_t sent = 0;  // bytes of pending already sent
};

std::vector<conn> conns;
int epfd = -1;
int spare_fd = -1;                  // given up to shed a connection on EMFILE
alignas(64) char buf[64 * 1024];    // the loop's one receive buffer

void close_conn(int fd) {
  conns[fd] = conn{};  // releases any pending bytes
  ::close(fd);         // also leaves the epoll set
}

/// Sends what is pending. False: the connection failed.
/// Sets `blocked` when the socket could not take all of it.
bool flush(int fd, conn& c, bool& blocked) {
  while (c.sent < c.pending.size()) {
    const ssize_t w = ::send(fd, c.pending.data() + c.sent, c.pending.size() - c.sent, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EAGAIN) return blocked = true;
      if (errno == EINTR) continue;
      return false;
    }
    c.sent += static_cast<size_t>(w);
  }
  c.pending = std::string{};  // flushed: give the memory back
  c.sent = 0;
  blocked = false;
  return true;
}

/// Everything an edge can move forward: flush, then read and echo until the
/// socket is drained or the peer stops reading. False: close it.
bool service(int fd, bool peer_closed) {
  conn& c = conns[fd];
  if (!c.pending.empty()) {
    bool blocked = false;
    if (!flush(fd, c, blocked)) return false;
    if (blocked) return true;  // the next EPOLLOUT edge resumes here
  }
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n == 0) return false;  // peer closed (an echo owes nothing after EOF is flushed)
    if (n < 0) return errno == EAGAIN || errno == EINTR ? true : false;
    ssize_t done = 0;
    while (done < n) {
      const ssize_t w = ::send(fd, buf + done, static_cast<size_t>(n - done), MSG_NOSIGNAL);
      if (w < 0) {
        if (errno == EINTR) continue;
        if (errno != EAGAIN) return false;
        // The socket is full: keep the rest, stop reading until EPOLLOUT.
        c.pending.assign(buf + done, static_cast<size_t>(n - done));
        return true;
      }
      done += w;
    }
    // A short read drained the socket: new data raises a new edge. Not so
    // the FIN, if it came with this data: after EPOLLRDHUP read on to EOF.
    if (static_cast<size_t>(n) < sizeof buf && !peer_closed) return true;
  }
}

void accept_all(int listener) {
  for (;;) {
    const int fd = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if ((errno == EMFILE || errno == ENFILE) && spare_fd >= 0) {
        // Out of descriptors: accept with the spare one and drop the
        // connection, so the listener does not stay readable forever.
        ::close(spare_fd);
        const int shed = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
        if (shed >= 0) ::close(shed);
        spare_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        continue;
      }
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;  // EAGAIN: the backlog is empty
    }
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (static_cast<size_t>(fd) >= conns.size()) conns.resize(static_cast<size_t>(fd) * 2 + 64);
    epoll_event ev{.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data = {.fd = fd}};
    if (::epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) != 0) ::close(fd);
    // The first bytes are read when the edge for them is reported: a recv
    // here would usually find nothing yet.
  }
}

[[noreturn]] void usage() {
  std::fprintf(stderr, "usage: bare_epoll_echo --port P [--host A]\n");
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  std::string host = "127.0.0.1";
  long port = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (i + 1 >= argc) usage();
    const char* value = argv[++i];
    if (flag == "--port") {
      char* end = nullptr;
      port = std::strtol(value, &end, 10);
      if (*end != '\0' || port < 1 || port > 65535) usage();
    } else if (flag == "--host") {
      host = value;
    } else {
      usage();
    }
  }
  if (port == 0) usage();
  std::signal(SIGPIPE, SIG_IGN);
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;  // many connections need many descriptors
    setrlimit(RLIMIT_NOFILE, &lim);
  }
  conns.resize(1024);
  spare_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);

  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) usage();
  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  const int one = 1;
  ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listener, SOMAXCONN) != 0) {
    std::perror("bare_epoll_echo: bind/listen");
    return 1;
  }
  // Signals arrive as readable data on a descriptor in the same epoll set.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigprocmask(SIG_BLOCK, &stop_signals, nullptr);
  const int sigfd = ::signalfd(-1, &stop_signals, SFD_NONBLOCK | SFD_CLOEXEC);
  epfd = ::epoll_create1(EPOLL_CLOEXEC);
  // The listener is level-triggered: accept_all drains it anyway, and a
  // backlog left after EMFILE is reported again.
  epoll_event lev{.events = EPOLLIN, .data = {.fd = listener}};
  epoll_event sev{.events = EPOLLIN, .data = {.fd = sigfd}};
  if (sigfd < 0 || epfd < 0 || ::epoll_ctl(epfd, EPOLL_CTL_ADD, listener, &lev) != 0 ||
      ::epoll_ctl(epfd, EPOLL_CTL_ADD, sigfd, &sev) != 0) {
    std::perror("bare_epoll_echo: epoll/signalfd");
    return 1;
  }
  std::printf("bare_epoll_echo listening on %s:%ld (edge-triggered epoll, one thread)\n",
              host.c_str(), port);
  std::fflush(stdout);

  epoll_event events[512];
  for (;;) {
    const int n = ::epoll_wait(epfd, events, 512, -1);
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == listener) {
        accept_all(listener);
      } else if (fd == sigfd) {
        std::printf("bare_epoll_echo stopping\n");
        return 0;  // exiting closes every connection
      } else if (const uint32_t ev = events[i].events; ev & EPOLLERR) {
        close_conn(fd);
      } else if (!(ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) && conns[fd].pending.empty()) {
        // EPOLLOUT alone with nothing to flush: nothing to do, no recv to waste.
      } else if (!service(fd, ev & (EPOLLRDHUP | EPOLLHUP))) {
        close_conn(fd);
      }
    }
  }
}
