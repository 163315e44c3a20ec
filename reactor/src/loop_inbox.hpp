// fastnet — a loop's task queue and doorbell, shared with whoever may post to it.
#pragma once

#include <atomic>
#include <functional>
#include <thread>
#include <utility>

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
  bool in_loop_thread() const { return running_here_ == this; }
  /// True while some thread runs the loop. Any thread.
  bool running() const { return owner_.load(std::memory_order_relaxed) != std::thread::id{}; }

  /// Rings the doorbell (at most one write per sleep). Any thread.
  void wake();
  /// Doorbell writes so far. Any thread; approximate.
  uint64_t wakeups() const { return wakeups_.load(std::memory_order_relaxed); }

  // ---- for the owning event_loop ----
  int doorbell_fd() const { return doorbell_.get(); }
  /// The calling thread starts running the loop; returns what it ran
  /// before (a loop run from inside another's task), for leave().
  const loop_inbox* enter() {
    owner_.store(std::this_thread::get_id(), std::memory_order_relaxed);
    return std::exchange(running_here_, this);
  }
  /// The calling thread stops running the loop.
  void leave(const loop_inbox* outer) {
    owner_.store(std::thread::id{}, std::memory_order_relaxed);
    running_here_ = outer;
  }
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
  // The inbox of the loop this thread runs, if any. in_loop_thread()
  // compares an address with it instead of loading the owner's thread id
  // through the inbox: one load fewer, so a connection that reaches the
  // inbox through its owner pays nothing for keeping no pointer to it.
  // initial-exec: one %fs-relative load, also if built as a shared library.
  // constinit: no TLS wrapper call (nothing to initialize at run time).
  [[gnu::tls_model("initial-exec")]] static constinit thread_local const loop_inbox* running_here_;
  std::atomic<std::thread::id> owner_{};   // for running(), from any thread
  std::atomic<bool> polling_{false};       // loop is in (or about to enter) epoll_wait
  std::atomic<bool> wake_pending_{false};  // doorbell rung and not yet drained
  std::atomic<bool> closed_{false};
  std::atomic<uint64_t> wakeups_{0};
};

}  // namespace fastnet::detail
