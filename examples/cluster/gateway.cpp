// `cluster gateway`: serves the line protocol (or WebSocket) to clients, an
// actor per connection (session.hpp), and forwards each request to the
// worker that owns its key, found on a consistent-hash ring of --workers.
#include <fastnet/actors/node.hpp>
#include <fastnet/actors/node_tls.hpp>
#include <fastnet/actors/server.hpp>
#include <fastnet/actors/worker_ring.hpp>
#include <fastnet/metrics/registry.hpp>
#include <fastnet/stop_signals.hpp>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <unistd.h>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "metrics_flags.hpp"
#include "node.hpp"
#include "session.hpp"

namespace cluster {
namespace {

/// The gateway's flags.
struct gateway_flags {
  std::string host = "0.0.0.0";
  uint16_t port = 0;
  std::string workers_list;
  std::string workers_file;
  bool reuseport = false;
  bool websocket = false;
  std::string on_down = "fail";
  unsigned request_timeout_ms = 1000;
  fastnet::actors::node_tls tls;
  metrics_flags metrics;
};

int run_gateway(const gateway_flags& f) {
  std::optional<std::vector<fastnet::actors::endpoint>> workers;
  if (!f.workers_file.empty())
    workers = fastnet::actors::read_endpoints_file(f.workers_file);
  else if (!f.workers_list.empty())
    workers = fastnet::actors::parse_endpoints(f.workers_list);
  if (!workers || workers->empty()) {
    std::cerr << "cluster gateway: give the workers with --workers host:port,... or "
                 "--workers-file FILE\n";
    return 2;
  }
  auto addr = fastnet::socket_address::ip(f.host, f.port);
  if (!addr) {
    std::cerr << "cluster gateway: bad address: " << f.host << "\n";
    return 2;
  }
  if (!tls_files_usable(f.tls, "cluster gateway")) return 2;
  gateway_options gopts;
  gopts.request_timeout = std::chrono::milliseconds(f.request_timeout_ms);
  gopts.label = std::to_string(::getpid());
  gopts.websocket = f.websocket;

  fastnet::stop_signals stop;  // first: CAF's threads and the loops inherit the blocked signals
  auto sopts = gateway_server_options(*addr, f.reuseport, f.websocket);
  // Before `sys`: connection actors and the ring count into it until they end.
  std::shared_ptr<fastnet::metrics::registry> registry;
  if (f.metrics.on) {
    registry = std::make_shared<fastnet::metrics::registry>();
    std::vector<std::string> names;
    for (const auto& w : *workers)
      names.push_back(w.to_string());  // as the ring names them
    gopts.metrics = std::make_shared<gateway_metrics>(*registry, names);
    // The endpoint adds the server's own statistics (server="cluster_gateway").
    if (!f.metrics.apply(sopts.net, registry, "cluster_gateway")) return 2;
  }
  caf::actor_system_config cfg;
  configure(cfg, f.tls);
  caf::actor_system sys{cfg};
  fastnet::actors::worker_ring_options ropts;
  ropts.workers = *workers;
  ropts.policy = f.on_down == "reroute" ? fastnet::actors::ring_policy::reroute
                                        : fastnet::actors::ring_policy::fail;
  ropts.middleman = fastnet::actors::node_middleman(sys, f.tls);
  if (gopts.metrics)
    ropts.on_change = [m = gopts.metrics](size_t, bool up) { m->worker_changed(up); };
  fastnet::actors::worker_ring ring(sys, ropts);

  // Declared after `sys` and `ring`: destroyed first.
  fastnet::actors::server server(sys, sopts);
  server.spawn_per_connection(gateway_behavior(ring.actor(), gopts));
  try {
    server.start();
  } catch (const std::exception& e) {
    std::cerr << "cluster gateway: " << e.what() << "\n";
    return 1;
  }
  // Serve at once; say "listening" once every worker has been tried, so a
  // script that waits for the line finds the workers that are up in the ring.
  size_t up = ring.wait_ready(ropts.connect_timeout * 2);
  if (auto m = metrics_flags::listening_line(server.reactor()); !m.empty())
    std::printf("cluster gateway %s\n", m.c_str());
  std::printf("cluster gateway listening on %s (workers up %zu/%zu%s)\n",
              server.local_address().to_string().c_str(), up, workers->size(),
              f.tls.enabled() ? ", BASP over TLS" : "");
  std::fflush(stdout);

  const int sig = stop.wait();
  std::printf("cluster gateway: %s, stopping (%zu connections)\n", fastnet::stop_signals::name(sig),
              server.connection_count());
  std::fflush(stdout);
  server.stop();  // every connection closes; its actor exits
  ring.stop();
  // No actor may hold a connection handle while the server is destroyed.
  sys.await_all_actors_done();
  return 0;
}

}  // namespace

role add_gateway(CLI::App& app) {
  auto f = std::make_shared<gateway_flags>();
  auto* sub = app.add_subcommand("gateway", "serve clients, forward to the workers");
  sub->add_option("--host", f->host, "address to listen on")->capture_default_str();
  sub->add_option("--port", f->port, "port to listen on (0 = any)")->required();
  sub->add_option("--workers", f->workers_list, "host:port,host:port,... of the workers");
  sub->add_option("--workers-file", f->workers_file, "a file with one host:port per line");
  sub->add_flag("--reuseport", f->reuseport, "SO_REUSEPORT: several gateways share --port");
  sub->add_flag("--websocket", f->websocket,
                "clients speak WebSocket (RFC 6455): one request per message");
  sub->add_option("--on-down", f->on_down,
                  "keys of a down worker: fail (error replies) or reroute (to the others)")
      ->check(CLI::IsMember({"fail", "reroute"}))
      ->capture_default_str();
  sub->add_option("--request-timeout", f->request_timeout_ms, "milliseconds per request")
      ->capture_default_str();
  add_tls_flags(*sub, f->tls);
  f->metrics.add_to(*sub);
  return {sub, [f] { return run_gateway(*f); }};
}

}  // namespace cluster
