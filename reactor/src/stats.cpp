#include "fastnet/stats.hpp"

#include <algorithm>
#include <cstring>

namespace fastnet {

connection_stats& connection_stats::operator+=(const connection_stats& o) {
  accepted += o.accepted;
  for (size_t i = 0; i < close_reason_count; ++i)
    closed[i] += o.closed[i];
  active += o.active;
  bytes_received += o.bytes_received;
  bytes_sent += o.bytes_sent;
  frames_received += o.frames_received;
  frames_sent += o.frames_sent;
  high_water_crossings += o.high_water_crossings;
  for (size_t i = 0; i < pause_cause_count; ++i)
    paused_seconds[i] += o.paused_seconds[i];
  output_queued_bytes += o.output_queued_bytes;
  if (protocol.empty()) protocol = o.protocol;
  for (const auto& h : o.handshakes) {
    auto it = std::find_if(handshakes.begin(), handshakes.end(), [&h](const handshake_times& m) {
      return std::strcmp(m.layer, h.layer) == 0;
    });
    if (it == handshakes.end())
      handshakes.push_back(h);
    else
      it->seconds += h.seconds;
  }
  for (const auto& e : o.layer_events) {
    auto same = [&e](const layer_event_count& m) {
      return std::strcmp(m.event.family, e.event.family) == 0 &&
             std::strcmp(m.event.label, e.event.label) == 0 &&
             std::strcmp(m.event.value, e.event.value) == 0;
    };
    auto it = std::find_if(layer_events.begin(), layer_events.end(), same);
    if (it == layer_events.end())
      layer_events.push_back(e);
    else
      it->count += e.count;
  }
  return *this;
}

connection_stats server_stats::connections() const {
  connection_stats sum;
  for (const auto& l : loops)
    sum += l.connections;
  return sum;
}

}  // namespace fastnet

namespace fastnet {

void event_tally::observe_handshake(double seconds) {
  size_t i = 0;
  while (i < handshake_bounds.size() && seconds > handshake_bounds[i])
    ++i;
  bump(handshake_buckets_[i], 1);
  bump(handshake_ns_, static_cast<uint64_t>(seconds * 1e9));
}

handshake_times event_tally::handshakes() const {
  handshake_times h;
  h.layer = layer_;
  h.seconds.bounds.assign(handshake_bounds.begin(), handshake_bounds.end());
  for (const auto& b : handshake_buckets_)
    h.seconds.counts.push_back(b.load(std::memory_order_relaxed));
  h.seconds.sum = static_cast<double>(handshake_ns_.load(std::memory_order_relaxed)) / 1e9;
  return h;
}

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

}  // namespace fastnet
