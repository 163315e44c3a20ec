// cluster — a key-value service over several processes, on CAF's middleman.
//
//   cluster worker  --port W [--host 127.0.0.1] [--max-keys N] [--max-bytes N]
//                   [--tls-ca FILE --tls-cert FILE --tls-key FILE]
//                   [--metrics-port M [--metrics-host 127.0.0.1]]
//   cluster gateway --port P --workers host:W1,host:W2,... [--workers-file FILE]
//                   [--reuseport] [--websocket] [--on-down fail|reroute]
//                   [--request-timeout MS] [--tls-ca FILE --tls-cert FILE --tls-key FILE]
//                   [--metrics-port M [--metrics-host 127.0.0.1]]
//   cluster single  --port P [--metrics-port M [--metrics-host 127.0.0.1]]
//                   (gateway + local shard in one process, to measure the hop)
//
// A worker holds a shard of the keys in one actor, published on port W.
// A gateway serves the line protocol of cluster_kv.hpp on port P, one actor
// per client connection, and forwards each request to the worker that owns
// its key (consistent hashing over the --workers list, in list order: give
// every gateway the same list). Both print a line with "listening" when
// ready and stop cleanly on SIGINT or SIGTERM. `--log-level LEVEL` goes
// before the subcommand (cluster --log-level info gateway ...).
//
// With --tls-ca, --tls-cert and --tls-key (all three or none) the links
// between nodes (BASP) run over TLS, CAF 0.17's OpenSSL module, with mutual
// authentication: each node presents its certificate and accepts a peer only
// if the peer's chains to --tls-ca, so a node without a certificate from the
// cluster's CA cannot join. Give every node of a cluster the flags: a
// plaintext node and a TLS node do not talk. The clients' side of a gateway
// is not affected (plain TCP or WebSocket). Limits of the module: no host
// name check (any certificate from the CA is a member), no encrypted keys.
//
// With --metrics-port a node also answers GET /metrics (Prometheus text) on
// --metrics-host:M, printing "metrics on http://HOST:M/metrics" before its
// "listening" line. A gateway exports its server's statistics and the
// fastnet_cluster_* families (workers up and down, requests sent to each
// worker, errors by reason, time per request through the hop); a worker the
// fastnet_cluster_worker_* families (requests handled, keys and bytes held:
// the keys are what the gateway's STATS reports). See cluster_kv.hpp.
#include <fastnet/actors/node.hpp>
#include <fastnet/actors/scheduler.hpp>
#include <fastnet/actors/server.hpp>
#include <fastnet/actors/worker_ring.hpp>
#include <fastnet/fastnet.hpp>
#include <fastnet/metrics/endpoint.hpp>
#include <fastnet/metrics/registry.hpp>
#include <fastnet/ws/layers.hpp>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/openssl/manager.hpp>
#include <caf/openssl/publish.hpp>

#include <dlfcn.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <unistd.h>
#include <CLI/CLI.hpp>
#include <bit>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>

#include "cluster_kv.hpp"
#include "metrics_flags.hpp"

// ---- A workaround for CAF 0.17.6's OpenSSL module (--tls-*) ----
//
// OpenSSL keeps an error queue per thread and SSL_get_error() consults it: a
// queue left non-empty by an earlier failure turns a harmless WANT_READ into
// SSL_ERROR_SSL. CAF 0.17's caf::openssl::session never clears the queue
// (only its logging would drain it; Debian builds CAF with CAF_LOG_LEVEL
// QUIET), and all
// sessions of a node run on the middleman's one thread. So one failed
// handshake (a peer with a wrong certificate, a plaintext node, a port
// scanner) left errors behind, and the next read of a *good* link that found
// no data was taken as fatal: the link dropped with what was in flight
// (measured: a reply lost per refused attempt, and now and then the good
// worker reported down). OpenSSL's documented rule is to clear the queue
// before each I/O call. These definitions do that and call libssl's own: the
// executable comes first in symbol lookup, so libcaf_openssl's calls land
// here. Only the four calls CAF 0.17's session makes.
//
// SSL_accept also bounds a second bug of 0.17 (fixed upstream in 0.18.4): a
// worker queues its BASP handshake on every accepted connection, and while
// the TLS handshake waits for the peer's first bytes each write attempt
// returns "success, 0 bytes", so the middleman's thread spins at 100 % CPU
// until the peer speaks or leaves (measured: 4.3 s of CPU in 5 s for one
// silent TCP connection). A handshake still unfinished after
// `tls_handshake_deadline` is failed instead, and CAF closes the connection.
namespace {
/// As long as the ring's connect timeout: a gateway gives up by then anyway.
constexpr std::chrono::milliseconds tls_handshake_deadline{1000};

/// libssl's definition of `name` (the next one after this executable's).
template <class F>
F next_definition(const char* name) {
  void* f = ::dlsym(RTLD_NEXT, name);
  if (f == nullptr) {
    std::fprintf(stderr, "cluster: %s not found after the executable\n", name);
    std::abort();
  }
  return std::bit_cast<F>(f);
}
}  // namespace

