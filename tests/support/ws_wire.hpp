// Test support: WebSocket frames by hand, for tests that must send what no
// well-behaved client would (bad bits, bad lengths, bad UTF-8) and read the
// server's frames byte by byte.
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <string>

#include "support/test_socket.hpp"

namespace fastnet::test {

/// Options for one hand-made frame.
/// RFC 6455 opcodes as they are on the wire.
namespace wire_op {
inline constexpr uint8_t text = 1, binary = 2, close = 8, ping = 9, pong = 10;
}

struct raw_frame {
  uint8_t opcode = 1;
  std::string payload;
  bool fin = true;
  uint8_t rsv = 0;  ///< the three RSV bits, 0..7
  bool masked = true;
  std::optional<uint64_t> claimed_len;  ///< a length other than the payload's
};

/// The frame's bytes, masked with a fixed-seed key when asked.
inline std::string encode_raw(const raw_frame& f, uint32_t seed = 7) {
  std::string out;
  out.push_back(static_cast<char>((f.fin ? 0x80 : 0) | (f.rsv << 4) | f.opcode));
  uint64_t len = f.claimed_len.value_or(f.payload.size());
  char m = f.masked ? static_cast<char>(0x80) : 0;
  if (len < 126) {
    out.push_back(static_cast<char>(m | static_cast<char>(len)));
  } else if (len <= 0xFFFF) {
    out.push_back(static_cast<char>(m | 126));
    out.push_back(static_cast<char>(len >> 8));
    out.push_back(static_cast<char>(len));
  } else {
    out.push_back(static_cast<char>(m | 127));
    for (int i = 7; i >= 0; --i)
      out.push_back(static_cast<char>(len >> (8 * i)));
  }
  std::string body = f.payload;
  if (f.masked) {
    std::mt19937 rng(seed);
    char key[4];
    for (char& k : key)
      k = static_cast<char>(rng());
    out.append(key, 4);
    for (size_t i = 0; i < body.size(); ++i)
      body[i] = static_cast<char>(body[i] ^ key[i & 3]);
  }
  return out + body;
}

/// One frame as read from the server.
struct read_frame_result {
  uint8_t opcode = 0;
  bool fin = false;
  std::string payload;
};

/// Reads one unmasked frame; nullopt on EOF, reset or timeout.
inline std::optional<read_frame_result> read_server_frame(client_socket& s,
                                                          std::chrono::milliseconds t = 10s) {
  auto h = s.read_exact(2, t);
  if (!h) return std::nullopt;
  read_frame_result f;
  f.fin = (static_cast<uint8_t>((*h)[0]) & 0x80) != 0;
  f.opcode = static_cast<uint8_t>((*h)[0]) & 0x0F;
  uint64_t len = static_cast<uint8_t>((*h)[1]) & 0x7F;
  if (len >= 126) {
    auto ext = s.read_exact(len == 126 ? 2 : 8, t);
    if (!ext) return std::nullopt;
    len = 0;
    for (char c : *ext)
      len = (len << 8) | static_cast<uint8_t>(c);
  }
  auto body = s.read_exact(static_cast<size_t>(len), t);
  if (!body) return std::nullopt;
  f.payload = std::move(*body);
  return f;
}

/// The upgrade request a well-behaved client sends.
inline std::string upgrade_request(const std::string& path = "/",
                                   const std::string& extra_headers = "") {
  return "GET " + path +
         " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
         extra_headers + "\r\n";
}

/// Reads an HTTP response head (up to the blank line); empty on failure.
inline std::string read_http_head(client_socket& s) {
  std::string head;
  while (head.size() < 65536 && (head.size() < 4 || head.compare(head.size() - 4, 4, "\r\n\r\n"))) {
    auto c = s.read_exact(1);
    if (!c) return {};
    head += *c;
  }
  return head;
}

}  // namespace fastnet::test
