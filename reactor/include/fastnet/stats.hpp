// fastnet — what a server, client or loop has done so far, as plain values.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fastnet/close_reason.hpp"
#include "fastnet/layer_events.hpp"

namespace fastnet {

/// How many close_reason values there are: the size of per-reason tables.
inline constexpr size_t close_reason_count =
    static_cast<size_t>(close_reason::handshake_failed) + 1;

/// Why reading was paused, for the time spent paused.
enum class pause_cause : unsigned char {
  output,   ///< queued output passed the high water mark (the peer reads too slowly)
  inbound,  ///< a consumer (a connection actor) has its inbound budget used up
  user,     ///< pause_reading() from the application, or a protocol's hold
};
/// How many pause_cause values there are: the size of per-cause tables.
inline constexpr size_t pause_cause_count = 3;

/// Connections and traffic of one owner (a server's loop, a client), or a
/// sum of them. Counters (`*_total` in the exported names) only grow;
/// gauges (active, output_queued_bytes) are the value right now. Read
/// without stopping anything: values of one snapshot may be a few events
/// apart from each other.
struct connection_stats {
  /// Connections accepted (server) or connected (client), including those
  /// whose handshake then failed.
  uint64_t accepted = 0;
  /// Connections closed, by close_reason (index: the enum's value).
  std::array<uint64_t, close_reason_count> closed{};
  /// Open right now (handshaking included): accepted minus closed.
  uint64_t active = 0;
  /// Plaintext bytes read from sockets (after TLS decryption).
  uint64_t bytes_received = 0;
  /// Plaintext bytes written to sockets (before TLS encryption).
  uint64_t bytes_sent = 0;
  /// Frames the framing cut from input.
  uint64_t frames_received = 0;
  /// Frames sent: send() calls that were framed and queued (a protocol's
  /// own replies not included).
  uint64_t frames_sent = 0;
  /// Times a connection's queued output rose to the high water mark.
  uint64_t high_water_crossings = 0;
  /// Connection-seconds spent with reading paused, by pause_cause.
  std::array<double, pause_cause_count> paused_seconds{};
  /// Output queued in connections' buffers right now (not yet taken by the kernel).
  uint64_t output_queued_bytes = 0;
  /// The codec or protocol the connections speak ("line", "websocket", ...;
  /// the first made by the owner's factory), empty before the first
  /// connection. Labels the traffic counters.
  std::string protocol;
  /// What the layers counted of their own events (counts_events): a
  /// WebSocket's handshakes by status, messages by kind and Close codes;
  /// TLS handshakes, resumptions and failures by reason.
  std::vector<layer_event_count> layer_events;
  /// How long completed handshakes took, per layer that has them (TLS).
  std::vector<handshake_times> handshakes;

  /// The count of layer event `family` whose label has `value` (such as
  /// "fastnet_ws_handshakes_total", "101"); 0 when not counted.
  uint64_t event_count(std::string_view family, std::string_view value) const {
    uint64_t n = 0;
    for (const auto& e : layer_events)
      if (family == e.event.family && value == e.event.value) n += e.count;
    return n;
  }
  /// Closed connections over all reasons.
  uint64_t closed_total() const {
    uint64_t n = 0;
    for (uint64_t c : closed)
      n += c;
    return n;
  }
  /// Adds `o` into this (for sums over loops; events match by family,
  /// label and value; the protocol name is the first non-empty one).
  connection_stats& operator+=(const connection_stats& o);
};

/// One event loop's own work.
struct loop_stats {
  /// epoll_wait returns so far.
  uint64_t iterations = 0;
  /// Seconds spent outside epoll_wait (handling events, timers and tasks).
  double busy_seconds = 0;
  /// Tasks run: queued from other threads (queue_in_loop) and deferred.
  uint64_t tasks_run = 0;
  /// Timer callbacks fired.
  uint64_t timers_fired = 0;
  /// Tasks waiting in the loop's queue right now (approximate).
  uint64_t task_queue_depth = 0;
};

/// A server's statistics: each loop's work and connections, and what the
/// acceptor refused.
struct server_stats {
  /// One loop of the server.
  struct loop {
    loop_stats work;               ///< the loop's own work
    connection_stats connections;  ///< the connections it owns
  };
  /// Per loop, in the order of the server's loop_group.
  std::vector<loop> loops;
  /// Connections accepted and closed at once: max_connections was reached.
  uint64_t refused_at_limit = 0;
  /// accept() failures for lack of descriptors or memory (EMFILE, ENFILE,
  /// ENOBUFS, ENOMEM); accepting backs off for a moment after each.
  uint64_t accept_resource_errors = 0;

  /// The connections of every loop, summed.
  connection_stats connections() const;
};

}  // namespace fastnet
