// `cluster worker`: one shard of the keys in an actor (shard.hpp), published
// on --port for the gateways over CAF's middleman, optionally over TLS.
#include <fastnet/actors/node.hpp>
#include <fastnet/actors/node_tls.hpp>
#include <fastnet/metrics/endpoint.hpp>
#include <fastnet/metrics/registry.hpp>
#include <fastnet/stop_signals.hpp>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "metrics_flags.hpp"
#include "node.hpp"
#include "shard.hpp"

namespace cluster {
namespace {

/// The worker's flags.
struct worker_flags {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  shard_limits limits;
  fastnet::actors::node_tls tls;
  metrics_flags metrics;
};

/// A worker's /metrics endpoint. A worker has no tcp_server to carry one
/// (its only listener is CAF's middleman's, for BASP), so the endpoint runs
/// on a loop of its own. Returns null, having said why, when the host is bad
/// or the port cannot be bound.
std::unique_ptr<fastnet::metrics::endpoint> start_metrics_endpoint(
    const metrics_flags& flags, std::shared_ptr<fastnet::metrics::registry> registry) {
  fastnet::tcp_server_options opts;
  if (!flags.apply(opts, std::move(registry), "cluster_worker")) return nullptr;
  try {
    return std::make_unique<fastnet::metrics::endpoint>(opts.metrics);
  } catch (const std::exception& e) {
    std::cerr << "cluster: --metrics-port: " << e.what() << "\n";
    return nullptr;
  }
}

int run_worker(const worker_flags& f) {
  if (!tls_files_usable(f.tls, "cluster worker")) return 2;
  fastnet::stop_signals stop;  // first: CAF's threads and the loops inherit the blocked signals
  // Before `sys`: the shard actor counts into the registry until it ends.
  std::shared_ptr<fastnet::metrics::registry> registry;
  std::shared_ptr<worker_metrics> counts;
  std::unique_ptr<fastnet::metrics::endpoint> metrics_endpoint;
  if (f.metrics.on) {
    registry = std::make_shared<fastnet::metrics::registry>();
    counts = std::make_shared<worker_metrics>(*registry, f.limits);
    metrics_endpoint = start_metrics_endpoint(f.metrics, registry);
    if (!metrics_endpoint) return 1;
  }
  caf::actor_system_config cfg;
  configure(cfg, f.tls);
  caf::actor_system sys{cfg};
  auto shard = sys.spawn(shard_actor, f.limits, counts);
  auto bound = fastnet::actors::publish(sys, shard, f.port, f.host, f.tls);
  if (!bound) {
    std::cerr << "cluster worker: cannot publish on " << f.host << ":" << f.port << ": "
              << sys.render(bound.error()) << "\n";
    caf::anon_send_exit(shard, caf::exit_reason::user_shutdown);
    return 1;
  }
  if (metrics_endpoint)
    std::printf("cluster worker %s\n",
                metrics_flags::listening_line(metrics_endpoint->address()).c_str());
  std::printf("cluster worker listening on %s:%u%s\n", f.host.c_str(), unsigned{*bound},
              f.tls.enabled() ? " (BASP over TLS)" : "");
  std::fflush(stdout);
  std::printf("cluster worker: %s, stopping\n", fastnet::stop_signals::name(stop.wait()));
  std::fflush(stdout);
  caf::scoped_actor self{sys};
  self->send_exit(shard, caf::exit_reason::user_shutdown);
  self->wait_for(shard);
  return 0;
}

}  // namespace

role add_worker(CLI::App& app) {
  auto f = std::make_shared<worker_flags>();
  auto* sub = app.add_subcommand("worker", "hold a shard of the keys, published on --port");
  sub->add_option("--host", f->host, "address to publish on")->capture_default_str();
  sub->add_option("--port", f->port, "port to publish on (0 = any)")->required();
  sub->add_option("--max-keys", f->limits.max_keys, "keys this worker holds at most")
      ->capture_default_str();
  sub->add_option("--max-bytes", f->limits.max_bytes, "bytes of keys and values it holds at most")
      ->capture_default_str();
  add_tls_flags(*sub, f->tls);
  f->metrics.add_to(*sub);
  return {sub, [f] { return run_worker(*f); }};
}

}  // namespace cluster
