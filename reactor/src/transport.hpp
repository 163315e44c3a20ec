// fastnet — the transport layer: moves bytes between a socket and a connection.
#pragma once

#include <sys/types.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstddef>

namespace fastnet::detail {

/// The lowest layer of a connection: reads what the peer sent into the
/// connection's buffers and writes the connection's output to the socket.
/// The connection's framing codec, protocol and handler sit above it and
/// see application bytes only, so a transport that encrypts (TLS) or one
/// driven by completions (io_uring) slots in here without them noticing.
/// Results follow the system calls: bytes moved, 0 for the peer's EOF on
/// read, -1 with errno set (EAGAIN: try again when the socket is ready).
/// Thread safety: the owning connection's loop thread only.
class transport {
 public:
  virtual ~transport() = default;
  /// Reads into `count` buffers, filling them in order.
  virtual ssize_t read(int fd, const iovec* iov, int count) = 0;
  /// Writes `count` buffers in order; may write part of them.
  virtual ssize_t write(int fd, const iovec* iov, size_t count) = 0;
  /// Ends our sending side once everything written has been taken (FIN).
  virtual void shutdown_write(int fd) = 0;
  /// Short name for logs ("tcp").
  virtual const char* name() const = 0;
};

/// True for a read or write error that only means "not now" (try again
/// when the socket is ready), as opposed to a failed connection.
inline bool would_block(int err) {
  return err == EAGAIN || err == EWOULDBLOCK || err == EINTR;
}

/// Plain TCP (or a Unix domain stream): the system calls themselves. It
/// keeps no state, so every plain connection shares one.
class tcp_transport final : public transport {
 public:
  ssize_t read(int fd, const iovec* iov, int count) override;
  ssize_t write(int fd, const iovec* iov, size_t count) override;
  void shutdown_write(int fd) override;
  const char* name() const override { return "tcp"; }

  /// The shared instance. Any thread (it has no state).
  static tcp_transport& instance();
};

}  // namespace fastnet::detail
