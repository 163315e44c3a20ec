// fastnet::ws — ws:// and wss:// URLs, for connecting a WebSocket client.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "fastnet/ws/client_protocol.hpp"

namespace fastnet::ws {

/// A parsed ws:// or wss:// URL (RFC 6455 section 3).
struct url {
  bool secure = false;  ///< wss://: connect over TLS (fastnet::tls), verifying `host`
  std::string host;     ///< a name or an address literal (IPv6 without brackets)
  uint16_t port = 0;    ///< the URL's, or 80 (ws) / 443 (wss)
  std::string path;     ///< path and query, "/" when the URL has none

  /// The Host header: host, with ":port" unless it is the default, and an
  /// IPv6 literal in brackets.
  std::string host_header() const;
  /// Client options for this URL: host, path; the rest at their defaults.
  client_protocol_options client_options() const;
};

/// Parses "ws://host[:port][/path][?query]" or "wss://...". Nullopt for
/// another scheme, a fragment (not allowed in WebSocket URLs), user info, an
/// empty host or a bad port. Any thread.
std::optional<url> parse_url(std::string_view text);

}  // namespace fastnet::ws
