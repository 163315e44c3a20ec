#include "fastnet/actors/stats.hpp"

namespace fastnet::actors {

actor_stats& actor_stats::operator+=(const actor_stats& o) {
  frames_handed += o.frames_handed;
  frames_handled += o.frames_handled;
  frames_dropped += o.frames_dropped;
  frames_pending += o.frames_pending;
  wakes += o.wakes;
  runs_on_loop += o.runs_on_loop;
  runs_on_worker += o.runs_on_worker;
  frame_wait += o.frame_wait;
  return *this;
}

actor_stats server_actor_stats::total() const {
  actor_stats t;
  for (const auto& l : loops)
    t += l;
  return t;
}

}  // namespace fastnet::actors