extern "C" {
int SSL_read(SSL* ssl, void* buf, int num) {
  static const auto real = next_definition<int (*)(SSL*, void*, int)>("SSL_read");
  ERR_clear_error();
  return real(ssl, buf, num);
}
int SSL_write(SSL* ssl, const void* buf, int num) {
  static const auto real = next_definition<int (*)(SSL*, const void*, int)>("SSL_write");
  ERR_clear_error();
  return real(ssl, buf, num);
}
int SSL_connect(SSL* ssl) {
  static const auto real = next_definition<int (*)(SSL*)>("SSL_connect");
  ERR_clear_error();
  return real(ssl);
}
int SSL_accept(SSL* ssl) {
  static const auto real = next_definition<int (*)(SSL*)>("SSL_accept");
  // The first attempt's time, in ms (+1, so that 0 means none), in the SSL object.
  static const int started_index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  ERR_clear_error();
  int r = real(ssl);
  if (r == 1 || started_index < 0) return r;
  int err = SSL_get_error(ssl, r);
  if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) return r;
  using namespace std::chrono;
  auto now = static_cast<uintptr_t>(
      duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count() + 1);
  auto started = reinterpret_cast<uintptr_t>(SSL_get_ex_data(ssl, started_index));
  if (started == 0) {
    SSL_set_ex_data(ssl, started_index, reinterpret_cast<void*>(now));
  } else if (now - started > static_cast<uintptr_t>(tls_handshake_deadline.count())) {
    ERR_raise(ERR_LIB_SYS, ETIMEDOUT);  // SSL_get_error() now says: fatal
    return -1;
  }
  return r;
}
}  // extern "C"

namespace {

/// The --tls-* flags: PEM files. All empty: BASP in plaintext.
struct tls_files {
  std::string ca;    // the cluster's CA: peers must chain to it
  std::string cert;  // this node's certificate (chain), sent to every peer
  std::string key;   // its private key, unencrypted
  bool enabled() const { return !ca.empty(); }
};

/// Appends OpenSSL's queued errors to `out`, each after ": ".
void append_ssl_errors(std::string& out) {
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    out.append(": ").append(buf);
  }
}

/// Loads the files once before the actor system exists, as CAF's module
/// will. Why: the module loads them again for each connection, inside the
/// middleman's thread, and throws there when one is bad, which would end the
/// process at the first peer instead of at startup. Returns what is wrong.
std::optional<std::string> check_tls_files(const tls_files& tls) {
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_method()), SSL_CTX_free);
  std::string err;
  auto fail = [&err](const char* what, const std::string& file) {
    err.append(what).append(file);
    append_ssl_errors(err);
    return err;
  };
  if (!ctx) return fail("cannot make an SSL_CTX", "");
  // An encrypted key must fail here, not prompt on the terminal.
  SSL_CTX_set_default_passwd_cb(ctx.get(), [](char*, int, int, void*) { return 0; });
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), tls.cert.c_str()) != 1)
    return fail("cannot load --tls-cert ", tls.cert);
  // Also fails ("key values mismatch") when it is not the key of --tls-cert.
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), tls.key.c_str(), SSL_FILETYPE_PEM) != 1)
    return fail("cannot load --tls-key (PEM, unencrypted, the key of --tls-cert) ", tls.key);
  if (SSL_CTX_load_verify_locations(ctx.get(), tls.ca.c_str(), nullptr) != 1)
    return fail("cannot load --tls-ca ", tls.ca);
  return std::nullopt;
}

