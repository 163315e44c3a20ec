// fastnet — the transport layer: moves bytes between a socket and a
// connection's buffers (plain TCP, or TLS from fastnet::tls).
#pragma once

#include <sys/types.h>
#include <sys/uio.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "fastnet/layer_events.hpp"

namespace fastnet {

/// The lowest layer of a connection: reads what the peer sent into the
/// connection's buffers and writes the connection's output to the socket.
/// The framing codec, protocol and handler above it see application bytes
/// only, so a transport that encrypts (TLS) or one driven by completions
/// slots in here without them noticing.
///
/// Results follow the system calls: bytes moved, 0 for the peer's end of
/// the stream on read, -1 with errno set: EAGAIN (try again when the socket
/// is ready), ECONNRESET (the peer dropped the connection), EPROTO (the
/// transport's protocol failed; failure() says why), or the system call's
/// own error.
///
/// A transport with a handshake is not ready() at first: the connection
/// then only reads (and writes while wants_write()), and starts its
/// protocol and calls on_connect once ready() turns true.
/// Thread safety: the owning connection's loop thread only.
class transport : public counts_events {
 public:
  virtual ~transport() = default;
  /// The transport takes over socket `fd`: when the connection starts, or
  /// when connection::upgrade_transport() switches to it on a live
  /// connection. `already_read` is input the connection read from the
  /// socket and did not use (a peer's ClientHello sent right behind its
  /// STARTTLS): the transport reads it before the socket. A client sends
  /// its hello here. Default: nothing.
  virtual void start(int fd, std::span<const std::byte> already_read) {
    (void)fd;
    (void)already_read;
  }
  /// Reads into `count` buffers, filling them in order.
  virtual ssize_t read(int fd, const iovec* iov, int count) = 0;
  /// Writes `count` buffers in order; may write part of them. A call with
  /// no buffers moves only the transport's own bytes (a handshake).
  virtual ssize_t write(int fd, const iovec* iov, size_t count) = 0;
  /// Ends our sending side once everything written has been taken (TLS:
  /// close_notify, then the FIN).
  virtual void shutdown_write(int fd) = 0;
  /// True once application bytes can flow (after a handshake). Default: true.
  virtual bool ready() const { return true; }
  /// True while the transport has bytes of its own to send and waits for
  /// the socket to take them. Default: false.
  virtual bool wants_write() const { return false; }
  /// True while bytes already taken from the socket wait inside the
  /// transport for a read (they would not wake the loop). Default: false.
  virtual bool has_buffered_input() const { return false; }
  /// How long the peer has to complete the handshake; 0 = no deadline.
  virtual std::chrono::milliseconds handshake_timeout() const { return {}; }
  /// Why the last call failed with EPROTO, for the log. Default: empty.
  virtual std::string failure() const { return {}; }
  /// Short name for logs ("tcp", "tls").
  virtual const char* name() const = 0;
};

/// Makes one transport per connection. Called on the connection's loop
/// thread. An empty factory means plain TCP (one shared, stateless object).
using transport_factory = std::function<std::unique_ptr<transport>()>;

}  // namespace fastnet
