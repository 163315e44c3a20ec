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

labels with(labels base, const char* name, std::string value) {
  base.push_back({name, std::move(value)});
  return base;
}

constexpr auto a_counter = metric_type::counter;
constexpr auto a_gauge = metric_type::gauge;

/// One owner's connection families, every sample labelled `l`.
void write_connections(exposition& out, const connection_stats& s, const labels& l) {
  out.begin("fastnet_connections_accepted_total", a_counter,
            "Connections accepted (server) or made (client), failed handshakes included.");
  out.sample("fastnet_connections_accepted_total", l, static_cast<double>(s.accepted));
  out.begin("fastnet_connections_active", a_gauge, "Connections open now, handshaking included.");
  out.sample("fastnet_connections_active", l, static_cast<double>(s.active));
  out.begin("fastnet_connections_closed_total", a_counter, "Connections closed, by close reason.");
  for (size_t i = 0; i < close_reason_count; ++i)
    out.sample("fastnet_connections_closed_total",
               with(l, "reason", to_string(static_cast<close_reason>(i))),
               static_cast<double>(s.closed[i]));
  out.begin("fastnet_received_bytes_total", a_counter,
            "Bytes read from connections (plaintext, after TLS).");
  out.sample("fastnet_received_bytes_total", l, static_cast<double>(s.bytes_received));
  out.begin("fastnet_sent_bytes_total", a_counter,
            "Bytes written to connections (plaintext, before TLS).");
  out.sample("fastnet_sent_bytes_total", l, static_cast<double>(s.bytes_sent));
  out.begin("fastnet_received_frames_total", a_counter, "Frames the codec cut from input.");
  out.sample("fastnet_received_frames_total", l, static_cast<double>(s.frames_received));
  out.begin("fastnet_sent_frames_total", a_counter, "Frames sent by the application.");
  out.sample("fastnet_sent_frames_total", l, static_cast<double>(s.frames_sent));
  out.begin("fastnet_high_water_total", a_counter,
            "Times a connection's queued output rose to its high water mark.");
  out.sample("fastnet_high_water_total", l, static_cast<double>(s.high_water_crossings));
  out.begin("fastnet_reading_paused_seconds_total", a_counter,
            "Connection-seconds spent with reading paused, by cause.");
  for (size_t i = 0; i < pause_cause_count; ++i)
    out.sample("fastnet_reading_paused_seconds_total", with(l, "cause", cause_name(i)),
               s.paused_seconds[i]);
  out.begin("fastnet_output_queued_bytes", a_gauge,
            "Output queued in connections' buffers, not yet taken by the kernel.");
  out.sample("fastnet_output_queued_bytes", l, static_cast<double>(s.output_queued_bytes));
}

void write_loop(exposition& out, const loop_stats& s, const labels& l) {
  out.begin("fastnet_loop_iterations_total", a_counter,
            "Event loop iterations (epoll_wait returns).");
  out.sample("fastnet_loop_iterations_total", l, static_cast<double>(s.iterations));
  out.begin("fastnet_loop_busy_seconds_total", a_counter,
            "Seconds the loop spent outside epoll_wait.");
  out.sample("fastnet_loop_busy_seconds_total", l, s.busy_seconds);
  out.begin("fastnet_loop_tasks_total", a_counter, "Tasks the loop ran (queued and deferred).");
  out.sample("fastnet_loop_tasks_total", l, static_cast<double>(s.tasks_run));
  out.begin("fastnet_loop_timers_fired_total", a_counter, "Timer callbacks the loop ran.");
  out.sample("fastnet_loop_timers_fired_total", l, static_cast<double>(s.timers_fired));
  out.begin("fastnet_loop_task_queue_depth", a_gauge, "Tasks waiting in the loop's queue.");
  out.sample("fastnet_loop_task_queue_depth", l, static_cast<double>(s.task_queue_depth));
}

}  // namespace

void write_server_stats(exposition& out, const server_stats& s, const std::string& server) {
  const labels base{{"server", server}};
  for (size_t i = 0; i < s.loops.size(); ++i) {
    const labels l = with(base, "loop", std::to_string(i));
    write_connections(out, s.loops[i].connections, l);
    write_loop(out, s.loops[i].work, l);
  }
  out.begin("fastnet_connections_refused_total", a_counter,
            "Connections accepted and closed at once: max_connections was reached.");
  out.sample("fastnet_connections_refused_total", base, static_cast<double>(s.refused_at_limit));
  out.begin("fastnet_accept_errors_total", a_counter,
            "accept() failures for lack of descriptors or memory (EMFILE, ENFILE, ...).");
  out.sample("fastnet_accept_errors_total", base, static_cast<double>(s.accept_resource_errors));
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
