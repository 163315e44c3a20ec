// `cluster single`: a gateway's sessions in front of a local shard, in one
// process and without the middleman, to measure what the hop to a worker
// costs (bench/cluster_bench.sh).
#include <fastnet/actors/scheduler.hpp>
#include <fastnet/actors/server.hpp>
#include <fastnet/metrics/registry.hpp>
#include <fastnet/stop_signals.hpp>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "metrics_flags.hpp"
#include "node.hpp"
#include "session.hpp"
#include "shard.hpp"

namespace cluster {
namespace {

/// The flags of `cluster single`.
struct single_flags {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  metrics_flags metrics;
};

int run_single(const single_flags& f) {
  auto addr = fastnet::socket_address::ip(f.host, f.port);
  if (!addr) {
    std::cerr << "cluster single: bad address: " << f.host << "\n";
    return 2;
  }
  shard_limits limits;
  gateway_options gopts;
  fastnet::stop_signals stop;  // first: CAF's threads and the loops inherit the blocked signals
  auto sopts = gateway_server_options(*addr, false);
  // Both sides' families in one registry; the local shard is always up.
  std::shared_ptr<fastnet::metrics::registry> registry;
  std::shared_ptr<worker_metrics> counts;
  if (f.metrics.on) {
    registry = std::make_shared<fastnet::metrics::registry>();
    gopts.metrics = std::make_shared<gateway_metrics>(*registry, std::vector<std::string>{"local"});
    gopts.metrics->worker_changed(true);
    counts = std::make_shared<worker_metrics>(*registry, limits);
    if (!f.metrics.apply(sopts.net, registry, "cluster_single")) return 2;
  }
  caf::actor_system_config cfg;
  fastnet::actors::apply(cfg);  // one process: no middleman
  caf::actor_system sys{cfg};
  auto shard = sys.spawn(shard_actor, limits, counts);
  auto ring = sys.spawn(local_ring, shard);
  auto end_actors = [&] {
    caf::scoped_actor self{sys};
    for (const auto& a : {ring, shard}) {
      self->send_exit(a, caf::exit_reason::user_shutdown);
      self->wait_for(a);
    }
  };
  fastnet::actors::server server(sys, sopts);
  server.spawn_per_connection(gateway_behavior(ring, gopts));
  try {
    server.start();
  } catch (const std::exception& e) {
    std::cerr << "cluster single: " << e.what() << "\n";
    end_actors();
    return 1;
  }
  if (auto m = metrics_flags::listening_line(server.reactor()); !m.empty())
    std::printf("cluster single %s\n", m.c_str());
  std::printf("cluster single listening on %s\n", server.local_address().to_string().c_str());
  std::fflush(stdout);
  stop.wait();
  server.stop();
  end_actors();
  sys.await_all_actors_done();
  return 0;
}

}  // namespace

role add_single(CLI::App& app) {
  auto f = std::make_shared<single_flags>();
  auto* sub = app.add_subcommand(
      "single", "gateway and one local shard in one process (no hop; for measuring)");
  sub->add_option("--host", f->host, "address to listen on")->capture_default_str();
  sub->add_option("--port", f->port, "port to listen on (0 = any)")->required();
  f->metrics.add_to(*sub);
  return {sub, [f] { return run_single(*f); }};
}

}  // namespace cluster
