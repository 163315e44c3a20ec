// fastnet — the timers of one event loop.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <unordered_map>
#include <vector>

namespace fastnet {

/// The clock of fastnet's timers and deadlines: monotonic, so changes of
/// the wall clock neither fire nor delay them.
using clock = std::chrono::steady_clock;

/// Identifies a scheduled timer for cancel(). 0 is never a valid id.
struct timer_id {
  uint64_t value = 0;  ///< the number the loop gave the timer; 0: none
  /// True for an id of a scheduled timer (non-zero), fired or not.
  explicit operator bool() const { return value != 0; }
  /// The same timer.
  friend bool operator==(timer_id, timer_id) = default;
};

/// Timers of one loop: a binary min-heap of deadlines plus a table of live
/// timers, so schedule is O(log n), cancel is O(1) (the heap entry is dropped
/// lazily when it surfaces) and the next deadline is O(1). Scales to one timer
/// per connection: idle timeouts re-arm lazily from a last-activity stamp
/// rather than rescheduling on every byte (see connection).
/// Thread safety: none; owned and used by its loop thread only.
class timer_queue {
 public:
  /// What a timer runs, on the loop thread.
  using callback = std::function<void()>;

  /// Schedules `fn` at `when`, repeating every `interval` if it is non-zero.
  timer_id schedule(timer_id id, clock::time_point when, clock::duration interval, callback fn);

  /// Cancels a pending timer; cancelling an unknown, fired or already cancelled
  /// id is a no-op. Safe to call from inside a timer callback (also its own).
  void cancel(timer_id id);

  /// Runs every timer due at `now`, rescheduling repeating ones. Returns how many ran.
  size_t run_expired(clock::time_point now);

  /// The earliest live deadline, if any.
  std::optional<clock::time_point> next_deadline();

  /// Live (scheduled, not cancelled) timers.
  size_t size() const { return live_.size(); }

 private:
  struct entry {
    clock::time_point when;
    uint64_t id;
    bool operator>(const entry& o) const { return when > o.when; }
  };
  struct timer {
    clock::time_point when;
    clock::duration interval;
    callback fn;
  };
  void drop_stale_top();
  void compact();

  std::vector<entry> heap_;  // min-heap via std::push_heap with greater<>
  std::unordered_map<uint64_t, timer> live_;
};

}  // namespace fastnet
