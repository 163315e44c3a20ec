// fastnet — the counters one owner's connections keep (internal).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <span>

#include "fastnet/layer_events.hpp"
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

  /// The name of the codec or protocol the owner's connections speak, for
  /// the traffic counters' label: the first one set wins (a static string).
  /// Loop thread only.
  void set_layer_name(const char* name) {
    if (layer_name_.load(std::memory_order_relaxed) == nullptr)
      layer_name_.store(name, std::memory_order_release);
  }

  /// The tally for layers named `layer` that count the events of `table`,
  /// made on first use. An owner counts at most max_tallies distinct tables
  /// (a protocol and a transport, usually); past that, null: the events
  /// are not counted. Loop thread only.
  event_tally* tally_for(std::span<const layer_event> table, const char* layer) {
    if (table.empty()) return nullptr;
    for (size_t i = 0; i < max_tallies; ++i) {
      if (!tallies_[i]) {
        tallies_[i] = std::make_unique<event_tally>(table, layer);
        published_[i].store(tallies_[i].get(), std::memory_order_release);
        return tallies_[i].get();
      }
      if (tallies_[i]->table().data() == table.data()) return tallies_[i].get();
    }
    return nullptr;
  }

  /// The values now. Any thread.
  connection_stats snapshot() const {
    connection_stats s;
    if (const char* n = layer_name_.load(std::memory_order_acquire)) s.protocol = n;
    for (const auto& p : published_) {
      const event_tally* t = p.load(std::memory_order_acquire);
      if (t == nullptr) break;
      for (size_t i = 0; i < t->table().size(); ++i)
        s.layer_events.push_back({t->table()[i], t->count(i)});
      if (auto h = t->handshakes(); h.seconds.count() > 0) s.handshakes.push_back(std::move(h));
    }
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

  static constexpr size_t max_tallies = 4;
  std::array<std::unique_ptr<event_tally>, max_tallies> tallies_;  // loop thread
  std::array<std::atomic<const event_tally*>, max_tallies> published_{};
  std::atomic<const char*> layer_name_{nullptr};
};

}  // namespace fastnet::detail
