// bare_uring_echo — the io_uring floor for a plain TCP echo: one thread, one
// ring, no framework. A reference row for the benchmark matrix: how little
// kernel work per message io_uring allows, which the fastnet io_uring backend
// is measured against (issue 15).
//
// Ring: IORING_SETUP_SINGLE_ISSUER | DEFER_TASKRUN (completions run only when
// the loop waits, in one batch), else COOP_TASKRUN | TASKRUN_FLAG, else
// plain; the ring fd is registered, so io_uring_enter skips the fd lookup.
// One multishot accept; per connection one multishot recv that picks buffers
// from the loop's provided buffer ring, so an idle connection holds no
// receive buffer. Every loop iteration handles all completions, then submits
// all new requests and waits in one io_uring_submit_and_wait.
//
// Echo without copying: received data is sent straight from its provided
// buffer, which returns to the ring when the send has completed. One send per
// connection is in flight at a time (two sends on one socket may complete
// out of order); what arrives meanwhile is copied into a per-connection
// pending buffer and sent as one piece next, so a fast stream coalesces into
// few large sends. A short send is resubmitted for the rest. Past 1 MiB
// pending (a peer that does not read) the recv is cancelled and re-armed
// once the backlog has gone out. A multishot recv ending without
// IORING_CQE_F_MORE is re-armed; after -ENOBUFS (buffer ring exhausted) only
// once buffers have come back, else it would fail again at once. EOF or an
// error closes the connection after its last send has completed (the close
// goes through the ring too). On EMFILE a spare descriptor is given up to
// accept and drop the connection.
//
//   bare_uring_echo --port P [--host 127.0.0.1] [--buffers N] [--buffer-size B]
//
// g++ -std=c++20 -O2 bare_uring_echo.cpp -luring    (liburing 2.3 or later)

#include <arpa/inet.h>
#include <fcntl.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/mman.h>
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

enum op : uint64_t { op_accept = 1, op_recv, op_send, op_signal, op_ignore };
constexpr uint16_t group = 0;                // the provided buffer ring's id
constexpr size_t pause_at = 1 << 20;         // pending bytes that pause reading

struct conn {
  uint32_t gen = 0;        // 24 bits; tells this connection's completions from a former one's
  bool open = false, recv_armed = false, sending = false, done = false, paused = false;
  int send_bid = -1;       // provided buffer being sent, or -1: sending `out`
  uint32_t send_off = 0, send_len = 0;
  std::vector<char> out;      // bytes of the send in flight when send_bid < 0
  std::vector<char> pending;  // bytes received while a send was in flight
};

io_uring ring;
io_uring_buf_ring* br = nullptr;
char* pool = nullptr;
unsigned nbufs = 4096, buf_size = 4096, recycled = 0;
std::vector<conn> conns;  // indexed by descriptor
std::vector<uint64_t> starved;  // recvs ended by -ENOBUFS: re-armed once buffers come back
int listener = -1, spare_fd = -1;

uint64_t tag(op o, int fd, uint32_t gen) {
  return o << 56 | uint64_t(gen & 0xffffff) << 32 | uint32_t(fd);
}

io_uring_sqe* sqe_for(uint64_t user_data) {
  io_uring_sqe* s = io_uring_get_sqe(&ring);
  while (!s) {  // the submission queue is full: hand it over and retry
    io_uring_submit(&ring);
    s = io_uring_get_sqe(&ring);
  }
  io_uring_sqe_set_data64(s, user_data);
  return s;
}

void recycle(int bid) {  // made visible to the kernel once per loop iteration
  io_uring_buf_ring_add(br, pool + size_t(bid) * buf_size, buf_size, uint16_t(bid),
                        io_uring_buf_ring_mask(nbufs), int(recycled++));
}

void arm_accept() { io_uring_prep_multishot_accept(sqe_for(tag(op_accept, 0, 0)), listener, nullptr, nullptr, 0); }

void arm_recv(int fd, conn& c) {
  io_uring_sqe* s = sqe_for(tag(op_recv, fd, c.gen));
  io_uring_prep_recv_multishot(s, fd, nullptr, 0, 0);
  s->flags |= IOSQE_BUFFER_SELECT;
  s->buf_group = group;
  c.recv_armed = true;
}

void cancel_recv(int fd, conn& c) {  // ends with the recv's last CQE, -ECANCELED
  io_uring_prep_cancel64(sqe_for(tag(op_ignore, fd, 0)), tag(op_recv, fd, c.gen), 0);
}

void submit_send(int fd, conn& c) {
  const char* base = c.send_bid >= 0 ? pool + size_t(c.send_bid) * buf_size : c.out.data();
  io_uring_prep_send(sqe_for(tag(op_send, fd, c.gen)), fd, base + c.send_off,
                     c.send_len - c.send_off, MSG_NOSIGNAL);
}

