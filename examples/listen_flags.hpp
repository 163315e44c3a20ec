// Where an example listens: --host H (default 127.0.0.1: examples started by
// hand stay on this machine) and --port P (0: any free port; the example
// prints the one it got).
#pragma once

#include <fastnet/socket_address.hpp>

#include <CLI/CLI.hpp>
#include <cstdint>
#include <stdexcept>
#include <string>

/// The flags' values.
struct listen_flags {
  std::string host = "127.0.0.1";
  uint16_t port = 1833;

  /// Adds --host and --port to `app`, with `port` as the default port.
  void add_to(CLI::App& app) {
    app.add_option("--host", host, "address to listen on")->capture_default_str();
    app.add_option("--port", port, "port to listen on (0: any)")->capture_default_str();
  }

  /// The address to listen on; throws std::invalid_argument for a bad host.
  fastnet::socket_address address() const {
    auto addr = fastnet::socket_address::ip(host, port);
    if (!addr) throw std::invalid_argument("not an IP address: " + host);
    return *addr;
  }
};
