// Test support: every built-in decoder (codecs, and the WebSocket protocols
// with their framing), ready to take input, by index. Used
// by the seeded robustness tests and by the libFuzzer targets.
#pragma once

#include <fastnet/codecs.hpp>
#include <fastnet/ws.hpp>

#include <memory>
#include <string>

#include "support/codec_sim.hpp"

namespace fastnet::test {

/// The frame limit every zoo codec is built with (ws: frame and message).
inline constexpr size_t zoo_limit = 4096;

inline const char* const zoo_names[] = {
    "raw",   "line",        "delimiter",           "fixed",     "len8",
    "len32", "len16le+hdr", "ws_server_handshake", "ws_server", "ws_client"};
inline constexpr int zoo_size = sizeof zoo_names / sizeof zoo_names[0];

/// One zoo entry: a codec, or a protocol (WebSocket) with its framing.
struct zoo_entry {
  std::unique_ptr<fastnet::codec> framing;
  std::unique_ptr<fastnet::protocol> proto;
  codec_sim sim() { return proto ? codec_sim{*proto} : codec_sim{*framing}; }
};

/// A fresh entry for zoo index `i` (0 <= i < zoo_size). The ws_server and
/// ws_client entries have completed their handshake already, so input goes
/// straight to the frame decoder.
inline zoo_entry make_zoo(int i) {
  switch (i) {
    case 0:
      return {std::make_unique<raw_codec>(zoo_limit), nullptr};
    case 1:
      return {std::make_unique<line_codec>(zoo_limit), nullptr};
    case 2:
      return {std::make_unique<delimiter_codec>("\r\n\r\n", zoo_limit), nullptr};
    case 3:
      return {std::make_unique<fixed_size_codec>(7), nullptr};
    case 4:
    case 5:
    case 6: {
      length_prefix_codec::options o;
      o.header_bytes = i == 4 ? 1 : i == 5 ? 4 : 2;
      o.order =
          i == 6 ? length_prefix_codec::byte_order::little : length_prefix_codec::byte_order::big;
      o.length_includes_header = i == 6;
      o.max_frame = zoo_limit;
      return {std::make_unique<length_prefix_codec>(o), nullptr};
    }
    case 7:
    case 8: {
      ws::server_protocol_options o;
      o.max_frame = zoo_limit;
      o.max_message = zoo_limit;
      o.max_request = zoo_limit;
      auto c = std::make_unique<ws::server_protocol>(
          std::make_shared<const ws::server_protocol_options>(o));
      if (i == 8) {
        codec_sim sim{*c};
        sim.feed(
            "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
        if (!c->handshake_done()) throw std::logic_error("zoo: server handshake failed");
      }
      return {nullptr, std::move(c)};
    }
    default: {
      ws::client_protocol_options o;
      o.max_frame = zoo_limit;
      o.max_message = zoo_limit;
      auto c = std::make_unique<ws::client_protocol>(
          std::make_shared<const ws::client_protocol_options>(o));
      std::string request = to_text(c->greeting());
      auto at = request.find("Sec-WebSocket-Key: ") + 19;
      std::string key = request.substr(at, request.find("\r\n", at) - at);
      codec_sim sim{*c};
      sim.feed(
          "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
          "Sec-WebSocket-Accept: " +
          ws::accept_key(key) + "\r\n\r\n");
      if (!c->handshake_done()) throw std::logic_error("zoo: client handshake failed");
      return {nullptr, std::move(c)};
    }
  }
}

/// The most input a connection may hold for zoo codec `i` beyond the bytes
/// of one read: the limit plus the largest header (ws: a control frame).
inline size_t zoo_buffer_bound(int i) {
  return i == 7 ? zoo_limit : zoo_limit + 16;
}

}  // namespace fastnet::test
