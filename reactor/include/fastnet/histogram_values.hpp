// fastnet — a histogram's counts as plain values, for statistics snapshots.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace fastnet {

/// A histogram as plain values: the count of observations in each bucket
/// and their sum. Thread safety: a plain value; copy and read freely.
struct histogram_values {
  /// Upper bounds of the buckets, ascending (seconds, for times).
  std::vector<double> bounds;
  /// counts[i]: observations at or below bounds[i] and above the bound
  /// before it (not cumulative); counts[bounds.size()] those above every
  /// bound. Size bounds.size() + 1.
  std::vector<uint64_t> counts;
  /// All observations added up.
  double sum = 0;

  /// Observations over all buckets.
  uint64_t count() const;
  /// Adds `o` into this (for sums over loops); `o` must have the same
  /// bounds, or this none yet (it then takes o's).
  histogram_values& operator+=(const histogram_values& o);
};

}  // namespace fastnet
