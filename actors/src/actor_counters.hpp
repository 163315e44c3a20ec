// fastnet::actors — the counters behind actor_stats, kept per server loop
// (or per client) on the per-frame path (internal).
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>

#include <caf/ref_counted.hpp>

#include <fastnet/actors/stats.hpp>
#include <fastnet/event_loop.hpp>

#include "owner_stats.hpp"  // reactor/src: owned_counter, the loops' single-writer counter

namespace fastnet::actors::detail {

/// Upper bounds of the frame-wait histogram in nanoseconds: 1, 2 and 5 per
/// decade from 1 µs to 10 s, the bounds metrics::log_linear_buckets(1e-6,
/// 10) gives in seconds. Integers, so that bucketing a wait needs no
/// floating point.
inline constexpr std::array<int64_t, 22> frame_wait_bounds_ns{
    1'000,         2'000,         5'000,         10'000,         20'000,      50'000,
    100'000,       200'000,       500'000,       1'000'000,      2'000'000,   5'000'000,
    10'000'000,    20'000'000,    50'000'000,    100'000'000,    200'000'000, 500'000'000,
    1'000'000'000, 2'000'000'000, 5'000'000'000, 10'000'000'000,
};
inline constexpr size_t frame_wait_buckets = frame_wait_bounds_ns.size() + 1;

/// The bucket of a wait of `ns`: the first bound at or above it (the
/// format's `le`), or the last bucket above every bound.
inline size_t frame_wait_bucket(int64_t ns) {
  return static_cast<size_t>(
      std::lower_bound(frame_wait_bounds_ns.begin(), frame_wait_bounds_ns.end(), ns) -
      frame_wait_bounds_ns.begin());
}

/// Monotonic nanoseconds, comparable across threads.
inline int64_t monotonic_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

/// What the connection actors of one server loop (or one client) count.
///
/// Most of it is owned by the loop thread and written with a plain load
/// and store (owned_counter), as the reactor's own statistics are: frames
/// handed and wakes always, and the actor's side too whenever the actor
/// runs on that loop (server_options::run_on_loops, where ping-pong
/// traffic runs). An actor that runs on a CAF worker cannot write those:
/// it is not their owner, and there is no cheap way back to the loop per
/// frame. Its counts go to relaxed atomic adds in a part of their own (a
/// cache line apart, so the loop's lines are not pulled away). That path
/// has just paid a wake through CAF's scheduler (a mailbox push and a
/// worker hand-off, several atomic operations and often a futex), so one
/// uncontended relaxed add per frame is small beside it; a per-worker
/// block would need a thread-local look-up per frame and a registry of
/// workers to sum.
///
/// Shared by the loop's connection actors with CAF's intrusive count: an
/// actor may outlive its server. Thread safety: the loop part on the loop
/// thread; ran/handling with `on_loop` true only on the loop thread, false
/// from any; dropped and snapshot from any thread.
class actor_counters final : public caf::ref_counted {
 public:
  // ---- the loop thread ----

  /// The arrival time of a frame handed now. Read once per loop iteration
  /// that hands frames, not per frame: every frame of one iteration arrived
  /// when the loop woke for it (give or take the iteration's busy time,
  /// which the wait then includes). Keyed by the loop's iteration count, a
  /// relaxed load of the loop's own counter.
  int64_t arrival(const event_loop& loop) {
    const uint64_t iteration = loop.iterations();
    if (iteration != own_.stamp_iteration) {
      own_.stamp_iteration = iteration;
      own_.stamp_ns = monotonic_ns();
    }
    return own_.stamp_ns;
  }
  /// A frame was queued for an actor (before the actor can see it).
  void handed() { own_.handed.add(); }
  /// A wake was sent for a new batch of frames.
  void woke() { own_.wakes.add(); }

  // ---- the actor; `on_loop`: it runs on this loop's own thread ----

  /// The actor begins a run (a CAF resume).
  void ran(bool on_loop) {
    if (on_loop) {
      own_.runs.add();
    } else {
      shared_.runs.fetch_add(1, std::memory_order_relaxed);
    }
  }
  /// The actor begins to handle a frame that arrived at `arrived_ns`.
  void handling(int64_t arrived_ns, bool on_loop) {
    const int64_t wait = std::max<int64_t>(monotonic_ns() - arrived_ns, 0);
    const size_t bucket = frame_wait_bucket(wait);
    if (on_loop) {
      own_.handled.add();
      own_.wait_buckets[bucket].add();
      own_.wait_ns.add(static_cast<uint64_t>(wait));
    } else {
      shared_.handled.fetch_add(1, std::memory_order_relaxed);
      shared_.wait_buckets[bucket].fetch_add(1, std::memory_order_relaxed);
      shared_.wait_ns.fetch_add(static_cast<uint64_t>(wait), std::memory_order_relaxed);
    }
  }

  // ---- any thread ----

  /// `n` frames handed to an actor will never be handled: it is gone.
  void dropped(uint64_t n) { shared_.dropped.fetch_add(n, std::memory_order_relaxed); }

  /// The values now.
  actor_stats snapshot() const {
    actor_stats s;
    // Handled and dropped first, handed last: a frame is counted handed
    // before its actor can see it, so pending does not dip below zero
    // (clamped all the same: the loads are relaxed).
    s.frames_handled = own_.handled.value() + shared_.handled.load(std::memory_order_relaxed);
    s.frames_dropped = shared_.dropped.load(std::memory_order_relaxed);
    s.frames_handed = own_.handed.value();
    const uint64_t done = s.frames_handled + s.frames_dropped;
    s.frames_pending = s.frames_handed > done ? s.frames_handed - done : 0;
    s.wakes = own_.wakes.value();
    s.runs_on_loop = own_.runs.value();
    s.runs_on_worker = shared_.runs.load(std::memory_order_relaxed);
    auto& h = s.frame_wait;
    h.bounds.reserve(frame_wait_bounds_ns.size());
    for (int64_t b : frame_wait_bounds_ns)
      h.bounds.push_back(static_cast<double>(b) / 1e9);  // exact: 2000 / 1e9 is the double 2e-06
    h.counts.resize(frame_wait_buckets);
    for (size_t i = 0; i < frame_wait_buckets; ++i)
      h.counts[i] =
          own_.wait_buckets[i].value() + shared_.wait_buckets[i].load(std::memory_order_relaxed);
    h.sum = static_cast<double>(own_.wait_ns.value() +
                                shared_.wait_ns.load(std::memory_order_relaxed)) /
            1e9;
    return s;
  }

 private:
  /// Written by the loop thread alone.
  struct alignas(64) loop_owned {
    fastnet::detail::owned_counter handed, wakes, runs, handled, wait_ns;
    std::array<fastnet::detail::owned_counter, frame_wait_buckets> wait_buckets;
    // The arrival stamp of the current iteration; the loop thread only.
    uint64_t stamp_iteration = UINT64_MAX;
    int64_t stamp_ns = 0;
  };
  /// Written by actors on CAF workers (relaxed adds) and by whoever drops.
  struct alignas(64) worker_shared {
    std::atomic<uint64_t> runs{0}, handled{0}, wait_ns{0}, dropped{0};
    std::array<std::atomic<uint64_t>, frame_wait_buckets> wait_buckets{};
  };
  loop_owned own_;
  worker_shared shared_;
};

}  // namespace fastnet::actors::detail
