// What every process of the cluster example shares: its CAF configuration,
// the --tls-* flags of its links, the options of the servers that face
// clients, and the shape of a role (worker.cpp, gateway.cpp, single.cpp).
#pragma once

#include <fastnet/actors/node.hpp>
#include <fastnet/actors/node_tls.hpp>
#include <fastnet/actors/scheduler.hpp>
#include <fastnet/actors/server.hpp>
#include <fastnet/socket_address.hpp>
#include <fastnet/ws/layers.hpp>

#include <caf/actor_system_config.hpp>

#include <CLI/CLI.hpp>
#include <functional>
#include <iostream>
#include <utility>

#include "messages.hpp"

namespace cluster {

/// One subcommand of `cluster`: its flags, and what runs it once parsed.
struct role {
  CLI::App* command;         ///< the subcommand, owned by the app
  std::function<int()> run;  ///< the process's life; returns its exit code
};

/// The config every node of the cluster shares: fastnet's scheduler, the
/// middleman with heartbeats, the message types that cross nodes and, with
/// `tls`, BASP over TLS.
inline void configure(caf::actor_system_config& cfg, const fastnet::actors::node_tls& tls = {}) {
  fastnet::actors::apply(cfg);
  fastnet::actors::configure_node(cfg);
  register_types(cfg);
  fastnet::actors::configure_node_tls(cfg, tls);  // after the middleman: the module needs it
}

/// Adds --tls-ca, --tls-cert and --tls-key to `sub`: all three or none
/// (CLI11 refuses a partial set), so a typo can never leave a node in
/// plaintext while its peers use TLS.
inline void add_tls_flags(CLI::App& sub, fastnet::actors::node_tls& tls) {
  auto* ca = sub.add_option("--tls-ca", tls.ca,
                            "BASP over TLS: the cluster's CA (PEM); peers must chain to it")
                 ->check(CLI::ExistingFile);
  auto* cert = sub.add_option("--tls-cert", tls.cert, "this node's certificate chain (PEM)")
                   ->check(CLI::ExistingFile);
  auto* key = sub.add_option("--tls-key", tls.key, "this node's private key (PEM, unencrypted)")
                  ->check(CLI::ExistingFile);
  ca->needs(cert)->needs(key);
  cert->needs(ca)->needs(key);
  key->needs(ca)->needs(cert);
}

/// With --tls-* given, loads the files now (fastnet::actors::check_node_tls)
/// and, when one is bad, says why under `who` on stderr. False: exit 2.
inline bool tls_files_usable(const fastnet::actors::node_tls& tls, const char* who) {
  if (!tls.enabled()) return true;
  auto err = fastnet::actors::check_node_tls(tls);
  if (err) std::cerr << who << ": --tls-*: " << *err << "\n";
  return !err;
}

/// The client side of a gateway: the line codec (a line of more than 64 KiB
/// closes that connection) or WebSocket messages of at most 64 KiB, and a
/// client that stops reading is reset once 1 MiB of replies waits for it.
inline fastnet::actors::server_options gateway_server_options(const fastnet::socket_address& addr,
                                                              bool reuseport,
                                                              bool websocket = false) {
  fastnet::actors::server_options sopts;
  sopts.net.address = addr;
  sopts.net.reuse_port = reuseport;
  auto layers = *fastnet::ws::make_layers(websocket ? "websocket" : "line", 64 * 1024);
  sopts.net.codec = std::move(layers.codec);
  sopts.net.protocol = std::move(layers.protocol);
  sopts.net.connection.high_water_mark = 1 << 20;
  sopts.net.connection.low_water_mark = 256 << 10;
  sopts.output = fastnet::actors::output_policy::disconnect;
  return sopts;
}

/// `cluster worker`: holds a shard of the keys, published on --port.
role add_worker(CLI::App& app);
/// `cluster gateway`: serves clients and forwards to the workers.
role add_gateway(CLI::App& app);
/// `cluster single`: a gateway and one local shard in one process.
role add_single(CLI::App& app);

}  // namespace cluster
