// What load_client prints: the header line before the run, and the report
// (aligned "name : figures" lines, with --json one JSON line more) after it.
// Scripts parse both (bench/run_matrix.py, ab_echo.py, tests): keep the
// lines, keys and formats as they are.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <utility>

#include "loopback.hpp"
#include "options.hpp"
#include "proc_probe.hpp"
#include "run_stats.hpp"

namespace load_client {

/// Prints the line describing the run about to start, and flushes stdout.
/// Main thread.
void print_header(const options& opts, const target& dest);

/// Everything measured, derived into the figures that are printed. Made by
/// the main thread once the workers have returned.
struct report {
  const options& opts;
  uint64_t message_wire_bytes;
  const run_stats& s;
  probe base;    // before the first connect
  probe begin;   // window start
  probe finish;  // window end
  int64_t open_at_begin = 0;
  int64_t open_at_end = 0;
  std::pair<uint64_t, uint64_t> nofile;  // this process: soft, hard
  std::optional<uint64_t> server_nofile;

  double window_s() const { return static_cast<double>(finish.at_ns - begin.at_ns) / 1e9; }
  double msgs_per_s() const { return static_cast<double>(s.messages) / opts.duration_s; }
  double mib_per_s() const {
    return msgs_per_s() * static_cast<double>(message_wire_bytes) / (1024.0 * 1024.0);
  }
  double client_cpu_pct() const {
    return 100.0 * (finish.client_cpu_s - begin.client_cpu_s) / std::max(window_s(), 1e-9);
  }
  std::optional<double> server_cpu_s() const {
    if (!begin.server_cpu_s || !finish.server_cpu_s) return std::nullopt;
    return *finish.server_cpu_s - *begin.server_cpu_s;
  }
  std::optional<double> server_cpu_pct() const {
    const auto cpu = server_cpu_s();
    if (!cpu) return std::nullopt;
    return 100.0 * *cpu / std::max(window_s(), 1e-9);
  }
  /// Server CPU µs per message (shortconn: per connection). The window the
  /// messages are counted in is the one the CPU is read around.
  std::optional<double> server_cpu_us_per_msg() const {
    const auto cpu = server_cpu_s();
    if (!cpu || s.messages == 0) return std::nullopt;
    return *cpu * 1e6 / static_cast<double>(s.messages);
  }
  bool idle() const { return opts.resolved_mode == run_mode::idle; }
  /// idle: server RSS growth per open connection, from before the first connect.
  std::optional<double> rss_per_conn_kib() const {
    if (!idle() || !base.server_rss_kib || !finish.server_rss_kib || open_at_end <= 0) {
      return std::nullopt;
    }
    return (static_cast<double>(*finish.server_rss_kib) -
            static_cast<double>(*base.server_rss_kib)) /
           static_cast<double>(open_at_end);
  }
  std::optional<int64_t> slab_delta_kib() const {
    if (!base.slab_kib || !finish.slab_kib) return std::nullopt;
    return static_cast<int64_t>(*finish.slab_kib) - static_cast<int64_t>(*base.slab_kib);
  }
  std::optional<int64_t> tcp_pages_delta() const {
    if (!base.tcp_pages || !finish.tcp_pages) return std::nullopt;
    return static_cast<int64_t>(*finish.tcp_pages) - static_cast<int64_t>(*base.tcp_pages);
  }
  /// idle: kernel memory per socket: slab growth plus TCP buffer pages,
  /// machine-wide, over both ends of every loopback connection (client and
  /// server sockets are alike), so it is an estimate, noisy on a busy machine.
  std::optional<double> kernel_kib_per_socket() const {
    const auto slab = slab_delta_kib();
    const auto pages = tcp_pages_delta();
    if (!idle() || !slab || !pages || open_at_end <= 0) return std::nullopt;
    const double page_kib = static_cast<double>(sysconf(_SC_PAGESIZE)) / 1024.0;
    return (static_cast<double>(*slab) + static_cast<double>(*pages) * page_kib) /
           (2.0 * static_cast<double>(open_at_end));
  }
};

/// Prints the report to stdout. Main thread.
void print_report(const report& r);

}  // namespace load_client
