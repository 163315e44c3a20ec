#include "fastnet/actors/stats.hpp"

namespace fastnet::actors {

uint64_t histogram_values::count() const {
  uint64_t n = 0;
  for (uint64_t c : counts)
    n += c;
  return n;
}

histogram_values& histogram_values::operator+=(const histogram_values& o) {
  if (bounds.empty()) {
    bounds = o.bounds;
    counts.assign(o.counts.size(), 0);
  }
  if (counts.size() < o.counts.size()) counts.resize(o.counts.size(), 0);
  for (size_t i = 0; i < o.counts.size(); ++i)
    counts[i] += o.counts[i];
  sum += o.sum;
  return *this;
}

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
