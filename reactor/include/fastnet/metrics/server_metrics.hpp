// fastnet::metrics — a server's and a client's statistics as Prometheus
// families (fastnet_*), labelled by server name and loop.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "fastnet/metrics/exposition.hpp"
#include "fastnet/metrics/registry.hpp"
#include "fastnet/stats.hpp"

namespace fastnet {
class tcp_server;
class tcp_client;
}  // namespace fastnet

namespace fastnet::metrics {

/// Adds `s` to `out`: connections (accepted, active, closed by reason,
/// refused), traffic (bytes and frames each way), backpressure (high-water
/// crossings, seconds paused by cause, output queued) per loop, and each
/// loop's work (iterations, busy seconds, tasks, timers, queue depth).
/// Every sample is labelled server=`server`, and loop="i" where per loop.
/// Any thread (`out` one at a time, as exposition says).
void write_server_stats(exposition& out, const server_stats& s, const std::string& server);

/// Adds histogram family `name` to `out` from plain values: cumulative
/// `_bucket` samples with `le` (and +Inf), `_sum` and `_count`, each
/// labelled `l`. For statistics snapshots (histogram_values); the
/// registry's own histograms are written by the registry. Any thread.
void write_histogram(exposition& out, const std::string& name, std::string_view help,
                     const histogram_values& h, const labels& l);

/// Adds a client's connection counters to `out`, labelled client=`client`.
/// Any thread (`out` one at a time).
void write_client_stats(exposition& out, const connection_stats& s, const std::string& client);

/// Makes `server`'s statistics part of every scrape of `r`, as `name`.
/// Returns the collector's id: remove it before the server is destroyed.
/// Any thread.
uint64_t watch(registry& r, const tcp_server& server, std::string name);
/// The same for a client. Any thread.
uint64_t watch(registry& r, const tcp_client& client, std::string name);

}  // namespace fastnet::metrics
