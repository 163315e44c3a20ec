// fastnet — the callback interface of the reactor API (the seed's Handler).
#pragma once

#include <cstddef>
#include <memory>
#include <span>

#include "fastnet/socket_address.hpp"

namespace fastnet {

class connection;
using connection_ptr = std::shared_ptr<connection>;

/// Why a connection ended; passed to on_close.
enum class close_reason : unsigned char {
  peer_closed,      ///< the peer closed its side (EOF) and our output was flushed
  reset,            ///< the peer reset the connection or the socket failed
  local_close,      ///< close() or shutdown() from this side completed
  aborted,          ///< abort() from this side (RST sent)
  idle_timeout,     ///< nothing was read or written for the idle timeout
  server_stopping,  ///< the server or client is stopping
  protocol_error,   ///< the codec rejected the input
  output_overflow,  ///< queued output passed max_output_bytes (peer not reading)
  handler_error,    ///< a handler callback threw; the connection was reset
};

/// Printable name of a close reason ("peer_closed", ...).
const char* to_string(close_reason r);

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

  /// The peer closed its sending side (EOF); every frame before it has been
  /// delivered. Return true (the default) to close once queued output is
  /// flushed; false to keep the connection half-open and send more, then
  /// call close() or shutdown() yourself (on_close then reports peer_closed).
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