void maybe_close(int fd, conn& c) {
  if (!c.done || c.recv_armed || c.sending) return;
  io_uring_prep_close(sqe_for(tag(op_ignore, fd, 0)), fd);
  const uint32_t gen = c.gen;
  c = conn{};
  c.gen = (gen + 1) & 0xffffff;
}

/// Starts sending whatever is pending, or goes idle (and resumes reading).
void next_send(int fd, conn& c) {
  if (c.send_bid >= 0) recycle(c.send_bid);
  c.send_bid = -1;
  if (!c.pending.empty()) {  // after EOF too: the peer may wait for its echo
    c.out.swap(c.pending);
    c.pending.clear();
    c.send_off = 0;
    c.send_len = uint32_t(c.out.size());
    submit_send(fd, c);
  } else {
    c.sending = false;
    if (c.out.capacity() > 65536) std::vector<char>().swap(c.out);  // idle: give it back
    if (c.pending.capacity() > 65536) std::vector<char>().swap(c.pending);
  }
  if (c.paused && c.pending.size() < pause_at) {
    c.paused = false;
    if (!c.recv_armed && !c.done) arm_recv(fd, c);
  }
}

void on_recv(int fd, conn& c, const io_uring_cqe* cqe) {
  if (!(cqe->flags & IORING_CQE_F_MORE)) c.recv_armed = false;
  const int bid = (cqe->flags & IORING_CQE_F_BUFFER) ? int(cqe->flags >> IORING_CQE_BUFFER_SHIFT) : -1;
  if (cqe->res > 0 && bid >= 0 && !c.done) {
    if (!c.sending) {  // the common case: echo straight from the buffer
      c.sending = true;
      c.send_bid = bid;
      c.send_off = 0;
      c.send_len = uint32_t(cqe->res);
      submit_send(fd, c);
    } else {
      const char* data = pool + size_t(bid) * buf_size;
      c.pending.insert(c.pending.end(), data, data + cqe->res);
      recycle(bid);
      if (c.pending.size() >= pause_at && !c.paused) {
        c.paused = true;
        if (c.recv_armed) cancel_recv(fd, c);
      }
    }
  } else {
    if (bid >= 0) recycle(bid);
    // 0: the peer closed; -ENOBUFS: ring exhausted, re-arm below;
    // -ECANCELED: paused (or closing); anything else: a failed connection.
    if (cqe->res == -ENOBUFS && !c.recv_armed && !c.done && !c.paused) {
      starved.push_back(tag(op_recv, fd, c.gen));  // re-armed now would fail again
      return;
    }
    if (cqe->res == 0 || (cqe->res < 0 && cqe->res != -ENOBUFS && cqe->res != -ECANCELED)) {
      c.done = true;
    }
  }
  if (!c.recv_armed && !c.done && !c.paused) arm_recv(fd, c);
  maybe_close(fd, c);
}

void on_send(int fd, conn& c, int res) {
  if (res < 0) {  // EPIPE, ECONNRESET...: drop the rest, stop reading, close
    c.done = true;
    c.pending.clear();
    if (c.recv_armed) cancel_recv(fd, c);
    if (c.send_bid >= 0) recycle(c.send_bid);
    c.send_bid = -1;
    c.sending = false;
  } else if ((c.send_off += uint32_t(res)) < c.send_len) {
    submit_send(fd, c);  // short send: the rest, from where it stopped
    return;
  } else {
    next_send(fd, c);
  }
  maybe_close(fd, c);
}

void on_accept(const io_uring_cqe* cqe) {
  if (cqe->res >= 0) {
    const int fd = cqe->res;
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (size_t(fd) >= conns.size()) conns.resize(size_t(fd) * 2 + 64);
    conns[fd].open = true;
    arm_recv(fd, conns[fd]);
  } else if ((cqe->res == -EMFILE || cqe->res == -ENFILE) && spare_fd >= 0) {
    close(spare_fd);  // out of descriptors: accept and drop one connection
    const int shed = accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (shed >= 0) close(shed);
    spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  }
  if (!(cqe->flags & IORING_CQE_F_MORE)) arm_accept();
}

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: bare_uring_echo --port P [--host A] [--buffers N (power of 2, default 4096)]"
               " [--buffer-size B (default 4096)]\n");
  std::exit(2);
}

