#include "fastnet/actors/metrics.hpp"

#include <utility>

#include "fastnet/actors/client.hpp"
#include "fastnet/actors/server.hpp"
#include "fastnet/tcp_client.hpp"
#include "fastnet/tcp_server.hpp"

namespace fastnet::metrics {
namespace {

/// One owner's actor families, every sample labelled `l`.
void write_actors(exposition& out, const actors::actor_stats& s, const labels& l) {
  out.single("fastnet_actor_frames_handed_total", metric_type::counter,
             "Frames the loops queued for connection actors.", l,
             static_cast<double>(s.frames_handed));
  out.single("fastnet_actor_frames_handled_total", metric_type::counter,
             "Frames connection actors began to handle.", l, static_cast<double>(s.frames_handled));
  out.single("fastnet_actor_frames_dropped_total", metric_type::counter,
             "Frames queued for actors that ended before handling them.", l,
             static_cast<double>(s.frames_dropped));
  out.single("fastnet_actor_frames_pending", metric_type::gauge,
             "Frames queued for connection actors and not yet handled.", l,
             static_cast<double>(s.frames_pending));
  out.single("fastnet_actor_wakes_total", metric_type::counter,
             "Messages waking a connection actor for frames, one per batch.", l,
             static_cast<double>(s.wakes));
  out.begin("fastnet_actor_runs_total", metric_type::counter,
            "Connection actor runs, on their connection's loop thread or on a CAF worker.");
  out.sample("fastnet_actor_runs_total", with_label(l, "on", "loop"),
             static_cast<double>(s.runs_on_loop));
  out.sample("fastnet_actor_runs_total", with_label(l, "on", "worker"),
             static_cast<double>(s.runs_on_worker));
  write_histogram(out, "fastnet_actor_frame_wait_seconds",
                  "Seconds from a frame's arrival on its loop until its actor began to handle it.",
                  s.frame_wait, l);
}

}  // namespace

void write_actor_stats(exposition& out, const actors::server_actor_stats& s,
                       const std::string& server) {
  const labels base{{"server", server}};
  for (size_t i = 0; i < s.loops.size(); ++i)
    write_actors(out, s.loops[i], with_label(base, "loop", std::to_string(i)));
}

void write_client_actor_stats(exposition& out, const actors::actor_stats& s,
                              const std::string& client) {
  write_actors(out, s, labels{{"client", client}});
}

uint64_t watch(registry& r, const actors::server& server, std::string name) {
  return r.add_collector([&server, name = std::move(name)](exposition& out) {
    write_server_stats(out, server.reactor().stats(), name);
    write_actor_stats(out, server.stats(), name);
  });
}

uint64_t watch(registry& r, const actors::client& client, std::string name) {
  return r.add_collector([&client, name = std::move(name)](exposition& out) {
    write_client_stats(out, client.reactor().stats(), name);
    write_client_actor_stats(out, client.stats(), name);
  });
}

}  // namespace fastnet::metrics
