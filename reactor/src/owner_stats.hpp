// fastnet — the counters one owner's connections keep (internal).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include "fastnet/stats.hpp"
#include "fastnet/timer_queue.hpp"

namespace fastnet::detail {

/// A counter one thread writes and any thread reads. The write is a relaxed
/// load and store, not a locked read-modify-write: with a single writer no
/// update is lost, and the per-message path stays free of bus locks.
class owned_counter {
 public:
  void add(uint64_t n = 1) {
    v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  /// For gauges: unsigned wrap-around makes a negative step exact.
  void adjust(int64_t d) { add(static_cast<uint64_t>(d)); }
  uint64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

/// What the connections of one owner (a server's loop, a client) count.
/// Kept by the owner, not by each connection: an idle connection carries
/// no counters, and the loop's connections share one hot cache line.
/// Thread safety: written on the owner's loop thread only; snapshot() from
/// any thread.
class owner_stats {
 public:
  owned_counter accepted;
  std::array<owned_counter, close_reason_count> closed;
  owned_counter bytes_received, bytes_sent, frames_received, frames_sent;
  owned_counter high_water_crossings;
  owned_counter output_queued;  // a gauge

  /// A connection's reading was paused (`on`) or resumed for `cause`. Time
  /// paused is the integral of the number of paused connections, so no
  /// connection keeps a timestamp of its own.
  void pause_changed(pause_cause cause, bool on) {
    auto& p = paused_[static_cast<size_t>(cause)];
    const int64_t now = now_ns();
    const uint64_t count = p.count.value();
    p.ns.add(count * static_cast<uint64_t>(now - p.since.load(std::memory_order_relaxed)));
    p.since.store(now, std::memory_order_relaxed);
    p.count.adjust(on ? 1 : -1);
  }

  /// The values now. Any thread.
  connection_stats snapshot() const {
    connection_stats s;
    s.accepted = accepted.value();
    for (size_t i = 0; i < close_reason_count; ++i)
      s.closed[i] = closed[i].value();
    s.active = s.accepted - s.closed_total();
    s.bytes_received = bytes_received.value();
    s.bytes_sent = bytes_sent.value();
    s.frames_received = frames_received.value();
    s.frames_sent = frames_sent.value();
    s.high_water_crossings = high_water_crossings.value();
    s.output_queued_bytes = output_queued.value();
    const int64_t now = now_ns();
    for (size_t i = 0; i < pause_cause_count; ++i) {
      const auto& p = paused_[i];
      const uint64_t count = p.count.value();
      const int64_t since = p.since.load(std::memory_order_relaxed);
      uint64_t ns = p.ns.value();
      if (count > 0 && now > since) ns += count * static_cast<uint64_t>(now - since);
      s.paused_seconds[i] = static_cast<double>(ns) / 1e9;
    }
    return s;
  }

 private:
  struct pause_clock {
    owned_counter ns;     // connection-nanoseconds paused, up to `since`
    owned_counter count;  // connections paused now
    std::atomic<int64_t> since{0};
  };
  static int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now().time_since_epoch())
        .count();
  }
  std::array<pause_clock, pause_cause_count> paused_;
};

}  // namespace fastnet::detail
