// The latency histogram of load_client, shared by kv_load: fixed memory,
// percentiles to within 0.8 %, mergeable across threads.
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace load_client {

/// Log-linear latency histogram in nanoseconds, in the spirit of HdrHistogram:
/// exact below 256 ns, then 128 buckets per power of two, so every value is
/// known to within 1/128 (< 0.8 %) up to 2^36 ns (~68.7 s; larger values are
/// clamped there, but the exact maximum is kept separately). Not
/// synchronised: each thread records into its own and the owner merges them
/// once the threads are done.
class latency_histogram {
 public:
  /// Counts one value, in ns. Hot path: a few instructions, no allocation.
  void record(uint64_t ns) {
    ++counts_[index_of(std::min(ns, max_trackable))];
    ++count_;
    max_ = std::max(max_, ns);
  }

  /// Adds `other`'s counts to these.
  void merge(const latency_histogram& other) {
    for (size_t i = 0; i < bucket_count; ++i)
      counts_[i] += other.counts_[i];
    count_ += other.count_;
    max_ = std::max(max_, other.max_);
  }

  /// Values recorded, and the largest of them (exact, not bucketed).
  uint64_t count() const { return count_; }
  uint64_t max() const { return max_; }

  /// Smallest recorded value (bucket midpoint) with at least p % of the
  /// samples at or below it; p in [0, 100].
  uint64_t percentile(double p) const {
    if (count_ == 0) return 0;
    const auto rank = static_cast<uint64_t>(std::ceil(p / 100.0 * static_cast<double>(count_)));
    const uint64_t wanted = std::clamp<uint64_t>(rank, 1, count_);
    uint64_t seen = 0;
    for (size_t i = 0; i < bucket_count; ++i) {
      seen += counts_[i];
      if (seen >= wanted) return std::min(value_of(i), max_);
    }
    return max_;
  }

 private:
  static constexpr unsigned linear_bits = 8;  // values below 2^8 get a bucket each
  static constexpr unsigned sub_bits = 7;     // 2^7 buckets per power of two above
  static constexpr unsigned top_bits = 36;    // values up to 2^36 - 1
  static constexpr uint64_t max_trackable = (uint64_t{1} << top_bits) - 1;
  static constexpr size_t bucket_count =
      (size_t{1} << linear_bits) + (top_bits - linear_bits) * (size_t{1} << sub_bits);

  static size_t index_of(uint64_t v) {
    if (v < (uint64_t{1} << linear_bits)) return static_cast<size_t>(v);
    const unsigned msb = static_cast<unsigned>(std::bit_width(v)) - 1;
    const unsigned shift = msb - sub_bits;
    const uint64_t sub = (v >> shift) - (uint64_t{1} << sub_bits);
    return (size_t{1} << linear_bits) + (msb - linear_bits) * (size_t{1} << sub_bits) +
           static_cast<size_t>(sub);
  }

  static uint64_t value_of(size_t index) {
    if (index < (size_t{1} << linear_bits)) return index;
    const size_t j = index - (size_t{1} << linear_bits);
    const unsigned msb = linear_bits + static_cast<unsigned>(j >> sub_bits);
    const unsigned shift = msb - sub_bits;
    const uint64_t sub = (uint64_t{1} << sub_bits) + (j & ((size_t{1} << sub_bits) - 1));
    const uint64_t low = sub << shift;
    return low + ((uint64_t{1} << shift) - 1) / 2;
  }

  std::vector<uint64_t> counts_ = std::vector<uint64_t>(bucket_count);
  uint64_t count_ = 0;
  uint64_t max_ = 0;
};

}  // namespace load_client
