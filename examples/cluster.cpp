// cluster — a key-value service over several processes, on CAF's middleman.
//
//   cluster worker  --port W [--host 127.0.0.1] [--max-keys N] [--max-bytes N]
//   cluster gateway --port P --workers host:W1,host:W2,... [--workers-file FILE]
//                   [--reuseport] [--websocket] [--on-down fail|reroute]
//                   [--request-timeout MS]
//   cluster single  --port P        (gateway + local shard in one process, to measure the hop)
//
// A worker holds a shard of the keys in one actor, published on port W.
// A gateway serves the line protocol of cluster_kv.hpp on port P, one actor
// per client connection, and forwards each request to the worker that owns
// its key (consistent hashing over the --workers list, in list order: give
// every gateway the same list). Both print a line with "listening" when
// ready and stop cleanly on SIGINT or SIGTERM. `--log-level LEVEL` goes
// before the subcommand (cluster --log-level info gateway ...).
#include <fastnet/actors/node.hpp>
#include <fastnet/actors/scheduler.hpp>
#include <fastnet/actors/server.hpp>
#include <fastnet/actors/worker_ring.hpp>
#include <fastnet/fastnet.hpp>
#include <fastnet/ws/layers.hpp>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <unistd.h>
#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <iostream>

#include "cluster_kv.hpp"

