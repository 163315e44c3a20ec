// fastnet — the callback interface of the reactor API (the seed's Handler).
#pragma once

#include <cstddef>
#include <memory>
#include <span>

#include "fastnet/close_reason.hpp"
#include "fastnet/socket_address.hpp"

namespace fastnet {

class connection;
/// How handlers (and actors' handles) hold a connection. Holding one keeps
/// the object alive, not the connection open: once it is closed, sends
/// return false. Not to be used once its server has been destroyed.
using connection_ptr = std::shared_ptr<connection>;

/// Application callbacks for connections. One handler serves every
/// connection of a server, and each callback runs on the loop thread that
/// owns the connection — so with several loops, callbacks for different
/// connections run concurrently and shared state in the handler needs its
/// own synchronization. Callbacks must not block: they run the loop. A
/// callback that throws resets its connection (close_reason::handler_error);
/// the loop and the other connections go on.
class tcp_handler {
 public:
  virtual ~tcp_handler() = default;

  /// A connection is established (accepted, or connected by a client).
  virtual void on_connect(const connection_ptr&) {}

  /// One complete frame, as cut by the connection's codec. `frame` is valid
  /// only during the call; reply with conn->send(...).
  virtual void on_message(const connection_ptr& conn, std::span<const std::byte> frame) = 0;

  /// The peer finished: it closed its sending side (EOF), its protocol said
  /// it is done (a WebSocket Close frame, delivered to on_message just
  /// before), or it sent input the codec rejected (the close then reports
  /// protocol_error, and the farewell is the codec's error, such as a
  /// WebSocket Close 1002). Every frame before it has been delivered, and
  /// nothing more is read. Return true (the default) to close now: queued output goes out,
  /// then the protocol's closing reply (the WebSocket Close echo), then the
  /// FIN. Return false to keep the connection open while replies are still
  /// being made (on another thread, after asking someone else), then call
  /// close() from any thread: those replies go out before the closing reply.
  /// connection_options::peer_close_linger bounds the wait; after it the
  /// connection closes anyway. on_close then reports peer_closed.
  virtual bool on_peer_eof(const connection_ptr&) { return true; }

  /// The connection is closed; it sends and receives nothing more.
  virtual void on_close(const connection_ptr&, close_reason) {}

  /// Output that had to be buffered has now all been handed to the kernel.
  /// A send the socket takes at once does not fire it (so a handler that
  /// sends from here cannot recurse without bound); check
  /// conn->pending_output() == 0 after send() for that case.
  virtual void on_write_complete(const connection_ptr&) {}

  /// Queued output rose to the high water mark (fired once per crossing).
  virtual void on_high_water(const connection_ptr&, size_t /*queued_bytes*/) {}

  /// Queued output fell back to the low water mark after a high-water crossing.
  virtual void on_low_water(const connection_ptr&, size_t /*queued_bytes*/) {}

  /// A client gave up connecting to `addr` after its last attempt (`error` is an errno).
  virtual void on_connect_failed(const socket_address& /*addr*/, int /*error*/) {}
};

}  // namespace fastnet
