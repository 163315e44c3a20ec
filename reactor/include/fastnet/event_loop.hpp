// fastnet — the event loop: one epoll instance driven by one thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "fastnet/backend.hpp"
#include "fastnet/socket.hpp"
#include "fastnet/stats.hpp"
#include "fastnet/timer_queue.hpp"

namespace fastnet {

namespace detail {
class loop_inbox;
class poller;
}  // namespace detail

/// Receives readiness events for one watched descriptor.
/// Thread safety: called on the owning loop's thread only.
class io_handler {
 public:
  virtual ~io_handler() = default;
  /// `events` is the epoll mask (EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP, EPOLLRDHUP).
  virtual void handle_events(uint32_t events) = 0;
};

/// One reactor: a level-triggered readiness set (epoll, or io_uring: see
/// fastnet::backend), a timer queue and a lock-free multi-producer task
/// queue with an eventfd doorbell. The thread that calls run() becomes the
/// loop thread for the loop's whole life.
///
/// Thread safety: run_in_loop, queue_in_loop, quit, run_after, run_every,
/// cancel and the stats accessors may be called from any thread. watch,
/// modify and unwatch are loop-thread only (asserted in debug builds).
/// Cross-thread work is marshalled as tasks, never guarded by locks; the
/// doorbell is rung only when the loop may be asleep in epoll_wait.
class event_loop {
 public:
  /// Work for the loop thread: queued, deferred, or run by a timer.
  using task = std::function<void()>;

  /// A loop that does not run yet, on `b` (see fastnet::backend). Throws
  /// std::system_error when the kernel refuses the backend asked for or
  /// the eventfd.
  explicit event_loop(backend b = backend::automatic);
  /// Destroys the tasks still queued (they may hold the last references to
  /// connections); tasks posted later, through connections that outlive the
  /// loop, are dropped.
  ~event_loop();
  event_loop(const event_loop&) = delete;
  event_loop& operator=(const event_loop&) = delete;

  /// Runs until quit(); the calling thread becomes the loop thread. Tasks
  /// queued before run() execute on its first iteration. Loop thread only;
  /// on io_uring a loop run again must be run by the same thread (another
  /// one gets std::logic_error: the ring has a single submitter).
  void run();

  /// Asks run() to return after the current iteration. Any thread.
  void quit();

  /// True on the thread currently inside run(). Any thread.
  bool in_loop_thread() const;

  /// True while some thread is inside run(). Any thread.
  bool running() const;

  /// Aborts in debug builds when called off the loop thread.
  void assert_in_loop_thread() const;

  /// Runs `fn` now when called on the loop thread, otherwise queues it. Any thread.
  void run_in_loop(task fn);

  /// Always queues `fn` to run on the loop thread after the current events. Any thread.
  /// Tasks queued by one thread run in the order they were queued.
  void queue_in_loop(task fn);

  /// Runs `fn` on this loop after the events of the current iteration have
  /// been handled, before the loop waits again: for work that should batch
  /// what those events produced. Cheaper than queue_in_loop (no atomics).
  /// Loop thread only.
  void defer(task fn);

  /// Runs `fn` once after `delay` on the loop thread. Any thread.
  timer_id run_after(clock::duration delay, task fn);
  /// Runs `fn` every `interval` (first after one interval) on the loop thread. Any thread.
  timer_id run_every(clock::duration interval, task fn);
  /// Cancels a timer; a no-op for unknown or fired ones. Any thread; from the
  /// loop thread it takes effect at once, from others before the next timer run.
  void cancel(timer_id id);

  /// Starts watching `fd` for `events` (level-triggered); `h` must outlive the
  /// registration and may only be destroyed after unwatch() and after the
  /// current event batch (defer with queue_in_loop). Loop thread only.
  void watch(int fd, uint32_t events, io_handler* h);
  /// Changes the watched events of `fd`. Loop thread only.
  void modify(int fd, uint32_t events, io_handler* h);
  /// Stops watching `fd`. Loop thread only.
  void unwatch(int fd);

  /// Loop iterations so far (epoll_wait returns). Any thread; approximate.
  uint64_t iterations() const { return iterations_.load(std::memory_order_relaxed); }
  /// Iterations, busy time, tasks and timers run, queue depth. Any thread;
  /// the values are read one by one while the loop runs on.
  loop_stats stats() const;
  /// Doorbell writes so far. Any thread; approximate.
  uint64_t wakeups() const;

  /// The backend this loop runs on (epoll or io_uring, never automatic). Any thread.
  backend kind() const { return kind_; }

  /// Internal: the kernel interface under the loop (epoll or io_uring).
  /// Loop thread only.
  detail::poller& poller() { return *poller_; }

  /// Internal: the task queue and doorbell, which outlive the loop for those
  /// holding them (connections); posts after the loop is gone are dropped.
  const std::shared_ptr<detail::loop_inbox>& inbox() const { return inbox_; }

 private:
  size_t run_tasks();
  size_t run_deferred();
  timer_id add_timer(clock::duration delay, clock::duration interval, task fn);
  int poll_timeout_ms();

  /// Drains the doorbell when the loop reports it readable.
  class doorbell final : public io_handler {
   public:
    explicit doorbell(detail::loop_inbox& inbox) : inbox_(inbox) {}
    void handle_events(uint32_t events) override;

   private:
    detail::loop_inbox& inbox_;
  };

  std::unique_ptr<detail::poller> poller_;
  backend kind_;
  std::shared_ptr<detail::loop_inbox> inbox_;
  doorbell doorbell_;
  timer_queue timers_;
  std::vector<task> deferred_;  // loop thread only
  std::atomic<bool> quit_{false};
  std::atomic<uint64_t> next_timer_{1};
  // Written by the loop thread alone (a relaxed load and store), read by any.
  std::atomic<uint64_t> iterations_{0};
  std::atomic<uint64_t> busy_ns_{0};
  std::atomic<uint64_t> tasks_run_{0};
  std::atomic<uint64_t> timers_fired_{0};
};

}  // namespace fastnet
