#include "fastnet/socket_address.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <charconv>
#include <cstring>
#include <memory>

namespace fastnet {

socket_address::socket_address(const sockaddr* sa, socklen_t len) {
  len = std::min<socklen_t>(len, sizeof(storage_));
  std::memcpy(&storage_, sa, len);
  len_ = len;
}

std::optional<socket_address> socket_address::ip(std::string_view host, uint16_t port) {
  socket_address a;
  std::string h(host);
  sockaddr_in v4{};
  if (inet_pton(AF_INET, h.c_str(), &v4.sin_addr) == 1) {
    v4.sin_family = AF_INET;
    v4.sin_port = htons(port);
    std::memcpy(&a.storage_, &v4, sizeof v4);
    a.len_ = sizeof v4;
    return a;
  }
  sockaddr_in6 v6{};
  if (inet_pton(AF_INET6, h.c_str(), &v6.sin6_addr) == 1) {
    v6.sin6_family = AF_INET6;
    v6.sin6_port = htons(port);
    std::memcpy(&a.storage_, &v6, sizeof v6);
    a.len_ = sizeof v6;
    return a;
  }
  return std::nullopt;
}

std::optional<socket_address> socket_address::resolve(std::string_view host, uint16_t port) {
  if (auto literal = ip(host, port)) return literal;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string name(host);
  if (getaddrinfo(name.c_str(), nullptr, &hints, &found) != 0 || found == nullptr)
    return std::nullopt;
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> owned(found, freeaddrinfo);
  socket_address a(found->ai_addr, found->ai_addrlen);
  if (a.family() == AF_INET)
    reinterpret_cast<sockaddr_in*>(&a.storage_)->sin_port = htons(port);
  else if (a.family() == AF_INET6)
    reinterpret_cast<sockaddr_in6*>(&a.storage_)->sin6_port = htons(port);
  else
    return std::nullopt;
  return a;
}

std::optional<socket_address> socket_address::unix_path(std::string_view path) {
  sockaddr_un un{};
  if (path.empty() || path.size() >= sizeof(un.sun_path)) return std::nullopt;
  un.sun_family = AF_UNIX;
  std::memcpy(un.sun_path, path.data(), path.size());
  socket_address a;
  std::memcpy(&a.storage_, &un, sizeof un);
  a.len_ = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
  return a;
}

std::optional<socket_address> socket_address::parse(std::string_view text) {
  if (text.starts_with("unix:")) return unix_path(text.substr(5));
  if (text.starts_with("/")) return unix_path(text);
  std::string_view host;
  std::string_view port;
  if (text.starts_with("[")) {
    auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return std::nullopt;
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return std::nullopt;  // bare IPv6 needs []
    if (host.empty()) host = "0.0.0.0";
  }
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || value > 65535)
    return std::nullopt;
  return ip(host, static_cast<uint16_t>(value));
}

uint16_t socket_address::port() const {
  if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
  if (family() == AF_INET6)
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
  return 0;
}

namespace {

// Writes the dotted quad of an IPv4 address at `out` (room for 15 chars);
// returns the end. inet_ntop formats through sprintf, and the peer of every
// accepted connection is formatted once in actor mode (the connected
// message carries it): this is a tenth of the cost.
char* format_ipv4(const sockaddr_in& sin, char* out) {
  const auto* octets = reinterpret_cast<const unsigned char*>(&sin.sin_addr);
  for (int i = 0; i < 4; ++i) {
    if (i > 0) *out++ = '.';
    out = std::to_chars(out, out + 3, octets[i]).ptr;
  }
  return out;
}

}  // namespace

std::string socket_address::host() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (family() == AF_INET) {
    return std::string(buf, format_ipv4(*reinterpret_cast<const sockaddr_in*>(&storage_), buf));
  }
  if (family() == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr, buf,
              sizeof buf);
    return buf;
  }
  if (family() == AF_UNIX) {
    const auto* un = reinterpret_cast<const sockaddr_un*>(&storage_);
    auto max = len_ > offsetof(sockaddr_un, sun_path) ? len_ - offsetof(sockaddr_un, sun_path) : 0;
    return std::string(un->sun_path, strnlen(un->sun_path, max));
  }
  return {};
}

std::string socket_address::to_string() const {
  switch (family()) {
    case AF_INET: {
      char buf[22];  // "255.255.255.255:65535"
      char* end = format_ipv4(*reinterpret_cast<const sockaddr_in*>(&storage_), buf);
      *end++ = ':';
      end = std::to_chars(end, buf + sizeof buf, port()).ptr;
      return std::string(buf, end);
    }
    case AF_INET6: {
      std::string out(1, '[');
      out.append(host()).append("]:").append(std::to_string(port()));
      return out;
    }
    case AF_UNIX: {
      std::string out("unix:");
      out.append(host());
      return out;
    }
    default:
      return "(unspecified)";
  }
}

bool operator==(const socket_address& a, const socket_address& b) {
  if (a.family() != b.family()) return false;
  switch (a.family()) {
    case AF_INET:
    case AF_INET6:
      return a.port() == b.port() && a.host() == b.host();
    case AF_UNIX:
      return a.host() == b.host();
    default:
      return true;
  }
}

}  // namespace fastnet
