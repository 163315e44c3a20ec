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
// A worker (worker.cpp) holds a shard of the keys in one actor (shard.hpp),
// published on port W. A gateway (gateway.cpp) serves the line protocol of
// session.hpp on port P, one actor per client connection, and forwards each
// request to the worker that owns its key (consistent hashing over the
// --workers list, in list order: give every gateway the same list). Both
// print a line with "listening" when ready and stop cleanly on SIGINT or
// SIGTERM. `--log-level LEVEL` goes before the subcommand
// (cluster --log-level info gateway ...).
//
// With --tls-ca, --tls-cert and --tls-key (all three or none) the links
// between nodes (BASP) run over TLS with mutual authentication
// (fastnet/actors/node_tls.hpp): a node without a certificate from the
// cluster's CA cannot join. Give every node of a cluster the flags: a
// plaintext node and a TLS node do not talk. The clients' side of a gateway
// is not affected (plain TCP or WebSocket).
//
// With --metrics-port a node also answers GET /metrics (Prometheus text) on
// --metrics-host:M, printing "metrics on http://HOST:M/metrics" before its
// "listening" line: a gateway its server's statistics and the
// fastnet_cluster_* families (session.hpp), a worker the
// fastnet_cluster_worker_* families (shard.hpp).
#include <CLI/CLI.hpp>

#include "log_flags.hpp"
#include "node.hpp"

int main(int argc, char** argv) {
  CLI::App app{"fastnet cluster: a key-value service on gateways and workers"};
  app.require_subcommand(1);
  add_log_level_flag(app);
  const cluster::role roles[] = {cluster::add_worker(app), cluster::add_gateway(app),
                                 cluster::add_single(app)};
  CLI11_PARSE(app, argc, argv);
  for (const auto& r : roles)
    if (r.command->parsed()) return r.run();
  return 2;  // require_subcommand(1) makes this unreachable
}
