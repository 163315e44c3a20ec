#include "fastnet/stats.hpp"

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
  return *this;
}

connection_stats server_stats::connections() const {
  connection_stats sum;
  for (const auto& l : loops)
    sum += l.connections;
  return sum;
}

}  // namespace fastnet
