// load_client's output (see report.hpp).
#include "report.hpp"

#include <cstdio>

namespace load_client {

namespace {

double ns_to_us(uint64_t ns) {
  return static_cast<double>(ns) / 1e3;
}

}  // namespace

void print_header(const options& opts, const target& dest) {
  std::printf(
      "load_client: %s mode=%s conns=%u size=%u inflight=%u frame=%s duration=%.1fs threads=%u",
      dest.display.c_str(), to_string(opts.resolved_mode), opts.n_conns, opts.n_size,
      opts.n_inflight, to_string(opts.frame), opts.duration_s, opts.threads);
  if (opts.warmup_s > 0) std::printf(" warmup=%.1fs", opts.warmup_s);
  if (opts.n_sources > 0) std::printf(" source-addrs=%u", opts.n_sources);
  if (opts.tls) {
    std::printf(" tls=%s%s%s%s%s", opts.tls_version.c_str(), opts.tls_ciphers.empty() ? "" : " ",
                opts.tls_ciphers.c_str(), opts.tls_resume ? " resume" : "",
                opts.tls_ca.empty() ? " (certificate not verified)" : "");
  }
  if (opts.resolved_mode == run_mode::idle)
    std::printf(" ping-interval=%.3gs", opts.ping_interval_s);
  if (opts.rate > 0) std::printf(" rate=%.0f/s", opts.rate);
  if (opts.server_pid) std::printf(" server-pid=%d", *opts.server_pid);
  std::printf("\n");
  std::fflush(stdout);
}

void print_report(const report& r) {
  const run_stats& s = r.s;
  const latency_histogram& h = s.latency;
  const auto& e = s.errors;
  const bool shortconn = r.opts.resolved_mode == run_mode::shortconn;
  const bool handshake = r.opts.resolved_mode == run_mode::handshake;
  const char* per_unit = handshake ? "handshake" : shortconn ? "connection" : "message";

  std::printf("connections  : %llu established, %llu failed",
              static_cast<unsigned long long>(s.established),
              static_cast<unsigned long long>(s.failed));
  if (s.unfinished > 0) {
    std::printf(", %llu unfinished", static_cast<unsigned long long>(s.unfinished));
  }
  std::printf("\n");
  if (handshake) {
    std::printf(
        "handshakes   : %llu completed (%.0f/s), each connect + TLS handshake + %u B echo + "
        "close_notify + close\n",
        static_cast<unsigned long long>(s.messages), r.msgs_per_s(), r.opts.n_size);
  } else if (shortconn) {
    std::printf("short conns  : %llu completed (%.0f/s), each connect + %u B echo + close\n",
                static_cast<unsigned long long>(s.messages), r.msgs_per_s(), r.opts.n_size);
  } else {
    std::printf("messages     : %llu (%.0f/s)\n", static_cast<unsigned long long>(s.messages),
                r.msgs_per_s());
  }
  std::printf("throughput   : %.2f MiB/s each way\n", r.mib_per_s());
  std::printf("latency (us) : p50 %.0f  p90 %.0f  p99 %.0f  p999 %.0f  max %.0f\n",
              ns_to_us(h.percentile(50)), ns_to_us(h.percentile(90)), ns_to_us(h.percentile(99)),
              ns_to_us(h.percentile(99.9)), ns_to_us(h.max()));
  std::printf("errors       : %llu (", static_cast<unsigned long long>(s.total_errors()));
  for (size_t i = 0; i < error_kind_count; ++i) {
    std::printf("%s%s %llu", i == 0 ? "" : ", ", error_names[i],
                static_cast<unsigned long long>(e[i]));
  }
  std::printf(")\n");
  if (r.opts.tls) {
    std::printf("tls          : %s, handshakes in the window: %llu full, %llu resumed\n",
                s.tls_negotiated.empty() ? "no handshake completed" : s.tls_negotiated.c_str(),
                static_cast<unsigned long long>(s.tls_full),
                static_cast<unsigned long long>(s.tls_resumed));
    if (r.opts.tls_resume && s.tls_full > s.tls_resumed) {
      std::printf(
          "tls          : warning: --tls-resume, yet most handshakes were full "
          "(does the server resume sessions?)\n");
    }
  }
  std::printf("client CPU   : %.0f%% of one core over the %.2f s window\n", r.client_cpu_pct(),
              r.window_s());
  if (r.opts.server_pid) {
    std::printf("server       : pid %d", *r.opts.server_pid);
    if (const auto cpu = r.server_cpu_s()) {
      std::printf(", CPU %.2f s = %.0f%% of one core", *cpu, *r.server_cpu_pct());
    }
    if (const auto per = r.server_cpu_us_per_msg()) {
      std::printf(", %.2f us per %s", *per, per_unit);
    }
    if (r.begin.server_rss_kib && r.finish.server_rss_kib) {
      std::printf(", RSS %llu -> %llu KiB",
                  static_cast<unsigned long long>(*r.begin.server_rss_kib),
                  static_cast<unsigned long long>(*r.finish.server_rss_kib));
    }
    std::printf("\n");
  }
  if (r.idle()) {
    std::printf("idle         : %lld connections open at the window's start, %lld at its end\n",
                static_cast<long long>(r.open_at_begin), static_cast<long long>(r.open_at_end));
    if (const auto per = r.rss_per_conn_kib()) {
      std::printf("idle memory  : server RSS %llu -> %llu KiB = %.2f KiB per connection\n",
                  static_cast<unsigned long long>(*r.base.server_rss_kib),
                  static_cast<unsigned long long>(*r.finish.server_rss_kib), *per);
    }
    if (const auto k = r.kernel_kib_per_socket()) {
      std::printf(
          "kernel       : ~%.2f KiB per socket (slab %+lld KiB, TCP buffers %+lld pages, "
          "machine-wide, over both ends)\n",
          *k, static_cast<long long>(*r.slab_delta_kib()),
          static_cast<long long>(*r.tcp_pages_delta()));
    }
  }
  std::printf("fd limit     : RLIMIT_NOFILE %llu (hard %llu)",
              static_cast<unsigned long long>(r.nofile.first),
              static_cast<unsigned long long>(r.nofile.second));
  if (r.server_nofile) {
    std::printf(", server's %llu", static_cast<unsigned long long>(*r.server_nofile));
  }
  std::printf("\n");

  if (!r.opts.json) return;
  std::printf(
      "{\"msgs\":%llu,\"msgs_per_s\":%.1f,\"mib_per_s\":%.3f,\"p50_us\":%.1f,\"p99_us\":%.1f,"
      "\"p999_us\":%.1f,\"errors\":%llu,\"established\":%llu,\"p90_us\":%.1f,\"max_us\":%.1f,"
      "\"failed\":%llu,\"conns\":%u,\"size\":%u,\"inflight\":%u,\"frame\":\"%s\",\"threads\":%u,"
      "\"duration_s\":%.3f,\"mode\":\"%s\",\"window_s\":%.3f,\"client_cpu_pct\":%.1f,"
      "\"source_addrs\":%u,\"nofile_soft\":%llu,\"nofile_hard\":%llu",
      static_cast<unsigned long long>(s.messages), r.msgs_per_s(), r.mib_per_s(),
      ns_to_us(h.percentile(50)), ns_to_us(h.percentile(99)), ns_to_us(h.percentile(99.9)),
      static_cast<unsigned long long>(s.total_errors()),
      static_cast<unsigned long long>(s.established), ns_to_us(h.percentile(90)), ns_to_us(h.max()),
      static_cast<unsigned long long>(s.failed), r.opts.n_conns, r.opts.n_size, r.opts.n_inflight,
      to_string(r.opts.frame), r.opts.threads, r.opts.duration_s, to_string(r.opts.resolved_mode),
      r.window_s(), r.client_cpu_pct(), r.opts.n_sources,
      static_cast<unsigned long long>(r.nofile.first),
      static_cast<unsigned long long>(r.nofile.second));
  for (size_t i = 0; i < error_kind_count; ++i) {
    std::printf(",\"%s_errors\":%llu", error_names[i], static_cast<unsigned long long>(e[i]));
  }
  if (shortconn || handshake) std::printf(",\"conns_per_s\":%.1f", r.msgs_per_s());
  if (handshake) std::printf(",\"handshakes_per_s\":%.1f", r.msgs_per_s());
  if (r.opts.tls) {
    std::printf(",\"tls\":\"%s\",\"tls_full\":%llu,\"tls_resumed\":%llu", s.tls_negotiated.c_str(),
                static_cast<unsigned long long>(s.tls_full),
                static_cast<unsigned long long>(s.tls_resumed));
  }
  if (r.opts.server_pid) {
    std::printf(",\"server_pid\":%d", *r.opts.server_pid);
    if (const auto cpu = r.server_cpu_s()) {
      std::printf(",\"server_cpu_s\":%.3f,\"server_cpu_pct\":%.1f", *cpu, *r.server_cpu_pct());
    }
    if (const auto per = r.server_cpu_us_per_msg()) {
      std::printf(",\"server_cpu_us_per_msg\":%.3f", *per);
      if (shortconn) std::printf(",\"server_cpu_us_per_conn\":%.3f", *per);
      if (handshake) std::printf(",\"server_cpu_us_per_handshake\":%.3f", *per);
    }
    if (r.begin.server_rss_kib) {
      std::printf(",\"server_rss_kib_before\":%llu",
                  static_cast<unsigned long long>(*r.begin.server_rss_kib));
    }
    if (r.finish.server_rss_kib) {
      std::printf(",\"server_rss_kib_after\":%llu",
                  static_cast<unsigned long long>(*r.finish.server_rss_kib));
    }
    if (r.server_nofile) {
      std::printf(",\"server_nofile\":%llu", static_cast<unsigned long long>(*r.server_nofile));
    }
  }
  if (r.idle()) {
    std::printf(",\"idle_open_begin\":%lld,\"idle_open_end\":%lld",
                static_cast<long long>(r.open_at_begin), static_cast<long long>(r.open_at_end));
    if (r.base.server_rss_kib) {
      std::printf(",\"server_rss_kib_base\":%llu",
                  static_cast<unsigned long long>(*r.base.server_rss_kib));
    }
    if (const auto per = r.rss_per_conn_kib()) std::printf(",\"rss_per_conn_kib\":%.3f", *per);
    if (const auto slab = r.slab_delta_kib()) {
      std::printf(",\"slab_delta_kib\":%lld", static_cast<long long>(*slab));
    }
    if (const auto pages = r.tcp_pages_delta()) {
      std::printf(",\"tcp_mem_delta_pages\":%lld", static_cast<long long>(*pages));
    }
    if (const auto k = r.kernel_kib_per_socket()) {
      std::printf(",\"kernel_kib_per_socket\":%.3f", *k);
    }
  }
  std::printf("}\n");
}

}  // namespace load_client
