// Where load_client connects from and to, and its policy: loopback only
// (127.0.0.0/8 or ::1); a benchmark for servers on this machine, not a tool
// to load someone else's.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>

namespace load_client {

/// The server's address. Made by the main thread, then read by the workers.
struct target {
  sockaddr_storage addr{};
  socklen_t addr_len = 0;
  int family = AF_INET;
  std::string address;  // "127.0.0.1" or "::1"
  std::string display;  // "127.0.0.1:9000" or "[::1]:9000"
};

/// Parses an address literal and enforces the loopback-only policy: the
/// target, or nullopt with `error` set. No name lookup. Any thread.
std::optional<target> resolve_loopback(std::string host, uint16_t port, std::string& error);

/// The i-th loopback source address, 127.0.0.2 onwards (127.0.0.1 is left to
/// the server). All of 127.0.0.0/8 is routed to lo on Linux, so each is a
/// fresh (source address, port) space: more room for TIME_WAIT and idle
/// connections than the one ephemeral port range of a single address. Any
/// thread.
inline sockaddr_in loopback_source(uint32_t i) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = 0;
  sa.sin_addr.s_addr = htonl((127u << 24) | (2u + i));
  return sa;
}

}  // namespace load_client
