// fastnet::actors — the per-connection queue from a loop to its actor.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include <fastnet/connection.hpp>

#include "mpsc_stack.hpp"  // reactor/src: the same queue as the connection's outbox

namespace fastnet::actors::detail {

/// How much a connection may hand its actor before reading pauses: frames
/// and bytes handed over and not yet handled. Kept by whoever serves many
/// connections alike (one per server loop), not in every inbox.
struct inbound_budget {
  size_t max_frames = 1024;
  size_t max_bytes = 4 << 20;
};

/// Frames on their way from one connection's loop thread (the single
/// producer) to its actor (the single consumer: an actor runs on one worker
/// at a time, and CAF orders its runs), plus the accounting of the inbound
/// budget and the one-wake-per-batch flag.
///
/// The queue is the connection outbox's mpsc_stack, which the actor takes
/// whole (one exchange) and reverses. Not moodycamel's
/// ReaderWriterQueue, which this replaced: its blocks stay allocated once a
/// connection has seen traffic (4 KiB per connection for a 64-slot queue,
/// measured with pinged idle connections); here an idle connection holds
/// one null pointer, for the price of one small node allocation per frame.
/// The budget is the caller's (see inbound_budget), so an inbox is 24
/// bytes: it lives inside each connection actor.
/// Thread safety: push/should_pause/mark_paused on the loop thread;
/// begin_drain/take/done on the actor; should_resume and the atomics on both.
class inbox {
 public:
  /// A frame, its codec kind and its arrival time (monotonic ns, for the
  /// frame-wait histogram), as the actor takes it. The stamp fits the
  /// node's malloc size class (56 bytes in a 64-byte chunk, as 48 were).
  struct frame_node {
    frame_node(std::string&& f, frame_kind k, int64_t at)
        : frame(std::move(f)), arrived_ns(at), kind(k) {}
    std::string frame;
    int64_t arrived_ns;
    frame_kind kind;
    frame_node* next = nullptr;
  };
  static_assert(sizeof(frame_node) <= 56, "a frame node stays in glibc's 64-byte chunk");
  /// Frames taken together, oldest first; those not popped are freed with it.
  using batch = fastnet::detail::node_list<frame_node>;

  inbox() = default;
  inbox(const inbox&) = delete;
  inbox& operator=(const inbox&) = delete;

  /// Loop: queues a frame that arrived at `arrived_ns` and says whether the
  /// actor must be woken (true once per batch: until the actor starts
  /// draining, later frames ride along).
  bool push(std::string&& frame, frame_kind kind = frame_kind::data, int64_t arrived_ns = 0) {
    // Counted before the frame is visible: the actor may take and finish it
    // before this returns, and a count that dipped below zero in between
    // would read as a huge backlog, so its resume check would fail and leave
    // the connection paused for good.
    frames_.fetch_add(1, std::memory_order_seq_cst);
    bytes_.fetch_add(frame.size(), std::memory_order_seq_cst);
    queue_.push(std::make_unique<frame_node>(std::move(frame), kind, arrived_ns));
    return !wake_pending_.exchange(true, std::memory_order_seq_cst);
  }

  /// Loop: true when the budget is used up and reading is not paused yet.
  /// The loop then pauses the connection and only after that calls
  /// mark_paused(): the actor's resume (which needs the mark) is thereby
  /// always a command issued after the pause, never one the pause's own
  /// dispatch runs first and then overrides.
  bool should_pause(const inbound_budget& b) const {
    if (paused_.load(std::memory_order_seq_cst)) return false;
    return frames_.load() >= b.max_frames || bytes_.load() >= b.max_bytes;
  }

  /// Loop: the connection has been paused (see should_pause).
  void mark_paused() { paused_.store(true, std::memory_order_seq_cst); }

  /// Actor: called when a wake arrives, before draining.
  void begin_drain() { wake_pending_.store(false, std::memory_order_seq_cst); }

  /// Actor: everything queued so far, oldest first (empty when nothing is).
  batch take() { return queue_.take(); }

  /// Actor: a frame of `n` bytes has been handled.
  void done(size_t n) {
    frames_.fetch_sub(1, std::memory_order_seq_cst);
    bytes_.fetch_sub(n, std::memory_order_seq_cst);
  }

  /// Either side: true (once) when reading was paused and the actor is down
  /// to half the budget. Checked by the actor after a batch and by the loop
  /// right after pausing, so a drain racing with the pause cannot strand the
  /// connection paused.
  bool should_resume(const inbound_budget& b) {
    if (!paused_.load(std::memory_order_seq_cst)) return false;
    if (frames_.load() > b.max_frames / 2 || bytes_.load() > b.max_bytes / 2) return false;
    return paused_.exchange(false, std::memory_order_seq_cst);
  }

  size_t frames() const { return frames_.load(); }
  size_t bytes() const { return bytes_.load(); }

 private:
  fastnet::detail::mpsc_stack<frame_node> queue_;  // pushed by the loop
  // Frames handed over and not yet done: at most the budget's max_frames
  // plus one (reading pauses at the bound), so 32 bits are plenty.
  std::atomic<uint32_t> frames_{0};
  std::atomic<bool> wake_pending_{false};
  std::atomic<bool> paused_{false};
  std::atomic<size_t> bytes_{0};
};

/// Loop: queues one frame of `c` (arrived at `arrived_ns`) and applies the inbound budget: at the
/// limit reading pauses first and the inbox is marked after, then the resume
/// check runs once more (the actor may have drained everything before the
/// mark and so seen nothing to resume). Returns true when the actor must be
/// woken. Loop thread of `c` only.
inline bool offer(inbox& in, const inbound_budget& b, connection& c, std::string&& frame,
                  frame_kind kind, int64_t arrived_ns = 0) {
  const bool wake = in.push(std::move(frame), kind, arrived_ns);
  if (in.should_pause(b)) {
    c.pause_reading(connection::pause_source::inbound);
    in.mark_paused();
    if (in.should_resume(b)) c.resume_reading(connection::pause_source::inbound);
  }
  return wake;
}

}  // namespace fastnet::actors::detail
