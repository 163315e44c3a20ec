// load_client's target address and its loopback-only policy.
#include "loopback.hpp"

#include <cstring>

namespace load_client {

std::optional<target> resolve_loopback(std::string host, uint16_t port, std::string& error) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  target t;
  t.address = host;
  in_addr v4{};
  in6_addr v6{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) {
    if ((ntohl(v4.s_addr) >> 24) != 127) {
      error =
          "refusing to target " + host + ": load_client only targets loopback (127.0.0.0/8 or ::1)";
      return std::nullopt;
    }
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr = v4;
    std::memcpy(&t.addr, &sa, sizeof sa);
    t.addr_len = sizeof sa;
    t.family = AF_INET;
    t.display = host + ":" + std::to_string(port);
    return t;
  }
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
    if (!IN6_IS_ADDR_LOOPBACK(&v6)) {
      error =
          "refusing to target " + host + ": load_client only targets loopback (127.0.0.0/8 or ::1)";
      return std::nullopt;
    }
    sockaddr_in6 sa{};
    sa.sin6_family = AF_INET6;
    sa.sin6_port = htons(port);
    sa.sin6_addr = v6;
    std::memcpy(&t.addr, &sa, sizeof sa);
    t.addr_len = sizeof sa;
    t.family = AF_INET6;
    t.display = "[" + host + "]:" + std::to_string(port);
    return t;
  }
  error = "--host '" + host + "' is not an IPv4 or IPv6 address literal (no name lookup)";
  return std::nullopt;
}

}  // namespace load_client
