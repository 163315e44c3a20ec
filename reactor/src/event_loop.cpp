#include "fastnet/event_loop.hpp"

#include <sys/epoll.h>  // EPOLLIN
#include <unistd.h>

#include <cassert>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "log.hpp"
#include "loop_inbox.hpp"
#include "poller.hpp"

namespace fastnet {

namespace {
// A user task or timer that throws must not take the loop thread (and every
// connection on it) down: log it and go on.
template <typename F>
void guarded_call(F& fn, const char* what) {
  try {
    fn();
  } catch (const std::exception& e) {
    detail::log().error("event_loop: {} threw: {}", what, e.what());
  } catch (...) {
    detail::log().error("event_loop: {} threw", what);
  }
}
constexpr size_t task_batch = 64;

// The loop thread is the only writer: a load and a store, no locked add.
void bump(std::atomic<uint64_t>& counter, uint64_t n) {
  counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

}  // namespace

event_loop::event_loop(backend b)
    : poller_(detail::make_poller(b)),
      kind_(poller_->kind()),
      inbox_(std::make_shared<detail::loop_inbox>()),
      doorbell_(*inbox_) {
  poller_->watch(inbox_->doorbell_fd(), EPOLLIN, &doorbell_);
}

void event_loop::doorbell::handle_events(uint32_t) {
  inbox_.drain_doorbell();
}

event_loop::~event_loop() {
  // Tasks still queued may hold the last references to connections: destroy
  // them now, and make later posts (from handles that outlive the loop) drop
  // their task instead of queueing it for nobody.
  inbox_->close();
}

bool event_loop::in_loop_thread() const {
  return inbox_->in_loop_thread();
}

bool event_loop::running() const {
  return inbox_->running();
}

uint64_t event_loop::wakeups() const {
  return inbox_->wakeups();
}

loop_stats event_loop::stats() const {
  loop_stats s;
  s.iterations = iterations_.load(std::memory_order_relaxed);
  s.busy_seconds = static_cast<double>(busy_ns_.load(std::memory_order_relaxed)) / 1e9;
  s.tasks_run = tasks_run_.load(std::memory_order_relaxed);
  s.timers_fired = timers_fired_.load(std::memory_order_relaxed);
  s.task_queue_depth = inbox_->size_approx();
  return s;
}

void event_loop::assert_in_loop_thread() const {
#ifndef NDEBUG
  if (!in_loop_thread()) {
    detail::log().critical("event_loop: loop-only method called from another thread");
    std::abort();
  }
#endif
}

void event_loop::quit() {
  quit_.store(true, std::memory_order_release);
  if (!in_loop_thread()) inbox_->wake();
}

void event_loop::run_in_loop(task fn) {
  if (in_loop_thread()) {
    fn();
  } else {
    queue_in_loop(std::move(fn));
  }
}

void event_loop::queue_in_loop(task fn) {
  inbox_->post(std::move(fn));
}

size_t event_loop::run_tasks() {
  // Bounded batches: tasks queued while these run wait for the next pass, so
  // a producer that never stops cannot starve IO.
  task batch[task_batch];
  size_t total = 0;
  size_t n = inbox_->try_dequeue_bulk(batch, task_batch);
  for (size_t i = 0; i < n; ++i) {
    guarded_call(batch[i], "task");
    batch[i] = nullptr;
  }
  total += n;
  return total;
}

void event_loop::defer(task fn) {
  assert_in_loop_thread();
  deferred_.push_back(std::move(fn));
}

size_t event_loop::run_deferred() {
  if (deferred_.empty()) return 0;
  // Swapped out first: what these defer again runs in the next pass.
  std::vector<task> batch;
  batch.swap(deferred_);
  size_t n = batch.size();
  for (auto& fn : batch)
    guarded_call(fn, "deferred task");
  batch.clear();
  if (deferred_.empty()) deferred_.swap(batch);  // keep the capacity
  return n;
}

timer_id event_loop::add_timer(clock::duration delay, clock::duration interval, task fn) {
  timer_id id{next_timer_.fetch_add(1, std::memory_order_relaxed)};
  auto when = clock::now() + delay;
  run_in_loop([this, id, when, interval, fn = std::move(fn)]() mutable {
    timers_.schedule(id, when, interval,
                     [fn = std::move(fn)]() mutable { guarded_call(fn, "timer"); });
  });
  return id;
}

timer_id event_loop::run_after(clock::duration delay, task fn) {
  return add_timer(delay, clock::duration::zero(), std::move(fn));
}

timer_id event_loop::run_every(clock::duration interval, task fn) {
  if (interval <= clock::duration::zero()) interval = std::chrono::milliseconds(1);
  return add_timer(interval, interval, std::move(fn));
}

void event_loop::cancel(timer_id id) {
  run_in_loop([this, id] { timers_.cancel(id); });
}

void event_loop::watch(int fd, uint32_t events, io_handler* h) {
  assert_in_loop_thread();
  poller_->watch(fd, events, h);
}

void event_loop::modify(int fd, uint32_t events, io_handler* h) {
  assert_in_loop_thread();
  poller_->modify(fd, events, h);
}

void event_loop::unwatch(int fd) {
  assert_in_loop_thread();
  poller_->unwatch(fd);
}

int event_loop::poll_timeout_ms() {
  auto next = timers_.next_deadline();
  if (!next) return -1;
  auto now = clock::now();
  if (*next <= now) return 0;
  // Round up: waking a little late is fine, waking early spins.
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(*next - now).count();
  return static_cast<int>(std::min<long long>(ms, 60'000));
}

void event_loop::run() {
  poller_->enter_thread();
  const auto* outer = inbox_->enter();
  while (!quit_.load(std::memory_order_acquire)) {
    int timeout = poll_timeout_ms();
    inbox_->set_polling(true);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (inbox_->size_approx() > 0 || !deferred_.empty() || quit_.load(std::memory_order_acquire))
      timeout = 0;
    int n = poller_->wait(timeout);
    const auto woke = clock::now();
    inbox_->set_polling(false);
    bump(iterations_, 1);
    if (n < 0 && errno != EINTR) {
      detail::log().error("event_loop: waiting for events: {}", std::strerror(errno));
      continue;
    }
    poller_->dispatch();
    const size_t fired = timers_.run_expired(clock::now());
    const size_t ran = run_tasks() + run_deferred();
    if (fired > 0) bump(timers_fired_, fired);
    if (ran > 0) bump(tasks_run_, ran);
    bump(busy_ns_,
         static_cast<uint64_t>(
             std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now() - woke).count()));
  }
  // Run what is still queued (sends before a stop, deferred destructions)
  // so nothing accepted before quit() is silently dropped.
  while (run_tasks() + run_deferred() > 0) {
  }
  poller_->flush();  // what those did (cancels of closed connections) reaches the kernel
  inbox_->leave(outer);
}

}  // namespace fastnet
