// fastnet — the io_uring backend.
//
// One ring per loop, set up with SINGLE_ISSUER | DEFER_TASKRUN where the
// kernel has them (completions are then produced only inside the loop's own
// io_uring_enter, in one batch), started disabled and enabled by the loop
// thread (the single issuer), whose registered ring fd spares io_uring_enter
// a descriptor lookup.
//
// Streams (plain TCP connections) are read by a multishot receive that picks
// buffers from the loop's provided buffer ring (uring_buffer_pool.hpp): no
// receive system call per message, and no receive buffer held by an idle
// connection. Everything else
// (listeners, eventfds, signalfds, TLS sockets, a stream's EPOLLOUT) is
// readiness through one-shot poll requests re-armed after each report,
// which is level triggering: a descriptor still ready is reported again.
// Requests made while handling a batch go to the kernel with the next wait,
// in the same io_uring_enter.
//
// Every request's user_data carries the descriptor, its slot's generation
// (bumped when the descriptor is unwatched, so a late completion of a closed
// connection never reaches the next user of the number) and, for polls, a
// sequence number (a removed poll's completion is told from its successor's).
#include <liburing.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "log.hpp"
#include "poller.hpp"
#include "uring_buffer_pool.hpp"

namespace fastnet::detail {
namespace {

constexpr unsigned sq_entries = 1024;
constexpr unsigned cq_entries = 16384;  // a receive and a poll per connection per batch
// What one delivery gathers at most from consecutive buffers of one stream.
constexpr size_t gather_limit = 256 * 1024;

enum op : uint64_t { op_poll = 1, op_recv = 2, op_ignore = 3 };

constexpr uint32_t gen_mask = 0xfffff;  // a slot's generation: 20 bits of a tag

uint64_t tag(op o, int fd, uint32_t gen, uint32_t seq = 0) {
  return (uint64_t{o} << 60) | (uint64_t{seq & 0xff} << 52) | (uint64_t{gen & gen_mask} << 32) |
         static_cast<uint32_t>(fd);
}
op op_of(uint64_t t) {
  return static_cast<op>(t >> 60);
}
uint32_t seq_of(uint64_t t) {
  return static_cast<uint32_t>(t >> 52) & 0xff;
}
uint32_t gen_of(uint64_t t) {
  return static_cast<uint32_t>(t >> 32) & gen_mask;
}
int fd_of(uint64_t t) {
  return static_cast<int>(static_cast<uint32_t>(t));
}

uint32_t poll_mask(uint32_t epoll_events) {
  uint32_t m = 0;
  if (epoll_events & EPOLLIN) m |= POLLIN;
  if (epoll_events & EPOLLOUT) m |= POLLOUT;
  return m;
}

/// The events a slot keeps: the only ones the poller maps to requests.
uint8_t wanted(uint32_t epoll_events) {
  return static_cast<uint8_t>(epoll_events & (EPOLLIN | EPOLLOUT));
}

uint32_t epoll_events_of(uint32_t revents) {
  uint32_t e = 0;
  if (revents & POLLIN) e |= EPOLLIN;
  if (revents & POLLOUT) e |= EPOLLOUT;
  if (revents & POLLERR) e |= EPOLLERR;
  if (revents & POLLHUP) e |= EPOLLHUP;
  if (revents & POLLRDHUP) e |= EPOLLRDHUP;
  return e;
}

[[noreturn]] void fail(int err, const std::string& what) {
  throw std::system_error(err, std::generic_category(), "io_uring: " + what);
}

/// Why io_uring cannot serve here, or empty when it can (kernel version and
/// the opcodes used). The test switch FASTNET_TEST_IO_URING_FAIL=1 makes it
/// refuse, to test the fallback.
std::string unavailable_reason() {
  if (const char* t = std::getenv("FASTNET_TEST_IO_URING_FAIL"); t && std::strcmp(t, "1") == 0)
    return "disabled by FASTNET_TEST_IO_URING_FAIL=1 (a test switch)";
  utsname u{};
  int major = 0, minor = 0;
  if (::uname(&u) != 0 || std::sscanf(u.release, "%d.%d", &major, &minor) != 2)
    return "the kernel version is unknown";
  if (major < 6)
    return std::string("kernel ") + u.release + " is older than 6.0 (multishot receive)";
  io_uring_probe* probe = io_uring_get_probe();
  if (probe == nullptr) return "the kernel refuses io_uring (disabled, or blocked by seccomp)";
  const bool ok = io_uring_opcode_supported(probe, IORING_OP_RECV) &&
                  io_uring_opcode_supported(probe, IORING_OP_POLL_ADD) &&
                  io_uring_opcode_supported(probe, IORING_OP_ASYNC_CANCEL);
  io_uring_free_probe(probe);
  if (!ok) return "the kernel lacks an io_uring operation fastnet uses";
  return {};
}

class uring_poller final : public poller {
 public:
  uring_poller() {
    // The best setup the kernel takes; SINGLE_ISSUER needs the submitting
    // thread known, so that ring starts disabled until enter_thread().
    const unsigned setups[] = {
        IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_R_DISABLED,
        IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG, 0};
    int rc = -EINVAL;
    for (unsigned flags : setups) {
      io_uring_params p{};
      p.flags = flags | IORING_SETUP_CQSIZE;
      p.cq_entries = cq_entries;
      if ((rc = io_uring_queue_init_params(sq_entries, &ring_, &p)) == 0) {
        disabled_ = (flags & IORING_SETUP_R_DISABLED) != 0;
        break;
      }
    }
    if (rc != 0) fail(-rc, "setup");
    // The receive buffers are mapped when the first stream is watched: a
    // loop that only accepts or runs timers (a server's control loop) has
    // none.
  }

