// fastnet — socket addresses: IPv4, IPv6 and Unix domain in one value type.
#pragma once

#include <sys/socket.h>
#include <sys/un.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fastnet {

/// A socket address (IPv4, IPv6 or Unix domain path) held by value.
/// Thread safety: a plain value; distinct objects may be used from any thread.
class socket_address {
 public:
  /// An empty (AF_UNSPEC) address.
  socket_address() = default;

  /// Builds from a raw sockaddr as returned by accept/getpeername.
  socket_address(const sockaddr* sa, socklen_t len);

  /// Parses "1.2.3.4:80", "[::1]:80", ":80" (IPv4 any), "unix:/path" or "/path".
  /// Returns nullopt on a malformed string; never resolves host names.
  static std::optional<socket_address> parse(std::string_view text);

  /// IPv4 or IPv6 literal host plus port, e.g. ip("127.0.0.1", 9000).
  static std::optional<socket_address> ip(std::string_view host, uint16_t port);

  /// `host` (a literal, or a name looked up with getaddrinfo: the first
  /// address it gives) plus port. Blocks while the name is looked up: call
  /// it before connecting, never on a loop thread. Nullopt when the name
  /// does not resolve.
  static std::optional<socket_address> resolve(std::string_view host, uint16_t port);

  /// A Unix domain socket path (at most 107 bytes).
  static std::optional<socket_address> unix_path(std::string_view path);

  /// The address family: AF_INET, AF_INET6, AF_UNIX or AF_UNSPEC.
  int family() const { return storage_.ss_family; }
  /// True for IPv4 and IPv6 addresses.
  bool is_ip() const { return family() == AF_INET || family() == AF_INET6; }

  /// Port in host byte order; 0 for Unix domain addresses.
  uint16_t port() const;

  /// Host part only: "127.0.0.1", "::1", or the Unix path.
  std::string host() const;

  /// Printable form that parse() accepts back: "127.0.0.1:80", "[::1]:80", "unix:/p".
  std::string to_string() const;

  /// The raw address for system calls that read one (bind, connect), with size().
  const sockaddr* data() const { return reinterpret_cast<const sockaddr*>(&storage_); }
  /// The raw storage for system calls that fill one in (accept,
  /// getpeername): pass capacity() as the length, then set_size() to what
  /// the call returned.
  sockaddr* data() { return reinterpret_cast<sockaddr*>(&storage_); }
  /// The raw address's length in bytes; 0 when empty.
  socklen_t size() const { return len_; }
  /// Sets the raw length after a system call filled data().
  void set_size(socklen_t len) { len_ = len; }
  /// Room for the raw address of any family (sizeof(sockaddr_storage)).
  static constexpr socklen_t capacity() { return sizeof(sockaddr_storage); }

  /// The same family and the same host and port (IP) or path (Unix
  /// domain); empty addresses are equal.
  friend bool operator==(const socket_address& a, const socket_address& b);

 private:
  sockaddr_storage storage_{};
  socklen_t len_ = 0;
};

}  // namespace fastnet
