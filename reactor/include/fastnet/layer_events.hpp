// fastnet — what a connection's layers count of their own events (a
// WebSocket's handshakes by HTTP status, messages by kind and Close codes;
// TLS handshakes, resumptions and failures by reason, and how long its
// handshakes take), kept per owner like the connection counters and
// exported with them.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "fastnet/histogram_values.hpp"

namespace fastnet {

/// One kind of event a layer counts. It is exported as one sample of the
/// counter family `family`, told from the family's other samples by
/// `label`="`value`" (e.g. fastnet_ws_handshakes_total{status="101"}).
/// Tables of these are static: the strings must live as long as the program.
struct layer_event {
  const char* family;  ///< the counter family's name ("fastnet_ws_handshakes_total")
  const char* help;    ///< the family's HELP text
  const char* label;   ///< the label that tells the family's samples apart ("status")
  const char* value;   ///< this event's value of that label ("101")
};

/// An event and how often it happened, in a statistics snapshot.
struct layer_event_count {
  layer_event event;   ///< which event
  uint64_t count = 0;  ///< how often it happened
};

/// Upper bounds (seconds) of the handshake-time buckets: log-linear (1, 2,
/// 5 per decade) from 100 µs to 10 s; a last bucket counts the slower ones.
inline constexpr std::array<double, 16> handshake_bounds{
    1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2, 2e-2, 5e-2, 0.1, 0.2, 0.5, 1, 2, 5, 10};

/// How long one layer's completed handshakes took.
struct handshake_times {
  /// The layer ("tls").
  const char* layer = "";
  /// Seconds per handshake, in the buckets of handshake_bounds.
  histogram_values seconds;
};

/// How often each event of one layer's table happened on the connections
/// of one owner (a server's loop, a client), and how long that layer's
/// handshakes took. One per owner and table, not per connection: counting
/// is a relaxed load and store by the owner's loop thread, the only
/// writer, with no bus lock on the per-message path.
/// Thread safety: add() and observe_handshake() on the owner's loop thread;
/// the rest from any thread.
class event_tally {
 public:
  /// Counts the events of `table` (a static table, see layer_event) of the
  /// layer named `layer` (a static string: "tls", "websocket").
  event_tally(std::span<const layer_event> table, const char* layer)
      : table_(table),
        layer_(layer),
        counts_(std::make_unique<std::atomic<uint64_t>[]>(table.size())) {}

  /// One more `event` (an index into the table; others are ignored).
  void add(size_t event) {
    if (event < table_.size()) bump(counts_[event], 1);
  }
  /// A handshake that took `seconds` completed.
  void observe_handshake(double seconds);

  /// The table of events counted, as given.
  std::span<const layer_event> table() const { return table_; }
  /// The layer's name, as given.
  const char* layer() const { return layer_; }
  /// How often `event` (an index into table(), which it must be below)
  /// happened so far.
  uint64_t count(size_t event) const { return counts_[event].load(std::memory_order_relaxed); }
  /// How long the layer's completed handshakes took so far.
  handshake_times handshakes() const;

 private:
  static void bump(std::atomic<uint64_t>& c, uint64_t n) {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }

  std::span<const layer_event> table_;
  const char* layer_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;
  std::array<std::atomic<uint64_t>, handshake_bounds.size() + 1> handshake_buckets_{};
  std::atomic<uint64_t> handshake_ns_{0};
};

/// A layer (protocol, transport) that counts events of its own into its
/// owner's tally.
/// Thread safety: the connection's loop thread only.
class counts_events {
 public:
  /// The events this layer counts with count(), as a static table; the
  /// default is none.
  virtual std::span<const layer_event> events() const { return {}; }
  /// Where count() adds from now on; null counts nothing. The connection's
  /// owner sets it before the layer's first call.
  void count_into(event_tally* tally) { tally_ = tally; }
  /// One more `event` (an index into events()).
  void count(size_t event) {
    if (tally_ != nullptr) tally_->add(event);
  }
  /// A handshake of this layer completed in `seconds`.
  void count_handshake(double seconds) {
    if (tally_ != nullptr) tally_->observe_handshake(seconds);
  }

 protected:
  // Protected: a base of layers, never an object of its own.
  /// Counts nothing until count_into().
  counts_events() = default;
  /// A copy counts into the same tally.
  counts_events(const counts_events&) = default;
  /// Counts into the assigned layer's tally from then on.
  counts_events& operator=(const counts_events&) = default;
  /// Not virtual: a layer is never destroyed through this base.
  ~counts_events() = default;

 private:
  event_tally* tally_ = nullptr;
};

}  // namespace fastnet
