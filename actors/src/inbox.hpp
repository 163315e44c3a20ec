// fastnet::actors — the per-connection queue from a loop to its actor.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>

#include <readerwriterqueue/readerwriterqueue.h>

namespace fastnet::actors::detail {

/// Frames on their way from one connection's loop thread (the single
/// producer) to its actor (the single consumer: an actor runs on one worker
/// at a time, and CAF orders its runs). A moodycamel SPSC queue plus the
/// accounting of the inbound budget and the one-wake-per-batch flag.
///
/// The queue is allocated on the first frame, so an idle connection pays
/// only for this object. It is published to the actor by the wake message
/// (CAF message passing orders the allocation before the actor's first read).
/// Thread safety: push/should_pause/pause_failed on the loop thread;
/// pop/done/should_resume on the actor; the atomics on both.
class inbox {
 public:
  inbox(size_t max_frames, size_t max_bytes) : max_frames_(max_frames), max_bytes_(max_bytes) {}

  /// Loop: queues a frame and says whether the actor must be woken (true
  /// once per batch: until the actor starts draining, later frames ride along).
  bool push(std::string&& frame) {
    if (!queue_) queue_ = std::make_unique<moodycamel::ReaderWriterQueue<std::string>>(64);
    size_t n = frame.size();
    queue_->enqueue(std::move(frame));
    frames_.fetch_add(1, std::memory_order_seq_cst);
    bytes_.fetch_add(n, std::memory_order_seq_cst);
    return !wake_pending_.exchange(true, std::memory_order_seq_cst);
  }

  /// Loop: true when the budget is used up and reading should pause now
  /// (true once per pause).
  bool should_pause() {
    if (frames_.load() < max_frames_ && bytes_.load() < max_bytes_) return false;
    return !paused_.exchange(true, std::memory_order_seq_cst);
  }

  /// Actor: called when a wake arrives, before draining.
  void begin_drain() { wake_pending_.store(false, std::memory_order_seq_cst); }

  /// Actor: takes the next frame.
  bool pop(std::string& out) { return queue_ && queue_->try_dequeue(out); }

  /// Actor: a frame of `n` bytes has been handled.
  void done(size_t n) {
    frames_.fetch_sub(1, std::memory_order_seq_cst);
    bytes_.fetch_sub(n, std::memory_order_seq_cst);
  }

  /// Either side: true (once) when reading was paused and the actor is down
  /// to half the budget. Checked by the actor after a batch and by the loop
  /// right after pausing, so a drain racing with the pause cannot strand the
  /// connection paused.
  bool should_resume() {
    if (!paused_.load(std::memory_order_seq_cst)) return false;
    if (frames_.load() > max_frames_ / 2 || bytes_.load() > max_bytes_ / 2) return false;
    return paused_.exchange(false, std::memory_order_seq_cst);
  }

  size_t frames() const { return frames_.load(); }
  size_t bytes() const { return bytes_.load(); }

 private:
  const size_t max_frames_;
  const size_t max_bytes_;
  std::unique_ptr<moodycamel::ReaderWriterQueue<std::string>> queue_;
  std::atomic<size_t> frames_{0};
  std::atomic<size_t> bytes_{0};
  std::atomic<bool> wake_pending_{false};
  std::atomic<bool> paused_{false};
};

}  // namespace fastnet::actors::detail
