// fastnet — RAII socket descriptor and the socket calls fastnet makes.
#pragma once

#include <chrono>
#include <optional>
#include <system_error>
#include <utility>

#include "fastnet/socket_address.hpp"

namespace fastnet {

/// Owns one file descriptor and closes it on destruction.
/// Thread safety: not synchronized; owned by one thread at a time.
class unique_fd {
 public:
  /// Owns nothing.
  unique_fd() = default;
  /// Takes ownership of `fd` (-1: nothing).
  explicit unique_fd(int fd) : fd_(fd) {}
  /// Takes `other`'s descriptor; `other` owns nothing afterwards.
  unique_fd(unique_fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  /// Closes the descriptor owned (if any) and takes `other`'s.
  unique_fd& operator=(unique_fd&& other) noexcept;
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;
  ~unique_fd() { reset(); }

  /// The descriptor, still owned; -1 when none.
  int get() const { return fd_; }
  /// True while a descriptor is owned.
  explicit operator bool() const { return fd_ >= 0; }
  /// Gives up ownership without closing.
  int release() { return std::exchange(fd_, -1); }
  /// Closes the current descriptor (if any) and takes `fd`.
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

/// Per-socket options applied by servers and clients. Defaults are documented
/// per field; unset optionals leave the kernel default. A server sets them on
/// its listeners only: Linux copies them into every socket it accepts.
struct socket_options {
  bool tcp_nodelay = true;         ///< disable Nagle: small messages go out at once
  bool keepalive = false;          ///< SO_KEEPALIVE with the kernel's timings
  bool reuse_addr = true;          ///< SO_REUSEADDR on listeners (restart without TIME_WAIT wait)
  bool reuse_port = false;         ///< SO_REUSEPORT on listeners (several listeners share a port)
  std::optional<int> recv_buffer;  ///< SO_RCVBUF bytes
  std::optional<int> send_buffer;  ///< SO_SNDBUF bytes
};

namespace sockets {

/// A non-blocking, close-on-exec stream socket for `family`; throws std::system_error.
unique_fd create_stream(int family);

/// Applies the per-connection options (nodelay, keepalive, buffers) to `fd`.
/// TCP-only options are skipped for Unix domain sockets.
void apply(int fd, int family, const socket_options& opts);

/// Creates, configures, binds and listens. Throws std::system_error with the address
/// in the message on failure. A Unix path that exists as a stale socket is replaced.
unique_fd listen(const socket_address& addr, const socket_options& opts, int backlog = 4096);

/// The address a socket is bound to (getsockname).
socket_address local_address(int fd);
/// The address of the peer (getpeername); empty when not connected.
socket_address peer_address(int fd);

/// The pending error on a socket (SO_ERROR), 0 when none.
int pending_error(int fd);

/// Makes the next close() send RST instead of FIN (SO_LINGER {1, 0}).
void set_linger_zero(int fd);

}  // namespace sockets
}  // namespace fastnet
