// fastnet::actors — a server that gives every connection its own actor.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>

#include <caf/actor_system.hpp>
#include <caf/behavior.hpp>
#include <caf/event_based_actor.hpp>

#include <fastnet/actors/connection_handle.hpp>
#include <fastnet/actors/messages.hpp>
#include <fastnet/actors/stats.hpp>
#include <fastnet/tcp_server.hpp>

namespace fastnet::actors {

/// What happens when a connection's output passes the high water mark.
enum class output_policy {
  notify,         ///< tell the actor (write_blocked) and go on; the output cap still holds
  pause_reading,  ///< tell the actor and stop reading from that peer until output drains
  disconnect,     ///< reset the connection (close_reason::output_overflow)
};

/// Everything the actor server can be told; every field has a documented default.
struct server_options {
  /// The reactor underneath: address, loops, codec, limits, water marks.
  fastnet::tcp_server_options net;
  /// Inbound budget per connection: frames handed to the actor and not yet
  /// handled. When this or max_inbound_bytes is used up the loop stops
  /// reading that socket (the peer backs up into its kernel buffers) and
  /// resumes once the actor is down to half of both.
  size_t max_inbound_frames = 1024;
  /// The bytes of those frames; see max_inbound_frames.
  size_t max_inbound_bytes = 4 << 20;
  /// See output_policy; default pause_reading.
  output_policy output = output_policy::pause_reading;
  /// The actor quits right after handling `closed` (set false to keep it alive).
  bool quit_on_close = true;
  /// true: when its connection has news (frames, closed, ...) for an actor
  /// that is waiting for messages, the actor runs right there on the loop
  /// thread, after the loop's current events, and its replies are written
  /// without a thread hand-off; messages from other actors still run it on
  /// CAF workers. A turn on the loop is bounded by CAF's max-throughput, the
  /// rest goes to a worker. Set false for connection actors that compute for
  /// long or block: they would hold up every connection of their loop.
  bool run_on_loops = true;
};

/// Builds the behavior of one connection's actor. Runs inside the new
/// actor (`self`), like a CAF function-based actor; the handle stays valid
/// for the actor's life.
using connection_behavior =
    std::function<caf::behavior(caf::event_based_actor* self, connection_handle conn)>;

/// Listens, and spawns one actor per accepted connection. The epoll loops
/// do IO and framing; complete frames go through a per-connection
/// lock-free queue to the actor, woken by one message per batch; replies go
/// back through the handle to the loop's write path.
///
/// The connection closes when its actor terminates (quit, exception,
/// killed); when the connection closes the actor gets `closed` and by
/// default quits. stop() closes every connection, so every connection
/// actor exits and `actor_system` shutdown does not hang.
///
/// What it does is counted (stats(): frames handed to actors, handled,
/// pending, wakes, runs on the loop and on workers, how long frames wait),
/// cheaply enough to stay on. With a /metrics endpoint
/// (net.metrics.address) the endpoint exports the actors' families
/// (fastnet/actors/metrics.hpp) beside the reactor's; do not also watch()
/// this server in the registry given to it.
///
/// Connection actors must not replace the default handler
/// (set_default_handler) nor match every message with a catch-all handler:
/// fastnet's batched delivery runs through the default handler.
///
/// Thread safety: spawn_per_connection before start(); start() and run()
/// from a controlling thread, stop() from it or (while run() serves) from
/// any thread but a loop's; the rest from any thread.
class server {
 public:
  /// `sys` must outlive the server.
  server(caf::actor_system& sys, server_options opts);
  /// Stops the server as stop() does.
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// Sets the behavior of connection actors. Call before start().
  void spawn_per_connection(connection_behavior behavior);

  /// Binds and starts accepting; throws std::system_error when it cannot bind.
  void start();

  /// start(), then serves until stop() is called from another thread (not
  /// a loop thread: connection actors run there), and returns once the
  /// server has stopped; as tcp_server::run(), except that the loops keep
  /// threads of their own (CAF has its own threads anyway). Signals are the
  /// caller's: the examples block SIGINT/SIGTERM and sigwait() for them.
  void run();

  /// Stops accepting, closes every connection (flushing what is queued),
  /// and lets every connection actor exit. Idempotent.
  void stop();

  /// The bound address (real port when 0 was asked for). Empty (port 0) until
  /// start() has bound, also while it runs on another thread. Any thread.
  socket_address local_address() const;
  /// Open connections right now.
  size_t connection_count() const;
  /// The reactor server underneath (timers, loops, its stats()).
  fastnet::tcp_server& reactor();
  /// The reactor server underneath, read-only (its stats()).
  const fastnet::tcp_server& reactor() const;

  /// What the connection actors of each loop have done so far (see
  /// actor_stats); zeros before start(). Any thread.
  server_actor_stats stats() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace fastnet::actors
