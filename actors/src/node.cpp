#include "fastnet/actors/node.hpp"

#include <charconv>
#include <fstream>

#include <caf/io/middleman.hpp>
#include <caf/timespan.hpp>

namespace fastnet::actors {

std::string endpoint::to_string() const {
  std::string s = host;
  s.append(":").append(std::to_string(port));
  return s;
}

std::optional<endpoint> parse_endpoint(std::string_view text) {
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size())
    return std::nullopt;
  auto digits = text.substr(colon + 1);
  unsigned port = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (ec != std::errc{} || end != digits.data() + digits.size() || port == 0 || port > 65535)
    return std::nullopt;
  return endpoint{std::string(text.substr(0, colon)), static_cast<uint16_t>(port)};
}

std::optional<std::vector<endpoint>> parse_endpoints(std::string_view list) {
  std::vector<endpoint> out;
  while (!list.empty()) {
    auto comma = list.find(',');
    auto ep = parse_endpoint(list.substr(0, comma));
    if (!ep) return std::nullopt;
    out.push_back(std::move(*ep));
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
    if (list.empty()) return std::nullopt;  // a trailing comma
  }
  if (out.empty()) return std::nullopt;
  return out;
}

std::optional<std::vector<endpoint>> read_endpoints_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::vector<endpoint> out;
  std::string line;
  while (std::getline(in, line)) {
    auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos || line[first] == '#') continue;
    auto last = line.find_last_not_of(" \t\r");
    auto ep = parse_endpoint(std::string_view(line).substr(first, last - first + 1));
    if (!ep) return std::nullopt;
    out.push_back(std::move(*ep));
  }
  return out;
}

void configure_node(caf::actor_system_config& cfg, const node_options& opts) {
  cfg.load<caf::io::middleman>();
  cfg.set("middleman.heartbeat-interval", caf::timespan{opts.heartbeat_interval});
  cfg.set("middleman.connection-timeout", caf::timespan{opts.connection_timeout});
}

caf::expected<uint16_t> publish(caf::actor_system& sys, const caf::actor& whom, uint16_t port,
                                const std::string& host) {
  return sys.middleman().publish(whom, port, host.c_str(), true);
}

}  // namespace fastnet::actors