  ~uring_poller() override {
    io_uring_queue_exit(&ring_);
    buffers_.reset();  // after the ring: nothing can write into them now
  }

  uring_poller(const uring_poller&) = delete;
  uring_poller& operator=(const uring_poller&) = delete;

  void enter_thread() override {
    // SINGLE_ISSUER: the first thread to run the loop is its only submitter.
    const auto me = std::this_thread::get_id();
    if (issuer_ != std::thread::id{} && issuer_ != me)
      throw std::logic_error("io_uring event_loop: run() again on another thread");
    issuer_ = me;
    if (disabled_) {
      // Raw: Debian's liburing 2.3 declares io_uring_enable_rings but does not export it.
      if (::syscall(__NR_io_uring_register, ring_.ring_fd, IORING_REGISTER_ENABLE_RINGS, nullptr,
                    0) != 0)
        fail(errno, "enabling the ring");
      disabled_ = false;
    }
    if (!fd_registered_) fd_registered_ = io_uring_register_ring_fd(&ring_) == 1;
  }

  backend kind() const override { return backend::io_uring; }
  bool reads_streams() const override { return true; }

  void watch(int fd, uint32_t events, io_handler* h) override {
    slot& s = fresh_slot(fd);
    s.h = h;
    s.events = wanted(events);
    sync(fd, s);
  }

  void watch_stream(int fd, uint32_t events, io_handler* h, receive_fn received) override {
    // One receive function per poller (every stream's owner is a
    // connection): kept once, not in each descriptor's slot.
    if (received_ != nullptr && received_ != received)
      throw std::logic_error("io_uring poller: streams with different receive functions");
    received_ = received;
    slot& s = fresh_slot(fd);
    s.h = h;
    s.recv = recv_state::idle;
    s.events = wanted(events);
    sync(fd, s);
  }

  void modify(int fd, uint32_t events, io_handler* h) override {
    slot* found = find(fd);
    if (found == nullptr) fail(ENOENT, "modify of a descriptor never watched");
    slot& s = *found;
    s.h = h;
    s.events = wanted(events);
    sync(fd, s);
  }

  void unwatch(int fd) override {
    slot* found = find(fd);
    if (found == nullptr || found->h == nullptr) return;
    slot& s = *found;
    // Cancelled by user_data, not by descriptor: the number may be reused
    // before these reach the kernel, the requests' tags may not.
    if (s.poll != 0) cancel(tag(op_poll, fd, s.gen, s.seq));
    if (s.recv == recv_state::armed) cancel(tag(op_recv, fd, s.gen));
    // The tags carry 20 bits of it: it wraps there, or a descriptor number
    // reused 2^20 times would never match its own completions again.
    const uint32_t next_gen = (s.gen + 1) & gen_mask;
    s = slot{};
    s.gen = next_gen;
  }

