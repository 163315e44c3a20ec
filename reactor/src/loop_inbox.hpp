// fastnet — a loop's task queue and doorbell, shared with whoever may post to it.
#pragma once

#include <atomic>
#include <functional>
#include <thread>

#include <concurrentqueue/concurrentqueue.h>

#include "fastnet/socket.hpp"

namespace fastnet::detail {

/// The cross-thread half of an event_loop: a lock-free multi-producer task
/// queue, the eventfd doorbell and the flags that decide when to ring it.
/// It is reference-counted apart from the loop because connections (and so
/// connection handles held by actors anywhere) post to it from other threads
/// and may outlive the loop: once the loop closes its inbox, posts are
/// dropped on the posting thread instead of touching freed memory.
///
/// Thread safety: post, in_loop_thread and running from any thread; the rest
/// is for the owning event_loop on its thread.
class loop_inbox {
 public:
  using task = std::function<void()>;

  loop_inbox();
  ~loop_inbox();
  loop_inbox(const loop_inbox&) = delete;
  loop_inbox& operator=(const loop_inbox&) = delete;

  /// Queues `fn` for the loop and rings the doorbell if the loop may sleep.
  /// Returns false, destroying `fn` here, once the inbox is closed. Any thread.
  bool post(task fn);

  /// True on the thread currently running the loop. Any thread.
  bool in_loop_thread() const {
    return owner_.load(std::memory_order_relaxed) == std::this_thread::get_id();
  }
  /// True while some thread runs the loop. Any thread.
  bool running() const { return owner_.load(std::memory_order_relaxed) != std::thread::id{}; }

  /// Rings the doorbell (at most one write per sleep). Any thread.
  void wake();
  /// Doorbell writes so far. Any thread; approximate.
  uint64_t wakeups() const { return wakeups_.load(std::memory_order_relaxed); }

  // ---- for the owning event_loop ----
  int doorbell_fd() const { return doorbell_.get(); }
  void set_owner(std::thread::id id) { owner_.store(id, std::memory_order_relaxed); }
  /// Marks the loop as about to sleep (true) or awake (false); with the
  /// fences in post() and in the loop, no task is left behind a sleep.
  void set_polling(bool on) { polling_.store(on, std::memory_order_relaxed); }
  void drain_doorbell();
  size_t size_approx() const { return queue_.size_approx(); }
  size_t try_dequeue_bulk(task* out, size_t max) { return queue_.try_dequeue_bulk(out, max); }
  /// Refuses further posts and destroys every queued task. Loop owner only.
  void close();

 private:
  void drop_queued();

  moodycamel::ConcurrentQueue<task> queue_;
  unique_fd doorbell_;
  std::atomic<std::thread::id> owner_{};
  std::atomic<bool> polling_{false};       // loop is in (or about to enter) epoll_wait
  std::atomic<bool> wake_pending_{false};  // doorbell rung and not yet drained
  std::atomic<bool> closed_{false};
  std::atomic<uint64_t> wakeups_{0};
};

}  // namespace fastnet::detail
