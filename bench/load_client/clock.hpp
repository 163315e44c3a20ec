// load_client's time base: nanoseconds on the monotonic clock.
#pragma once

#include <chrono>
#include <cmath>
#include <cstdint>

namespace load_client {

constexpr int64_t ns_per_ms = 1'000'000;
constexpr int64_t ns_per_s = 1'000'000'000;

/// Now, in ns since the steady clock's epoch. Any thread.
inline int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

/// Seconds as whole nanoseconds, rounded. Any thread.
inline int64_t seconds_to_ns(double s) {
  return static_cast<int64_t>(std::llround(s * 1e9));
}

}  // namespace load_client