  void flush() override {
    publish_buffers();
    // Nothing stays in flight once the loop stops: the ring's teardown is
    // asynchronous in the kernel and must not find a receive that could
    // still write into buffers unmapped by then (or hold a closed socket
    // open). With GETEVENTS the cancelled requests complete (and drop their
    // descriptors) now. Requests still wanted are armed again if the loop
    // runs again.
    io_uring_prep_cancel(sqe(tag(op_ignore, 0, 0)), nullptr, IORING_ASYNC_CANCEL_ANY);
    io_uring_submit_and_get_events(&ring_);
  }

  std::string unwatch_stream(int fd) override {
    const slot* found = find(fd);
    const uint32_t gen = found != nullptr ? found->gen : 0;
    unwatch(fd);
    // The stream's receive must be gone before its owner reads the socket
    // itself: hand the cancel to the kernel now, and collect what the
    // receive completed before it (the batch grows; the dispatch loop
    // delivers the other descriptors' completions).
    io_uring_submit_and_get_events(&ring_);
    harvest();
    std::string out;
    for (size_t i = next_; i < batch_.size(); ++i) {
      completion& c = batch_[i];
      if (op_of(c.data) != op_recv || fd_of(c.data) != fd || gen_of(c.data) != gen) continue;
      if (c.res > 0 && (c.flags & IORING_CQE_F_BUFFER)) {
        const auto bytes = buffers_->data(c.flags, c.offset, c.res);
        out.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
      }
      if (buffers_) buffers_->release(c.res, c.flags);
      c.data = tag(op_ignore, fd, 0);  // taken: not delivered again
    }
    return out;
  }

  int wait(int timeout_ms) override {
    publish_buffers();
    int rc;
    if (timeout_ms == 0) {
      rc = io_uring_submit_and_get_events(&ring_);
    } else {
      io_uring_cqe* first = nullptr;
      __kernel_timespec ts{};
      ts.tv_sec = timeout_ms / 1000;
      ts.tv_nsec = static_cast<long long>(timeout_ms % 1000) * 1'000'000;
      rc = io_uring_submit_and_wait_timeout(&ring_, &first, 1, timeout_ms < 0 ? nullptr : &ts,
                                            nullptr);
    }
    if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EBUSY) {
      errno = -rc;
      return -1;
    }
    harvest();
    return static_cast<int>(batch_.size());
  }

  void dispatch() override {
    for (next_ = 0; next_ < batch_.size();) {
      const completion c = batch_[next_++];  // next_: the first not yet delivered
      deliver(c);
    }
    batch_.clear();
    next_ = 0;
  }

 private:
  /// Where a stream's multishot receive is.
  enum class recv_state : uint8_t {
    none,        // not a stream: the poller reports readiness only
    idle,        // none in flight: armed when its owner wants input
    armed,       // in flight until its last completion (no F_MORE)
    cancelling,  // in flight, a cancel on its way (its owner paused)
    starved,     // ended for lack of buffers: armed again when some come back
    ended,       // EOF or an error: not received from again
  };
  /// One per descriptor number: 16 bytes, which a loop holding many idle
  /// connections pays for each.
  struct slot {
    io_handler* h = nullptr;
    uint32_t gen = 0;    // in the tags, wrapping at gen_mask
    uint8_t events = 0;  // what the owner wants (EPOLLIN, EPOLLOUT)
    uint8_t poll = 0;    // mask of the armed poll; 0: none
    uint8_t seq = 0;     // of the armed poll
    recv_state recv = recv_state::none;
  };
  static_assert(sizeof(slot) == 16);
  /// Slots come in chunks allocated as descriptor numbers reach them: no
  /// reallocation (slot references stay valid while handlers watch more
  /// descriptors) and no slack beyond one chunk.
  static constexpr size_t chunk_slots = 1024;
  struct completion {
    uint64_t data;
    int32_t res;
    uint32_t flags;
    uint32_t offset;  // of a receive's bytes in its buffer
  };

  /// The slot of `fd`, or null when no descriptor that high was watched.
  slot* find(int fd) {
    const auto n = static_cast<size_t>(fd);
    if (fd < 0 || n / chunk_slots >= chunks_.size()) return nullptr;
    return &chunks_[n / chunk_slots][n % chunk_slots];
  }

  slot& fresh_slot(int fd) {
    if (fd < 0) fail(EBADF, "watch");
    const auto n = static_cast<size_t>(fd);
    while (chunks_.size() <= n / chunk_slots)
      chunks_.push_back(std::make_unique<slot[]>(chunk_slots));
    slot& s = *find(fd);
    if (s.h != nullptr) unwatch(fd);  // watched again: the old requests go
    return s;
  }

