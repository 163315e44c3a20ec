// Metrics flags shared by the examples: --metrics-port P [--metrics-host H].
// With a port, the server also answers GET /metrics (Prometheus text format)
// on H:P, 127.0.0.1 unless told otherwise: its statistics and the example's
// own metrics.
#pragma once

#include <fastnet/metrics/registry.hpp>
#include <fastnet/tcp_server.hpp>

#include <CLI/CLI.hpp>
#include <cstdint>
#include <iostream>
#include <memory>
#include <string>

/// The flags' values, and the endpoint they ask for.
struct metrics_flags {
  uint16_t port = 0;
  std::string host = "127.0.0.1";
  bool on = false;

  /// Adds the flags to `app`.
  void add_to(CLI::App& app) {
    auto* p = app.add_option("--metrics-port", port,
                             "also serve GET /metrics (Prometheus) on this port (0: any)");
    app.add_option("--metrics-host", host, "address for --metrics-port")
        ->capture_default_str()
        ->needs(p);
    p->each([this](const std::string&) { on = true; });
  }

  /// Sets `opts.metrics` when asked for, with `registry` (may be null) and
  /// `name` as the server label. Prints why and returns false for a bad host.
  bool apply(fastnet::tcp_server_options& opts,
             std::shared_ptr<fastnet::metrics::registry> registry, const std::string& name) const {
    if (!on) return true;
    auto addr = fastnet::socket_address::ip(host, port);
    if (!addr) {
      std::cerr << "bad --metrics-host " << host << "\n";
      return false;
    }
    opts.metrics.address = *addr;
    opts.metrics.registry = std::move(registry);
    opts.metrics.name = name;
    return true;
  }

  /// The line the examples print once the server listens (empty without).
  static std::string listening_line(const fastnet::tcp_server& server) {
    return listening_line(server.metrics_address());
  }
  /// The same for an endpoint's address (fastnet::metrics::endpoint).
  static std::string listening_line(const fastnet::socket_address& a) {
    if (a.port() == 0) return {};
    return "metrics on http://" + a.to_string() + "/metrics";
  }
};
