#include "fastnet/metrics/server_metrics.hpp"

#include "fastnet/tcp_client.hpp"
#include "fastnet/tcp_server.hpp"

namespace fastnet::metrics {
namespace {

const char* cause_name(size_t i) {
  switch (static_cast<pause_cause>(i)) {
    case pause_cause::output:
      return "output";
    case pause_cause::inbound:
      return "inbound";
    case pause_cause::user:
      return "user";
  }
  return "unknown";
}

void add_counter(exposition& out, const char* name, const char* help, const labels& l, double v) {
  out.single(name, metric_type::counter, help, l, v);
}
void add_gauge(exposition& out, const char* name, const char* help, const labels& l, double v) {
  out.single(name, metric_type::gauge, help, l, v);
}

/// What the protocol counted of its own events: each event a sample of its
/// family (exposition groups a family's samples wherever they are added).
void write_layer_events(exposition& out, const connection_stats& s, const labels& l) {
  for (const auto& e : s.layer_events) {
    out.begin(e.event.family, metric_type::counter, e.event.help);
    out.sample(e.event.family, with_label(l, e.event.label, e.event.value),
               static_cast<double>(e.count));
  }
  for (const auto& h : s.handshakes)
    write_histogram(out, "fastnet_handshake_seconds",
                    "Time from a layer's start to its completed handshake (TLS).", h.seconds,
                    with_label(l, "layer", h.layer));
}

/// One owner's connection families, every sample labelled `l`; the traffic
/// families also by the codec or protocol spoken.
void write_connections(exposition& out, const connection_stats& s, const labels& l) {
  const labels traffic = with_label(l, "protocol", s.protocol);
  add_counter(out, "fastnet_connections_accepted_total",
              "Connections accepted (server) or made (client), failed handshakes included.", l,
              static_cast<double>(s.accepted));
  add_gauge(out, "fastnet_connections_active", "Connections open now, handshaking included.", l,
            static_cast<double>(s.active));
  out.begin("fastnet_connections_closed_total", metric_type::counter,
            "Connections closed, by close reason.");
  for (size_t i = 0; i < close_reason_count; ++i)
    out.sample("fastnet_connections_closed_total",
               with_label(l, "reason", to_string(static_cast<close_reason>(i))),
               static_cast<double>(s.closed[i]));
  add_counter(out, "fastnet_received_bytes_total",
              "Bytes read from connections (plaintext, after TLS), by protocol.", traffic,
              static_cast<double>(s.bytes_received));
  add_counter(out, "fastnet_sent_bytes_total",
              "Bytes written to connections (plaintext, before TLS), by protocol.", traffic,
              static_cast<double>(s.bytes_sent));
  add_counter(out, "fastnet_received_frames_total", "Frames the codec cut from input, by protocol.",
              traffic, static_cast<double>(s.frames_received));
  add_counter(out, "fastnet_sent_frames_total", "Frames sent by the application, by protocol.",
              traffic, static_cast<double>(s.frames_sent));
  add_counter(out, "fastnet_high_water_total",
              "Times a connection's queued output rose to its high water mark.", l,
              static_cast<double>(s.high_water_crossings));
  out.begin("fastnet_reading_paused_seconds_total", metric_type::counter,
            "Connection-seconds spent with reading paused, by cause.");
  for (size_t i = 0; i < pause_cause_count; ++i)
    out.sample("fastnet_reading_paused_seconds_total", with_label(l, "cause", cause_name(i)),
               s.paused_seconds[i]);
  add_gauge(out, "fastnet_output_queued_bytes",
            "Output queued in connections' buffers, not yet taken by the kernel.", l,
            static_cast<double>(s.output_queued_bytes));
  write_layer_events(out, s, l);
}

void write_loop(exposition& out, const loop_stats& s, const labels& l) {
  add_counter(out, "fastnet_loop_iterations_total", "Event loop iterations (epoll_wait returns).",
              l, static_cast<double>(s.iterations));
  add_counter(out, "fastnet_loop_busy_seconds_total", "Seconds the loop spent outside epoll_wait.",
              l, s.busy_seconds);
  add_counter(out, "fastnet_loop_tasks_total", "Tasks the loop ran (queued and deferred).", l,
              static_cast<double>(s.tasks_run));
  add_counter(out, "fastnet_loop_timers_fired_total", "Timer callbacks the loop ran.", l,
              static_cast<double>(s.timers_fired));
  add_gauge(out, "fastnet_loop_task_queue_depth", "Tasks waiting in the loop's queue.", l,
            static_cast<double>(s.task_queue_depth));
}

}  // namespace

void write_histogram(exposition& out, const std::string& name, std::string_view help,
                     const histogram_values& h, const labels& l) {
  out.begin(name, metric_type::histogram, help);
  const std::string bucket = name + "_bucket";
  labels with_le = with_label(l, "le", "");
  uint64_t running = 0;
  for (size_t i = 0; i < h.bounds.size(); ++i) {
    running += i < h.counts.size() ? h.counts[i] : 0;
    with_le.back().value = exposition::format_value(h.bounds[i]);
    out.sample(bucket, with_le, static_cast<double>(running));
  }
  if (h.counts.size() > h.bounds.size()) running += h.counts[h.bounds.size()];
  with_le.back().value = "+Inf";
  out.sample(bucket, with_le, static_cast<double>(running));
  out.sample(name + "_sum", l, h.sum);
  out.sample(name + "_count", l, static_cast<double>(running));
}

void write_server_stats(exposition& out, const server_stats& s, const std::string& server) {
  const labels base{{"server", server}};
  for (size_t i = 0; i < s.loops.size(); ++i) {
    const labels l = with_label(base, "loop", std::to_string(i));
    write_connections(out, s.loops[i].connections, l);
    write_loop(out, s.loops[i].work, l);
  }
  add_counter(out, "fastnet_connections_refused_total",
              "Connections accepted and closed at once: max_connections was reached.", base,
              static_cast<double>(s.refused_at_limit));
  add_counter(out, "fastnet_accept_errors_total",
              "accept() failures for lack of descriptors or memory (EMFILE, ENFILE, ...).", base,
              static_cast<double>(s.accept_resource_errors));
}

void write_client_stats(exposition& out, const connection_stats& s, const std::string& client) {
  write_connections(out, s, labels{{"client", client}});
}

uint64_t watch(registry& r, const tcp_server& server, std::string name) {
  return r.add_collector([&server, name = std::move(name)](exposition& out) {
    write_server_stats(out, server.stats(), name);
  });
}

uint64_t watch(registry& r, const tcp_client& client, std::string name) {
  return r.add_collector([&client, name = std::move(name)](exposition& out) {
    write_client_stats(out, client.stats(), name);
  });
}

}  // namespace fastnet::metrics