  /// Brings the requests in flight for `fd` in line with what its owner wants.
  void sync(int fd, slot& s) {
    const bool stream = s.recv != recv_state::none;
    const uint32_t want_poll = poll_mask(stream ? (s.events & EPOLLOUT) : s.events);
    if (s.poll != want_poll) {
      if (s.poll != 0) cancel(tag(op_poll, fd, s.gen, s.seq));
      s.poll = 0;
      if (want_poll != 0) arm_poll(fd, s, want_poll);
    }
    if (!stream) return;
    const bool want_recv = (s.events & EPOLLIN) != 0;
    if (want_recv && s.recv == recv_state::idle) {
      arm_recv(fd, s);
    } else if (!want_recv && s.recv == recv_state::armed) {
      cancel(tag(op_recv, fd, s.gen));
      s.recv = recv_state::cancelling;
    }
  }

  io_uring_sqe* sqe(uint64_t data) {
    io_uring_sqe* e = io_uring_get_sqe(&ring_);
    while (e == nullptr) {  // the submission queue is full: hand it over
      io_uring_submit(&ring_);
      e = io_uring_get_sqe(&ring_);
    }
    io_uring_sqe_set_data64(e, data);
    return e;
  }

  void arm_poll(int fd, slot& s, uint32_t mask) {
    ++s.seq;
    s.poll = static_cast<uint8_t>(mask);
    io_uring_prep_poll_add(sqe(tag(op_poll, fd, s.gen, s.seq)), fd, mask);
  }

  void arm_recv(int fd, slot& s) {
    // Mapped when the first stream is watched: a loop that only accepts or
    // runs timers (a server's control loop) has none.
    if (!buffers_) buffers_.emplace(ring_);
    io_uring_sqe* e = sqe(tag(op_recv, fd, s.gen));
    io_uring_prep_recv_multishot(e, fd, nullptr, 0, 0);
    e->flags |= IOSQE_BUFFER_SELECT;
    e->buf_group = uring_buffer_pool::group;
    s.recv = recv_state::armed;
  }

  void cancel(uint64_t data) { io_uring_prep_cancel64(sqe(tag(op_ignore, 0, 0)), data, 0); }

  void harvest() {
    io_uring_cqe* cqes[256];
    for (;;) {
      const unsigned n = io_uring_peek_batch_cqe(&ring_, cqes, 256);
      if (n == 0) return;
      for (unsigned i = 0; i < n; ++i) {
        const io_uring_cqe& q = *cqes[i];
        // Offsets in completion order: the order the kernel filled buffers in.
        const uint32_t offset =
            (q.flags & IORING_CQE_F_BUFFER) ? buffers_->take(q.res, q.flags) : 0;
        batch_.push_back({q.user_data, q.res, q.flags, offset});
      }
      io_uring_cq_advance(&ring_, n);
    }
  }

  bool deliver(const completion& c) {
    const op o = op_of(c.data);
    if (o == op_ignore) return false;
    const int fd = fd_of(c.data);
    slot* s = find(fd);
    const bool current = s != nullptr && s->h != nullptr && s->gen == gen_of(c.data);
    if (o == op_recv) return on_recv(fd, current ? s : nullptr, c);
    if (!current || seq_of(c.data) != s->seq || s->poll == 0) return false;  // removed or stale
    s->poll = 0;                                                             // one shot: reported
    if (c.res == -ECANCELED) {  // by flush(), as the loop stopped: armed again if wanted
      sync(fd, *s);
      return false;
    }
    const uint32_t events =
        c.res < 0 ? static_cast<uint32_t>(EPOLLERR) : epoll_events_of(static_cast<uint32_t>(c.res));
    const uint32_t gen = s->gen;
    s->h->handle_events(events);
    // Level triggering: still wanted, so armed again (still ready: reported
    // again in the next batch). The handler may have unwatched, or modified
    // (which armed what it wants).
    slot& after = *find(fd);
    if (after.h != nullptr && after.gen == gen) sync(fd, after);
    return true;
  }

