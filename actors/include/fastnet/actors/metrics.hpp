// fastnet::metrics for the actor layer — connection actors' statistics as
// Prometheus families (fastnet_actor_*), and watch() for an actor server or
// client: the reactor's families and the actors' in one collector.
#pragma once

#include <cstdint>
#include <string>

#include <fastnet/actors/stats.hpp>
#include <fastnet/metrics/exposition.hpp>
#include <fastnet/metrics/registry.hpp>
#include <fastnet/metrics/server_metrics.hpp>

namespace fastnet::actors {
class server;
class client;
}  // namespace fastnet::actors

namespace fastnet::metrics {

/// Adds a server's actor statistics to `out`, every sample labelled
/// server=`server` and loop="i":
///   fastnet_actor_frames_handed_total, _handled_total, _dropped_total
///   (counters), fastnet_actor_frames_pending (gauge),
///   fastnet_actor_wakes_total, fastnet_actor_runs_total{on="loop"|"worker"}
///   (counters), fastnet_actor_frame_wait_seconds (histogram).
/// Any thread (`out` one at a time, as exposition says).
void write_actor_stats(exposition& out, const actors::server_actor_stats& s,
                       const std::string& server);

/// The same families for an actor client, labelled client=`client`. Any
/// thread (`out` one at a time).
void write_client_actor_stats(exposition& out, const actors::actor_stats& s,
                              const std::string& client);

/// Makes an actor server's statistics part of every scrape of `r` as
/// `name`: the reactor server's families (write_server_stats) and the
/// actors' (write_actor_stats), read in one collector. Not for the registry
/// of the server's own /metrics endpoint, which has both already. Returns
/// the collector's id: remove it before the server is destroyed. Any thread.
uint64_t watch(registry& r, const actors::server& server, std::string name);

/// The same for an actor client: its connection families
/// (write_client_stats) and its actor's, labelled client=`name`. Any thread.
uint64_t watch(registry& r, const actors::client& client, std::string name);

}  // namespace fastnet::metrics