namespace {

/// Blocks SIGINT and SIGTERM in this thread before any other thread exists
/// (CAF's and the loops inherit the mask), to take them with sigwait.
sigset_t block_stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

/// The config every node of the cluster shares: fastnet's scheduler, the
/// middleman with heartbeats, and the message types that cross nodes.
void configure(caf::actor_system_config& cfg) {
  fastnet::actors::apply(cfg);
  fastnet::actors::configure_node(cfg);
  cluster::register_types(cfg);
}

/// The client side of a gateway: the line codec (a line of more than 64 KiB
/// closes that connection) or WebSocket messages of at most 64 KiB, and a client that stops reading
/// is reset once 1 MiB of replies waits for it.
fastnet::actors::server_options gateway_server_options(const fastnet::socket_address& addr,
                                                       bool reuseport, bool websocket = false) {
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

int run_worker(const std::string& host, uint16_t port, cluster::shard_limits limits) {
  sigset_t stop_signals = block_stop_signals();
  caf::actor_system_config cfg;
  configure(cfg);
  caf::actor_system sys{cfg};
  auto shard = sys.spawn(cluster::shard_actor, limits);
  auto bound = fastnet::actors::publish(sys, shard, port, host);
  if (!bound) {
    std::cerr << "cluster worker: cannot publish on " << host << ":" << port << ": "
              << sys.render(bound.error()) << "\n";
    caf::anon_send_exit(shard, caf::exit_reason::user_shutdown);
    return 1;
  }
  std::printf("cluster worker listening on %s:%u\n", host.c_str(), unsigned{*bound});
  std::fflush(stdout);
  int sig = 0;
  sigwait(&stop_signals, &sig);
  std::printf("cluster worker: %s, stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
  std::fflush(stdout);
  caf::scoped_actor self{sys};
  self->send_exit(shard, caf::exit_reason::user_shutdown);
  self->wait_for(shard);
  return 0;
}

int run_gateway(const fastnet::socket_address& addr,
                const std::vector<fastnet::actors::endpoint>& workers, bool reuseport,
                fastnet::actors::ring_policy policy, cluster::gateway_options gopts) {
  sigset_t stop_signals = block_stop_signals();
  caf::actor_system_config cfg;
  configure(cfg);
  caf::actor_system sys{cfg};
  fastnet::actors::worker_ring_options ropts;
  ropts.workers = workers;
  ropts.policy = policy;
  fastnet::actors::worker_ring ring(sys, ropts);

  // Declared after `sys` and `ring`: destroyed first.
  fastnet::actors::server server(sys, gateway_server_options(addr, reuseport, gopts.websocket));
  server.spawn_per_connection(cluster::gateway_behavior(ring.actor(), gopts));
  try {
    server.start();
  } catch (const std::exception& e) {
    std::cerr << "cluster gateway: " << e.what() << "\n";
    return 1;
  }
  // Serve at once; say "listening" once every worker has been tried, so a
  // script that waits for the line finds the workers that are up in the ring.
  size_t up = ring.wait_ready(ropts.connect_timeout * 2);
  std::printf("cluster gateway listening on %s (workers up %zu/%zu)\n",
              server.local_address().to_string().c_str(), up, workers.size());
  std::fflush(stdout);

  int sig = 0;
  sigwait(&stop_signals, &sig);
  std::printf("cluster gateway: %s, stopping (%zu connections)\n",
              sig == SIGINT ? "SIGINT" : "SIGTERM", server.connection_count());
  std::fflush(stdout);
  server.stop();  // every connection closes; its actor exits
  ring.stop();
  // No actor may hold a connection handle while the server is destroyed.
  sys.await_all_actors_done();
  return 0;
}

/// One process, no middleman: a gateway's sessions in front of a local
/// shard, to measure what the hop to a worker costs.
int run_single(const fastnet::socket_address& addr, cluster::shard_limits limits,
               cluster::gateway_options gopts) {
  sigset_t stop_signals = block_stop_signals();
  caf::actor_system_config cfg;
  fastnet::actors::apply(cfg);
  caf::actor_system sys{cfg};
  auto shard = sys.spawn(cluster::shard_actor, limits);
  auto ring = sys.spawn(cluster::local_ring, shard);
  auto end_actors = [&] {
    caf::scoped_actor self{sys};
    for (const auto& a : {ring, shard}) {
      self->send_exit(a, caf::exit_reason::user_shutdown);
      self->wait_for(a);
    }
  };
  fastnet::actors::server server(sys, gateway_server_options(addr, false));
  server.spawn_per_connection(cluster::gateway_behavior(ring, gopts));
  try {
    server.start();
  } catch (const std::exception& e) {
    std::cerr << "cluster single: " << e.what() << "\n";
    end_actors();
    return 1;
  }
  std::printf("cluster single listening on %s\n", server.local_address().to_string().c_str());
  std::fflush(stdout);
  int sig = 0;
  sigwait(&stop_signals, &sig);
  server.stop();
  end_actors();
  sys.await_all_actors_done();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"fastnet cluster: a key-value service on gateways and workers"};
  app.require_subcommand(1);
  std::string log_level = "warn";
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error|off")
      ->capture_default_str();

  auto* worker = app.add_subcommand("worker", "hold a shard of the keys, published on --port");
  std::string worker_host = "127.0.0.1";
  uint16_t worker_port = 0;
  cluster::shard_limits limits;
  worker->add_option("--host", worker_host, "address to publish on")->capture_default_str();
  worker->add_option("--port", worker_port, "port to publish on (0 = any)")->required();
  worker->add_option("--max-keys", limits.max_keys, "keys this worker holds at most")
      ->capture_default_str();
  worker->add_option("--max-bytes", limits.max_bytes, "bytes of keys and values it holds at most")
      ->capture_default_str();

  auto* gateway = app.add_subcommand("gateway", "serve clients, forward to the workers");
  std::string host = "0.0.0.0";
  uint16_t port = 0;
  std::string workers_list;
  std::string workers_file;
  bool reuseport = false;
  std::string on_down = "fail";
  unsigned request_timeout_ms = 1000;
  gateway->add_option("--host", host, "address to listen on")->capture_default_str();
  gateway->add_option("--port", port, "port to listen on (0 = any)")->required();
  gateway->add_option("--workers", workers_list, "host:port,host:port,... of the workers");
  gateway->add_option("--workers-file", workers_file, "a file with one host:port per line");
  gateway->add_flag("--reuseport", reuseport, "SO_REUSEPORT: several gateways share --port");
  bool websocket = false;
  gateway->add_flag("--websocket", websocket,
                    "clients speak WebSocket (RFC 6455): one request per message");
  gateway
      ->add_option("--on-down", on_down,
                   "keys of a down worker: fail (error replies) or reroute (to the others)")
      ->check(CLI::IsMember({"fail", "reroute"}))
      ->capture_default_str();
  gateway->add_option("--request-timeout", request_timeout_ms, "milliseconds per request")
      ->capture_default_str();
  auto* single = app.add_subcommand(
      "single", "gateway and one local shard in one process (no hop; for measuring)");
  std::string single_host = "127.0.0.1";
  uint16_t single_port = 0;
  single->add_option("--host", single_host, "address to listen on")->capture_default_str();
  single->add_option("--port", single_port, "port to listen on (0 = any)")->required();
  CLI11_PARSE(app, argc, argv);

  auto level = fastnet::parse_log_level(log_level);
  if (!level) {
    std::cerr << "unknown log level: " << log_level << "\n";
    return 2;
  }
  fastnet::set_log_level(*level);

  if (worker->parsed()) return run_worker(worker_host, worker_port, limits);
  if (single->parsed()) {
    auto addr = fastnet::socket_address::ip(single_host, single_port);
    if (!addr) {
      std::cerr << "bad address: " << single_host << "\n";
      return 2;
    }
    return run_single(*addr, limits, cluster::gateway_options{});
  }

  std::optional<std::vector<fastnet::actors::endpoint>> workers;
  if (!workers_file.empty())
    workers = fastnet::actors::read_endpoints_file(workers_file);
  else if (!workers_list.empty())
    workers = fastnet::actors::parse_endpoints(workers_list);
  if (!workers || workers->empty()) {
    std::cerr << "cluster gateway: give the workers with --workers host:port,... or "
                 "--workers-file FILE\n";
    return 2;
  }
  auto addr = fastnet::socket_address::ip(host, port);
  if (!addr) {
    std::cerr << "bad address: " << host << "\n";
    return 2;
  }
  cluster::gateway_options gopts;
  gopts.request_timeout = std::chrono::milliseconds(request_timeout_ms);
  gopts.label = std::to_string(::getpid());
  gopts.websocket = websocket;
  return run_gateway(*addr, *workers, reuseport,
                     on_down == "reroute" ? fastnet::actors::ring_policy::reroute
                                          : fastnet::actors::ring_policy::fail,
                     gopts);
}