  bool on_recv(int fd, slot* s, const completion& c) {
    if (s == nullptr) {  // a closed stream's late completion
      if (buffers_) buffers_->release(c.res, c.flags);
      return false;
    }
    bool more = (c.flags & IORING_CQE_F_MORE) != 0;
    const uint32_t gen = s->gen;
    io_handler* h = s->h;
    const receive_fn received = received_;
    // Idle before the owner hears of it: what it does next (pause, resume)
    // sees no receive in flight.
    if (c.res > 0 && (c.flags & IORING_CQE_F_BUFFER)) {
      std::span<const std::byte> data = buffers_->data(c.flags, c.offset, c.res);
      if (more && follows(c.data)) data = gather(data, c.data, more);
      if (!more) s->recv = recv_state::idle;
      received(h, data, 0);
      buffers_->release(c.res, c.flags);
    } else {
      if (buffers_) buffers_->release(c.res, c.flags);
      if (!more) s->recv = recv_state::idle;
      if (c.res == -ENOBUFS) {
        buffers_->starved();
        if (!more) {
          s->recv = recv_state::starved;
          starved_.push_back(fd);
        }
        return false;
      }
      if (c.res != -ECANCELED) {  // cancelled: its owner paused (and may want it again)
        s->recv = recv_state::ended;
        received(h, {}, c.res == 0 ? 0 : -c.res);
      }
    }
    slot& after = *find(fd);
    if (after.h != nullptr && after.gen == gen && after.recv != recv_state::armed &&
        after.recv != recv_state::cancelling)
      sync(fd, after);
    return true;
  }

  /// True when the next completion of the batch is more bytes from the
  /// receive tagged `data`.
  bool follows(uint64_t data) const {
    if (next_ >= batch_.size()) return false;
    const completion& n = batch_[next_];
    return n.data == data && n.res > 0 && (n.flags & IORING_CQE_F_BUFFER) != 0;
  }

  /// `first` and the completions of the same receive that follow it in the
  /// batch (a stream's burst filled buffer space in a row), as one piece of
  /// up to about gather_limit: delivered as one read of a large buffer would
  /// be, instead of a frame (or an echo, or an actor message) per buffer.
  /// Pieces that lie back to back in memory (incremental buffers, whole
  /// ones filled in order) are not copied. Takes those completions off the
  /// batch and releases their buffers (the kernel gets them at the next
  /// publish, after this delivery); `more` becomes the last one's
  /// IORING_CQE_F_MORE.
  std::span<const std::byte> gather(std::span<const std::byte> first, uint64_t data, bool& more) {
    std::span<const std::byte> whole = first;
    gather_.clear();
    while (more && follows(data) && whole.size() < gather_limit) {
      const completion& n = batch_[next_++];
      const auto piece = buffers_->data(n.flags, n.offset, n.res);
      if (gather_.empty() && whole.data() + whole.size() == piece.data()) {
        whole = {whole.data(), whole.size() + piece.size()};
      } else {
        if (gather_.empty()) gather_.assign(whole.begin(), whole.end());
        gather_.insert(gather_.end(), piece.begin(), piece.end());
        whole = gather_;
      }
      buffers_->release(n.res, n.flags);
      more = (n.flags & IORING_CQE_F_MORE) != 0;
    }
    return whole;
  }

  /// Makes the buffers given back visible, then re-arms the receives that
  /// ran out of them.
  void publish_buffers() {
    if (!buffers_ || !buffers_->publish()) return;
    for (int fd : starved_) {
      slot& s = *find(fd);
      if (s.recv != recv_state::starved) continue;
      s.recv = recv_state::idle;
      if (s.h != nullptr) sync(fd, s);
    }
    starved_.clear();
  }

  io_uring ring_{};
  std::thread::id issuer_;  // the thread that runs the loop (SINGLE_ISSUER)
  bool disabled_ = false;
  bool fd_registered_ = false;
  std::optional<uring_buffer_pool> buffers_;     // mapped with the first stream
  std::vector<std::unique_ptr<slot[]>> chunks_;  // slots by descriptor number
  receive_fn received_ = nullptr;                // where streams' bytes go
  std::vector<int> starved_;                     // descriptors whose receive waits for buffers
  std::vector<completion> batch_;                // the completions being dispatched
  std::vector<std::byte> gather_;  // one stream's consecutive buffers, delivered as one
  size_t next_ = 0;                // the first of batch_ not yet delivered
};

}  // namespace

std::unique_ptr<poller> make_uring_poller(std::string& why) {
  why = unavailable_reason();
  if (!why.empty()) return nullptr;
  try {
    return std::make_unique<uring_poller>();
  } catch (const std::system_error& e) {
    why = e.what();
    return nullptr;
  }
}

}  // namespace fastnet::detail
