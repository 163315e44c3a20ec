#include "fastnet/ws/url.hpp"

#include <charconv>

namespace fastnet::ws {

std::string url::host_header() const {
  // Appended piece by piece: GCC 12 reports a false -Wrestrict for "[" + host.
  std::string h;
  const bool v6 = host.find(':') != std::string::npos;
  if (v6) h.push_back('[');
  h.append(host);
  if (v6) h.push_back(']');
  if (port != (secure ? 443 : 80)) {
    h.push_back(':');
    h.append(std::to_string(port));
  }
  return h;
}

client_protocol_options url::client_options() const {
  client_protocol_options o;
  o.host = host_header();
  o.path = path;
  return o;
}

std::optional<url> parse_url(std::string_view text) {
  url u;
  if (text.starts_with("wss://")) {
    u.secure = true;
    text.remove_prefix(6);
  } else if (text.starts_with("ws://")) {
    text.remove_prefix(5);
  } else {
    return std::nullopt;
  }
  if (text.find('#') != std::string_view::npos) return std::nullopt;
  const size_t path_at = text.find_first_of("/?");
  std::string_view authority = text.substr(0, path_at);
  // "/" first when the URL has no path (none at all, or only a query).
  if (path_at == std::string_view::npos || text[path_at] == '?') u.path.push_back('/');
  if (path_at != std::string_view::npos) u.path.append(text.substr(path_at));
  if (authority.find('@') != std::string_view::npos) return std::nullopt;
  std::string_view port_text;
  if (authority.starts_with('[')) {  // an IPv6 literal
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    u.host = std::string(authority.substr(1, close - 1));
    authority.remove_prefix(close + 1);
    if (!authority.empty()) {
      if (authority.front() != ':') return std::nullopt;
      port_text = authority.substr(1);
    }
  } else {
    const size_t colon = authority.find(':');
    u.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (u.host.empty()) return std::nullopt;
  u.port = u.secure ? 443 : 80;
  if (!port_text.empty()) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || value == 0 ||
        value > 65535)
      return std::nullopt;
    u.port = static_cast<uint16_t>(value);
  }
  return u;
}

}  // namespace fastnet::ws
