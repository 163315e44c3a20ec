// fastnet::actors — an outbound connection as an actor that outlives reconnects.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/behavior.hpp>
#include <caf/event_based_actor.hpp>

#include <fastnet/actors/messages.hpp>
#include <fastnet/actors/stats.hpp>
#include <fastnet/event_loop.hpp>
#include <fastnet/tcp_client.hpp>

namespace fastnet::actors {

/// Options of an outbound connection actor; every field has a default.
struct client_options {
  /// Address, codec, connect timeout and back-off of the connection
  /// underneath. `reconnect` is forced on and `max_attempts` 0 (retry
  /// forever, with the back-off capped at retry_max): the actor lives on.
  fastnet::tcp_client_options net;
  /// Frames sent while disconnected wait in the actor, up to this many bytes,
  /// and go out in order on the next connect; past it send() returns false.
  size_t max_pending_bytes = 1 << 20;
  /// Frames handed to the actor and not yet handled: when this or
  /// max_inbound_bytes is used up the loop stops reading from the socket
  /// until the actor is down to half of both (as the server does).
  size_t max_inbound_frames = 1024;
  /// The bytes of those frames; see max_inbound_frames.
  size_t max_inbound_bytes = 4 << 20;
};

/// What the client actor's behavior uses to send. It lives in the actor's
/// state: call it only from inside that actor (other actors send the actor
/// messages, and its behavior sends). Copies share the same state.
class client_handle {
 public:
  struct state;
  /// Made by the client for its behavior (the state is internal).
  explicit client_handle(std::shared_ptr<state> s) : s_(std::move(s)) {}

  /// Sends one frame now when connected, otherwise keeps it (in order) for
  /// the next connect. False when the pending bound is reached.
  bool send(std::string frame) const;
  /// True while a connection is up.
  bool connected() const;
  /// Bytes kept for the next connect.
  size_t pending_bytes() const;
  /// Closes the current connection gracefully, after what was sent: for an
  /// actor that handles peer_closed and answers after a round trip. The
  /// client connects again with back-off.
  void close() const;

 private:
  std::shared_ptr<state> s_;
};

/// Builds the client actor's behavior. It receives connected (each time a
/// connection comes up), received (frames), write_blocked / write_resumed,
/// peer_closed (the server finished sending; unhandled, the connection
/// closes at once) and closed (each time one goes down: the actor does not quit, the client
/// reconnects with back-off).
using client_behavior =
    std::function<caf::behavior(caf::event_based_actor* self, client_handle out)>;

/// One outbound connection driven by an actor: connects to `opts.net.address`
/// on `loop`, reconnects with back-off whenever the connection drops, and
/// buffers nothing without bound while disconnected. The actor exits when
/// the client is destroyed; when the actor quits first, its connection
/// closes and the client stops reconnecting.
/// Thread safety: construct and destroy from a thread that is not `loop`'s;
/// actor(), stats() and reactor() from any thread.
class client {
 public:
  /// `sys` and `loop` (running on its own thread) must outlive the client.
  client(caf::actor_system& sys, event_loop& loop, client_options opts, client_behavior behavior);
  /// Makes the actor exit and closes the connection at once, as
  /// ~tcp_client does; waits for the loop, so never on `loop`'s thread.
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  /// The client's actor (send it your own messages). Any thread.
  const caf::actor& actor() const;

  /// What the client's loop and actor have done with frames so far, over
  /// every connection made (the actor always runs on CAF's workers). Any
  /// thread.
  actor_stats stats() const;

  /// The reactor client underneath (its connection stats()). Any thread.
  const fastnet::tcp_client& reactor() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace fastnet::actors