long number(const char* text, long min, long max) {
  char* end = nullptr;
  const long v = std::strtol(text, &end, 10);
  if (*end != '\0' || v < min || v > max) usage();
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  std::string host = "127.0.0.1";
  long port = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (i + 1 >= argc) usage();
    const char* value = argv[++i];
    if (flag == "--port") port = number(value, 1, 65535);
    else if (flag == "--host") host = value;
    else if (flag == "--buffers") nbufs = unsigned(number(value, 1, 32768));
    else if (flag == "--buffer-size") buf_size = unsigned(number(value, 64, 1 << 20));
    else usage();
  }
  if (port == 0 || (nbufs & (nbufs - 1)) != 0) usage();
  std::signal(SIGPIPE, SIG_IGN);
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;  // many connections need many descriptors
    setrlimit(RLIMIT_NOFILE, &lim);
  }
  conns.resize(1024);
  spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

  // The best setup this kernel takes. A large completion queue: every
  // connection can complete a recv and a send in one iteration.
  const struct { unsigned flags; const char* name; } setups[] = {
      {IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN, "SINGLE_ISSUER|DEFER_TASKRUN"},
      {IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG, "COOP_TASKRUN|TASKRUN_FLAG"},
      {0, "no setup flags"}};
  const char* mode = nullptr;
  int rc = -EINVAL;
  for (const auto& s : setups) {
    io_uring_params p{};
    p.flags = s.flags | IORING_SETUP_CQSIZE;
    p.cq_entries = 16384;
    if ((rc = io_uring_queue_init_params(4096, &ring, &p)) == 0) {
      mode = s.name;
      break;
    }
  }
  if (!mode) {
    std::fprintf(stderr, "bare_uring_echo: io_uring_setup failed: %s\n", std::strerror(-rc));
    return 1;
  }
  const bool ring_fd_registered = io_uring_register_ring_fd(&ring) == 1;

  // The provided buffer ring (liburing 2.3 has no io_uring_setup_buf_ring:
  // map it ourselves and register it). The buffers are touched now, so the
  // pool counts as fixed memory and not as per-connection memory later.
  const size_t ring_bytes = nbufs * sizeof(io_uring_buf);
  br = static_cast<io_uring_buf_ring*>(mmap(nullptr, ring_bytes, PROT_READ | PROT_WRITE,
                                            MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  pool = static_cast<char*>(mmap(nullptr, size_t(nbufs) * buf_size, PROT_READ | PROT_WRITE,
                                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0));
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(br);
  reg.ring_entries = nbufs;
  reg.bgid = group;
  if (br == MAP_FAILED || pool == MAP_FAILED || (rc = io_uring_register_buf_ring(&ring, &reg, 0)) != 0) {
    std::fprintf(stderr, "bare_uring_echo: provided buffer ring: %s\n", std::strerror(rc < 0 ? -rc : ENOMEM));
    return 1;
  }
  io_uring_buf_ring_init(br);
  for (unsigned i = 0; i < nbufs; ++i) recycle(int(i));

  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(uint16_t(port));
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) usage();
  listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  const int one = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(listener, SOMAXCONN) != 0) {
    std::perror("bare_uring_echo: bind/listen");
    return 1;
  }
  // Signals arrive as a read completing on a signalfd.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigprocmask(SIG_BLOCK, &stop_signals, nullptr);
  const int sigfd = signalfd(-1, &stop_signals, SFD_CLOEXEC);
  static signalfd_siginfo siginfo;
  io_uring_prep_read(sqe_for(tag(op_signal, 0, 0)), sigfd, &siginfo, sizeof siginfo, 0);
  arm_accept();
  std::printf("bare_uring_echo listening on %s:%ld (io_uring %s, ring fd %sregistered, "
              "%u x %u B provided buffers)\n",
              host.c_str(), port, mode, ring_fd_registered ? "" : "not ", nbufs, buf_size);
  std::fflush(stdout);

  for (;;) {
    if (recycled > 0 && !starved.empty()) {
      for (const uint64_t ud : starved) {
        const int fd = int(uint32_t(ud));
        conn& c = conns[fd];
        if (c.open && c.gen == ((ud >> 32) & 0xffffff) && !c.recv_armed && !c.done && !c.paused) {
          arm_recv(fd, c);
        }
      }
      starved.clear();
    }
    io_uring_buf_ring_advance(br, recycled);  // every buffer returned this iteration at once
    recycled = 0;
    rc = io_uring_submit_and_wait(&ring, 1);
    if (rc < 0 && rc != -EINTR && rc != -EBUSY) {
      std::fprintf(stderr, "bare_uring_echo: io_uring_submit_and_wait: %s\n", std::strerror(-rc));
      return 1;
    }
    unsigned head, seen = 0;
    io_uring_cqe* cqe;
    io_uring_for_each_cqe(&ring, head, cqe) {
      ++seen;
      const uint64_t ud = cqe->user_data;
      const int fd = int(uint32_t(ud));
      switch (op(ud >> 56)) {
        case op_accept: on_accept(cqe); break;
        case op_recv:
          if (conns[fd].open && conns[fd].gen == ((ud >> 32) & 0xffffff)) on_recv(fd, conns[fd], cqe);
          break;
        case op_send:
          if (conns[fd].open && conns[fd].gen == ((ud >> 32) & 0xffffff)) on_send(fd, conns[fd], cqe->res);
          break;
        case op_signal:
          std::printf("bare_uring_echo stopping\n");
          return 0;  // exiting closes every connection and the ring
        default: break;  // close and cancel results
      }
    }
    io_uring_cq_advance(&ring, seen);
  }
}