/// The config every node of the cluster shares: fastnet's scheduler, the
/// middleman with heartbeats, the message types that cross nodes and, with
/// `tls`, CAF's OpenSSL module.
void configure(caf::actor_system_config& cfg, const tls_files& tls = {}) {
  fastnet::actors::apply(cfg);
  fastnet::actors::configure_node(cfg);
  cluster::register_types(cfg);
  if (!tls.enabled()) return;
  // After the middleman (the module needs it). Any openssl_* setting turns
  // on the module's authentication: both ends send a certificate and require
  // the peer's, verified against the CA (SSL_VERIFY_PEER |
  // SSL_VERIFY_FAIL_IF_NO_PEER_CERT). These fields are what 0.17.6 reads.
  cfg.load<caf::openssl::manager>();
  cfg.openssl_cafile = tls.ca;
  cfg.openssl_certificate = tls.cert;
  cfg.openssl_key = tls.key;
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

int run_worker(const std::string& host, uint16_t port, cluster::shard_limits limits,
               const tls_files& tls, const metrics_flags& metrics) {
  fastnet::stop_signals stop;  // first: CAF's threads and the loops inherit the blocked signals
  // Before `sys`: the shard actor counts into the registry until it ends.
  std::shared_ptr<fastnet::metrics::registry> registry;
  std::shared_ptr<cluster::worker_metrics> counts;
  std::unique_ptr<fastnet::metrics::endpoint> metrics_endpoint;
  if (metrics.on) {
    registry = std::make_shared<fastnet::metrics::registry>();
    counts = std::make_shared<cluster::worker_metrics>(*registry, limits);
    metrics_endpoint = start_metrics_endpoint(metrics, registry);
    if (!metrics_endpoint) return 1;
  }
  caf::actor_system_config cfg;
  configure(cfg, tls);
  caf::actor_system sys{cfg};
  auto shard = sys.spawn(cluster::shard_actor, limits, counts);
  // Over TLS only: the OpenSSL module's own doorman (SO_REUSEADDR as well).
  auto bound = tls.enabled() ? caf::openssl::publish(shard, port, host.c_str(), true)
                             : fastnet::actors::publish(sys, shard, port, host);
  if (!bound) {
    std::cerr << "cluster worker: cannot publish on " << host << ":" << port << ": "
              << sys.render(bound.error()) << "\n";
    caf::anon_send_exit(shard, caf::exit_reason::user_shutdown);
    return 1;
  }
  if (metrics_endpoint)
    std::printf("cluster worker %s\n",
                metrics_flags::listening_line(metrics_endpoint->address()).c_str());
  std::printf("cluster worker listening on %s:%u%s\n", host.c_str(), unsigned{*bound},
              tls.enabled() ? " (BASP over TLS)" : "");
  std::fflush(stdout);
  std::printf("cluster worker: %s, stopping\n", fastnet::stop_signals::name(stop.wait()));
  std::fflush(stdout);
  caf::scoped_actor self{sys};
  self->send_exit(shard, caf::exit_reason::user_shutdown);
  self->wait_for(shard);
  return 0;
}

int run_gateway(const fastnet::socket_address& addr,
                const std::vector<fastnet::actors::endpoint>& workers, bool reuseport,
                fastnet::actors::ring_policy policy, cluster::gateway_options gopts,
                const tls_files& tls, const metrics_flags& metrics) {
  fastnet::stop_signals stop;  // first: CAF's threads and the loops inherit the blocked signals
  auto sopts = gateway_server_options(addr, reuseport, gopts.websocket);
  // Before `sys`: connection actors and the ring count into it until they end.
  std::shared_ptr<fastnet::metrics::registry> registry;
  if (metrics.on) {
    registry = std::make_shared<fastnet::metrics::registry>();
    std::vector<std::string> names;
    for (const auto& w : workers)
      names.push_back(w.to_string());  // as the ring names them
    gopts.metrics = std::make_shared<cluster::gateway_metrics>(*registry, names);
    // The endpoint adds the server's own statistics (server="cluster_gateway").
    if (!metrics.apply(sopts.net, registry, "cluster_gateway")) return 2;
  }
  caf::actor_system_config cfg;
  configure(cfg, tls);
  caf::actor_system sys{cfg};
  fastnet::actors::worker_ring_options ropts;
  ropts.workers = workers;
  ropts.policy = policy;
  // Over TLS the ring connects (remote_actor) through the module's middleman actor.
  if (tls.enabled()) ropts.middleman = sys.openssl_manager().actor_handle();
  if (gopts.metrics)
    ropts.on_change = [m = gopts.metrics](size_t, bool up) { m->worker_changed(up); };
  fastnet::actors::worker_ring ring(sys, ropts);

  // Declared after `sys` and `ring`: destroyed first.
  fastnet::actors::server server(sys, sopts);
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
  if (auto m = metrics_flags::listening_line(server.reactor()); !m.empty())
    std::printf("cluster gateway %s\n", m.c_str());
  std::printf("cluster gateway listening on %s (workers up %zu/%zu%s)\n",
              server.local_address().to_string().c_str(), up, workers.size(),
              tls.enabled() ? ", BASP over TLS" : "");
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

/// One process, no middleman: a gateway's sessions in front of a local
/// shard, to measure what the hop to a worker costs.
int run_single(const fastnet::socket_address& addr, cluster::shard_limits limits,
               cluster::gateway_options gopts, const metrics_flags& metrics) {
  fastnet::stop_signals stop;  // first: CAF's threads and the loops inherit the blocked signals
  auto sopts = gateway_server_options(addr, false);
  // Both sides' families in one registry; the local shard is always up.
  std::shared_ptr<fastnet::metrics::registry> registry;
  std::shared_ptr<cluster::worker_metrics> counts;
  if (metrics.on) {
    registry = std::make_shared<fastnet::metrics::registry>();
    gopts.metrics =
        std::make_shared<cluster::gateway_metrics>(*registry, std::vector<std::string>{"local"});
    gopts.metrics->worker_changed(true);
    counts = std::make_shared<cluster::worker_metrics>(*registry, limits);
    if (!metrics.apply(sopts.net, registry, "cluster_single")) return 2;
  }
  caf::actor_system_config cfg;
  fastnet::actors::apply(cfg);
  caf::actor_system sys{cfg};
  auto shard = sys.spawn(cluster::shard_actor, limits, counts);
  auto ring = sys.spawn(cluster::local_ring, shard);
  auto end_actors = [&] {
    caf::scoped_actor self{sys};
    for (const auto& a : {ring, shard}) {
      self->send_exit(a, caf::exit_reason::user_shutdown);
      self->wait_for(a);
    }
  };
  fastnet::actors::server server(sys, sopts);
  server.spawn_per_connection(cluster::gateway_behavior(ring, gopts));
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

int main(int argc, char** argv) {
  CLI::App app{"fastnet cluster: a key-value service on gateways and workers"};
  // The --tls-* flags of worker and gateway: all three or none (CLI11 refuses
  // a partial set), so a typo can never leave a cluster in plaintext.
  tls_files tls;
  auto add_tls_flags = [&tls](CLI::App* sub) {
    auto* ca = sub->add_option("--tls-ca", tls.ca,
                               "BASP over TLS: the cluster's CA (PEM); peers must chain to it")
                   ->check(CLI::ExistingFile);
    auto* cert = sub->add_option("--tls-cert", tls.cert, "this node's certificate chain (PEM)")
                     ->check(CLI::ExistingFile);
    auto* key = sub->add_option("--tls-key", tls.key, "this node's private key (PEM, unencrypted)")
                    ->check(CLI::ExistingFile);
    ca->needs(cert)->needs(key);
    cert->needs(ca)->needs(key);
    key->needs(ca)->needs(cert);
  };
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
  add_tls_flags(worker);

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
  add_tls_flags(gateway);
  auto* single = app.add_subcommand(
      "single", "gateway and one local shard in one process (no hop; for measuring)");
  std::string single_host = "127.0.0.1";
  uint16_t single_port = 0;
  single->add_option("--host", single_host, "address to listen on")->capture_default_str();
  single->add_option("--port", single_port, "port to listen on (0 = any)")->required();
  // One set of values: only one subcommand is parsed.
  metrics_flags metrics;
  for (auto* sub : {worker, gateway, single})
    metrics.add_to(*sub);
  CLI11_PARSE(app, argc, argv);

  auto level = fastnet::parse_log_level(log_level);
  if (!level) {
    std::cerr << "unknown log level: " << log_level << "\n";
    return 2;
  }
  fastnet::set_log_level(*level);

  if (tls.enabled()) {
    if (auto err = check_tls_files(tls)) {
      std::cerr << "cluster: " << *err << "\n";
      return 2;
    }
  }
  if (worker->parsed()) return run_worker(worker_host, worker_port, limits, tls, metrics);
  if (single->parsed()) {
    auto addr = fastnet::socket_address::ip(single_host, single_port);
    if (!addr) {
      std::cerr << "bad address: " << single_host << "\n";
      return 2;
    }
    return run_single(*addr, limits, cluster::gateway_options{}, metrics);
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
                     gopts, tls, metrics);
}
