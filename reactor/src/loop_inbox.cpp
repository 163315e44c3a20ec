#include "loop_inbox.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace fastnet::detail {

constinit thread_local const loop_inbox* loop_inbox::running_here_ = nullptr;

loop_inbox::loop_inbox() : doorbell_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  if (!doorbell_) throw std::system_error(errno, std::generic_category(), "eventfd");
}

loop_inbox::~loop_inbox() {
  drop_queued();
}

bool loop_inbox::post(task fn) {
  queue_.enqueue(std::move(fn));
  // Pairs with the fence in event_loop::run(): either the loop sees this task
  // before it sleeps, or we see polling_ == true and ring the doorbell. The
  // same fence pairs with close(): either close() finds the task and drops
  // it, or we see closed_ and drop it ourselves.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (closed_.load(std::memory_order_relaxed)) {
    // Tasks usually hold a connection that holds this inbox: dropping them
    // here, not at the inbox's destruction, is what breaks that cycle.
    drop_queued();
    return false;
  }
  if (polling_.load(std::memory_order_relaxed)) wake();
  return true;
}

void loop_inbox::wake() {
  // One doorbell write per sleep is enough, however many producers race here.
  if (wake_pending_.exchange(true, std::memory_order_acq_rel)) return;
  uint64_t one = 1;
  ssize_t n = ::write(doorbell_.get(), &one, sizeof one);
  (void)n;  // EAGAIN means the counter is already non-zero: the loop will wake
  wakeups_.fetch_add(1, std::memory_order_relaxed);
}

void loop_inbox::drain_doorbell() {
  uint64_t value = 0;
  ssize_t n = ::read(doorbell_.get(), &value, sizeof value);
  (void)n;
  wake_pending_.store(false, std::memory_order_release);
}

void loop_inbox::close() {
  closed_.store(true, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_seq_cst);
  drop_queued();
}

void loop_inbox::drop_queued() {
  task t;
  while (queue_.try_dequeue(t))
    t = nullptr;
}

}  // namespace fastnet::detail
