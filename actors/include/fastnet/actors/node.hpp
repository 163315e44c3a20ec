// fastnet::actors — a node of a networked actor system: CAF's middleman
// (BASP) configured so that dead peers are noticed, publishing, and a static
// list of peer addresses.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/expected.hpp>

namespace fastnet::actors {

/// One peer address, "host:port". Discovery is a static list of these
/// (flags or a file): simple, documented, and replaceable.
struct endpoint {
  std::string host;   ///< a name or an address, as written (never resolved here)
  uint16_t port = 0;  ///< the port
  /// "host:port". Any thread.
  std::string to_string() const;
  /// The same host, as written, and port.
  friend bool operator==(const endpoint&, const endpoint&) = default;
};

/// Parses "host:port" (port 1..65535). Any thread.
std::optional<endpoint> parse_endpoint(std::string_view text);
/// Parses "host:p1,host:p2,..." (no empty entries). Any thread.
std::optional<std::vector<endpoint>> parse_endpoints(std::string_view list);
/// Reads one "host:port" per line; blank lines and lines starting with '#'
/// are skipped. nullopt when the file cannot be read or a line is bad. Any thread.
std::optional<std::vector<endpoint>> read_endpoints_file(const std::string& path);

/// How a node talks to other nodes. Defaults notice a dead or frozen peer in
/// about two seconds: CAF 0.17 sends no heartbeats and never times a
/// connection out unless told to.
struct node_options {
  /// BASP heartbeat period (middleman.heartbeat-interval).
  std::chrono::milliseconds heartbeat_interval{500};
  /// A peer silent for this long is dropped and its actors reported down
  /// (middleman.connection-timeout); a few heartbeats long.
  std::chrono::milliseconds connection_timeout{2000};
};

/// Makes `cfg` a node: loads caf::io::middleman and sets the heartbeat and
/// connection timeout. Call before the actor_system is built, together with
/// the registration of every message type that crosses nodes (the same on
/// every node). Any thread.
void configure_node(caf::actor_system_config& cfg, const node_options& opts = {});

/// Makes `whom` reachable by other nodes on `host`:`port` (0 = any free
/// port) with SO_REUSEADDR, so a restarted node binds its old port at once.
/// Returns the bound port. Blocks until the middleman has bound; call from a
/// controlling thread, not from an actor.
caf::expected<uint16_t> publish(caf::actor_system& sys, const caf::actor& whom, uint16_t port,
                                const std::string& host = "0.0.0.0");

}  // namespace fastnet::actors
