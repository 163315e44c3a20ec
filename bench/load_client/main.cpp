// load_client — a neutral TCP load generator for echo servers.
//
// Opens connections to an echo server and drives them in one of six modes:
//   pingpong   C connections, one S-byte message in flight on each
//   pipelined  C connections, P messages in flight on each
//   stream     large messages (64 KiB by default) kept flowing continuously
//   shortconn  connect, send S bytes, read the echo, close; repeat
//   handshake  shortconn over TLS: connect, handshake (full, or resumed with
//              --tls-resume), S bytes echoed, close_notify, close; repeat
//   idle       hold N connections, ping each with a small message every T s
// With --tls every mode runs over TLS (OpenSSL 3, tls.cpp).
// Every echoed byte is checked against the byte that was sent. It reports
// message (or connection) rate, throughput, latency percentiles from a
// histogram and errors by kind; given the server's pid it also reads the
// server's CPU time and RSS from /proc around the measured window, so servers
// can be ranked by CPU per message even when this client saturates first.
// It deliberately uses nothing but libc, libstdc++, pthreads, CLI11 (header
// only, for the flags) and, for TLS, OpenSSL (no fastnet code), so the same
// binary can be pointed at fastnet and at any other echo server and neither
// side gets a home advantage.
//
// Policy: it only ever targets loopback (127.0.0.0/8 or ::1). It is a
// benchmark for servers on this machine, not a tool to load someone else's.
//
// Linux only (epoll). Run with --help for the flags.
//
// The files, one concern each:
//   main.cpp        this: the run from flags to report, and the measured window
//   options.*       the flags (CLI11), their mode-dependent defaults and checks
//   loopback.*      the target address and the loopback-only policy
//   wire.hpp        framing, the random payload table, the seeded byte stream
//   worker.*        the threads: one epoll each, the connections, the hot loop
//   histogram.hpp   the latency histogram (kv_load uses it too)
//   run_stats.hpp   what a worker counts: messages, latency, errors by kind
//   proc_probe.*    server CPU/RSS and kernel memory from /proc
//   report.*        the header line, the report and its JSON line
//   tls.*           the TLS client end (OpenSSL 3)
//   clock.hpp       the monotonic nanosecond clock

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "clock.hpp"
#include "loopback.hpp"
#include "options.hpp"
#include "proc_probe.hpp"
#include "report.hpp"
#include "run_stats.hpp"
#include "tls.hpp"
#include "wire.hpp"
#include "worker.hpp"

using namespace load_client;

namespace {

// Idle mode: connecting N connections is bounded by this, whatever happens.
constexpr int64_t max_connect_phase_ns = 120 * ns_per_s;

/// Thousands of connections need thousands of descriptors; the hard limit is
/// the most an unprivileged process may take, so take it. Returns the limit
/// in force afterwards (soft, hard).
std::pair<uint64_t, uint64_t> raise_fd_limit(uint32_t conns, uint32_t threads) {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return {0, 0};
  if (lim.rlim_cur < lim.rlim_max) {
    rlimit raised = lim;
    raised.rlim_cur = lim.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) lim = raised;
  }
  const rlim_t needed = rlim_t{conns} + threads + 16;
  if (lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur < needed) {
    std::fprintf(stderr,
                 "load_client: warning: RLIMIT_NOFILE is %llu, %llu needed; "
                 "some connects will fail\n",
                 static_cast<unsigned long long>(lim.rlim_cur),
                 static_cast<unsigned long long>(needed));
  }
  return {lim.rlim_cur, lim.rlim_max};
}

/// Sleeps until `deadline`, or until every worker has returned, or `done()`.
template <typename Done>
void wait_until(const run_control& control, int64_t deadline, Done done) {
  for (;;) {
    const int64_t now = now_ns();
    if (now >= deadline || control.workers_running.load(std::memory_order_acquire) == 0 || done()) {
      return;
    }
    // Short naps keep the window's edges within a few ms at no real CPU cost.
    std::this_thread::sleep_for(
        std::chrono::nanoseconds(std::min<int64_t>(deadline - now, 20 * ns_per_ms)));
  }
}

}  // namespace

