#include "fastnet/timer_queue.hpp"

#include <algorithm>
#include <functional>

namespace fastnet {

timer_id timer_queue::schedule(timer_id id, clock::time_point when, clock::duration interval,
                               callback fn) {
  live_[id.value] = timer{when, interval, std::move(fn)};
  heap_.push_back({when, id.value});
  std::push_heap(heap_.begin(), heap_.end(), std::greater<>{});
  // Cancelled entries stay in the heap until they surface; rebuild when they
  // dominate so that churn (schedule, cancel, repeat) cannot grow it unboundedly.
  if (heap_.size() > 1024 && heap_.size() > 4 * live_.size()) compact();
  return id;
}

void timer_queue::cancel(timer_id id) {
  live_.erase(id.value);
}

void timer_queue::drop_stale_top() {
  // An entry is stale when its timer was cancelled or re-armed to another time.
  while (!heap_.empty()) {
    auto it = live_.find(heap_.front().id);
    if (it != live_.end() && it->second.when == heap_.front().when) return;
    std::pop_heap(heap_.begin(), heap_.end(), std::greater<>{});
    heap_.pop_back();
  }
}

void timer_queue::compact() {
  std::erase_if(heap_, [this](const entry& e) {
    auto it = live_.find(e.id);
    return it == live_.end() || it->second.when != e.when;
  });
  std::make_heap(heap_.begin(), heap_.end(), std::greater<>{});
}

std::optional<clock::time_point> timer_queue::next_deadline() {
  drop_stale_top();
  if (heap_.empty()) return std::nullopt;
  return heap_.front().when;
}

size_t timer_queue::run_expired(clock::time_point now) {
  size_t ran = 0;
  for (;;) {
    drop_stale_top();
    if (heap_.empty() || heap_.front().when > now) break;
    uint64_t id = heap_.front().id;
    std::pop_heap(heap_.begin(), heap_.end(), std::greater<>{});
    heap_.pop_back();
    auto it = live_.find(id);
    callback fn;
    if (it->second.interval > clock::duration::zero()) {
      // Re-arm before running so the callback may cancel its own timer.
      // Keep the cadence; after a stall skip the missed runs instead of
      // firing a burst to catch up.
      auto next = it->second.when + it->second.interval;
      if (next <= now) next = now + it->second.interval;
      it->second.when = next;
      heap_.push_back({next, id});
      std::push_heap(heap_.begin(), heap_.end(), std::greater<>{});
      fn = it->second.fn;  // copy: the callback may cancel (erase) its own entry
    } else {
      fn = std::move(it->second.fn);
      live_.erase(it);
    }
    ++ran;
    fn();
  }
  return ran;
}

}  // namespace fastnet
