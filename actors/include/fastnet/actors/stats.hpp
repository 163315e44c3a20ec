// fastnet::actors — what connection actors have done so far, as plain values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include <fastnet/histogram_values.hpp>

namespace fastnet::actors {

/// What the connection actors of one owner (a server's loop, or a client)
/// and the owner's loop have done with frames. Counters only grow; frames
/// pending is the value right now. Read without stopping anything: while
/// traffic flows the values of one snapshot may be a few frames apart from
/// each other; once idle they agree exactly (handed = handled + dropped +
/// pending).
struct actor_stats {
  /// Frames the loop cut from input and queued for the connection's actor.
  uint64_t frames_handed = 0;
  /// Frames an actor has begun to handle (delivered to its behavior as
  /// `received` or `message`). One observation of frame_wait each.
  uint64_t frames_handled = 0;
  /// Frames handed to an actor that ended (quit, failed) before handling them.
  uint64_t frames_dropped = 0;
  /// Frames handed and waiting for their actor right now: handed minus
  /// handled minus dropped. The inbound budget (server_options) bounds it
  /// per connection.
  uint64_t frames_pending = 0;
  /// Wake messages the loop sent actors for frames: one per batch (frames
  /// that arrive before the actor starts draining ride along), so
  /// frames_handed / wakes is the batching factor.
  uint64_t wakes = 0;
  /// Actor runs (turns, CAF resumes, for any message) on the connection's
  /// own loop thread (server_options::run_on_loops).
  uint64_t runs_on_loop = 0;
  /// Actor runs on CAF's workers.
  uint64_t runs_on_worker = 0;
  /// Seconds from a frame's arrival (the loop iteration that read it) to
  /// the moment its actor began to handle it: buckets 1, 2, 5 per decade
  /// from 1 µs to 10 s.
  histogram_values frame_wait;

  /// Adds `o` into this (for sums over loops).
  actor_stats& operator+=(const actor_stats& o);
};

/// A server's connection actors, per loop of the server (index as in
/// server::reactor().loops() and fastnet::server_stats::loops).
struct server_actor_stats {
  /// One entry per loop, in loop order.
  std::vector<actor_stats> loops;

  /// Every loop's, summed.
  actor_stats total() const;
};

}  // namespace fastnet::actors