int main(int argc, char** argv) {
  options opts;
  if (const std::optional<int> status = parse_options(argc, argv, opts)) return *status;

  std::string error;
  const std::optional<target> dest = resolve_loopback(opts.host, opts.port, error);
  if (!dest) {
    std::fprintf(stderr, "load_client: %s\n", error.c_str());
    return 2;
  }
  if (opts.n_sources > 0 && dest->family != AF_INET) {
    if (opts.source_addresses) {
      std::fprintf(stderr,
                   "load_client: --source-addrs needs an IPv4 target (::1 is one address)\n");
      return 2;
    }
    opts.n_sources = 0;  // the mode's default; IPv6 loopback has a single address
  }
  if (opts.server_pid && !process_cpu_seconds(*opts.server_pid)) {
    std::fprintf(stderr, "load_client: cannot read /proc/%d/stat (--server-pid)\n",
                 *opts.server_pid);
    return 2;
  }

  // One TLS client per thread, made here so a bad CA file stops the run
  // before any connect.
  std::vector<std::unique_ptr<tls::client>> tls_clients;
  if (opts.tls) {
    // OpenSSL writes to the socket with write(), not send(MSG_NOSIGNAL): a
    // server that has closed must be an error counted, not a SIGPIPE.
    std::signal(SIGPIPE, SIG_IGN);
    tls::settings settings;
    settings.ca_file = opts.tls_ca;
    settings.server_ip = dest->address;
    settings.version = opts.tls_version;
    settings.ciphers = opts.tls_ciphers;
    settings.resume = opts.tls_resume;
    for (uint32_t t = 0; t < opts.threads; ++t) {
      tls_clients.push_back(tls::client::make(settings, error));
      if (!tls_clients.back()) {
        std::fprintf(stderr, "load_client: %s\n", error.c_str());
        return 2;
      }
    }
  }

  const auto nofile = raise_fd_limit(opts.n_conns, opts.threads);
  print_header(opts, *dest);

  run_control control;
  const bool idle = opts.resolved_mode == run_mode::idle;
  const probe base = probe::take(opts.server_pid);  // before the first connect
  const int64_t start = now_ns();
  if (idle) {
    // Opened once every connection is up (below).
    control.measure_from_ns = std::numeric_limits<int64_t>::max();
    control.end_ns = std::numeric_limits<int64_t>::max();
  } else {
    control.measure_from_ns = start + seconds_to_ns(opts.warmup_s);
    control.end_ns = control.measure_from_ns + seconds_to_ns(opts.duration_s);
  }
  const payload_table table(opts.frame);
  const run_plan plan{
      .opts = opts,
      .table = table,
      .dest = *dest,
      .message_wire_bytes = wire_bytes(opts.frame, opts.n_size),
      .connect_timeout_ns = seconds_to_ns(opts.connect_timeout_s),
      .ping_interval_ns = std::max<int64_t>(seconds_to_ns(opts.ping_interval_s), 1),
      .control = control,
  };
  worker_pool pool(plan, tls_clients);

  if (idle) {
    wait_until(control, start + max_connect_phase_ns, [&] {
      return control.connect_phases_done.load(std::memory_order_acquire) == opts.threads;
    });
    // One ping interval later every connection has exchanged a message, so
    // whatever the server allocates for a message has been allocated.
    wait_until(control, now_ns() + plan.ping_interval_ns, [] { return false; });
  } else {
    wait_until(control, control.measure_from_ns.load(), [] { return false; });
  }
  const probe begin = probe::take(opts.server_pid);
  const int64_t open_at_begin = control.open_conns.load();
  if (idle) {
    control.measure_from_ns = begin.at_ns;
    control.end_ns = begin.at_ns + seconds_to_ns(opts.duration_s);
  }
  wait_until(control, control.end_ns.load(), [] { return false; });
  const probe finish = probe::take(opts.server_pid);
  const int64_t open_at_end = control.open_conns.load();
  control.end_ns = std::min(control.end_ns.load(), finish.at_ns);  // workers that still run stop
  const run_stats total = pool.join();

  const report r{
      .opts = opts,
      .message_wire_bytes = plan.message_wire_bytes,
      .s = total,
      .base = base,
      .begin = begin,
      .finish = finish,
      .open_at_begin = open_at_begin,
      .open_at_end = open_at_end,
      .nofile = nofile,
      .server_nofile =
          opts.server_pid ? process_fd_limit(*opts.server_pid) : std::optional<uint64_t>{},
  };
  print_report(r);
  if (idle) {
    return total.total_errors() == 0 && total.established == opts.n_conns ? 0 : 1;
  }
  return total.total_errors() == 0 && total.messages > 0 ? 0 : 1;
}
