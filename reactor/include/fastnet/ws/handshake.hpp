// fastnet::ws — the HTTP/1.1 opening handshake: request parsing, the accept key.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fastnet::ws {

/// An HTTP/1.1 request head, parsed strictly and bounded by its caller.
/// Header names are kept as received; look them up with header().
struct request {
  std::string method;  ///< as received ("GET")
  std::string target;  ///< as received: path and query
  std::string path;    ///< target up to '?'
  /// (name, value) pairs in the order received.
  std::vector<std::pair<std::string, std::string>> headers;

  /// The first header named `name` (case-insensitive), or nullopt.
  std::optional<std::string_view> header(std::string_view name) const;
  /// True when the comma-separated header `name` lists `token` (case-insensitive).
  bool header_has_token(std::string_view name, std::string_view token) const;
  /// Origin header, empty when absent (browsers always send it).
  std::string_view origin() const { return header("Origin").value_or(""); }
};

/// Parses a request head (request line and headers, up to and including the
/// blank line). nullopt when it is not well-formed HTTP/1.1. Any thread.
std::optional<request> parse_request(std::string_view head);

/// An HTTP/1.1 response head (the client's view of the 101).
struct response {
  int status = 0;  ///< the status code (101: the upgrade was accepted)
  /// (name, value) pairs in the order received.
  std::vector<std::pair<std::string, std::string>> headers;
  /// The first header named `name` (case-insensitive), or nullopt.
  std::optional<std::string_view> header(std::string_view name) const;
  /// True when the comma-separated header `name` lists `token` (case-insensitive).
  bool header_has_token(std::string_view name, std::string_view token) const;
};

/// Parses a response head; nullopt when malformed. Any thread.
std::optional<response> parse_response(std::string_view head);

/// Sec-WebSocket-Accept for a Sec-WebSocket-Key: base64(SHA-1(key + GUID)).
/// Any thread.
std::string accept_key(std::string_view key);

/// True when `key` is what RFC 6455 requires: base64 of 16 bytes (24
/// characters). Any thread.
bool is_valid_key(std::string_view key);

/// A fresh Sec-WebSocket-Key from the system's cryptographic random source. Any thread.
std::string make_key();

}  // namespace fastnet::ws
