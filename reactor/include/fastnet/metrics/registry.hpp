// fastnet::metrics — the metrics a process exports: the application's own
// counters, gauges and histograms, and collectors that add families when
// scraped (a server's statistics, see server_metrics.hpp).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "fastnet/metrics/exposition.hpp"

namespace fastnet::metrics {

/// A value that only grows. Thread safety: any thread (atomic).
class counter {
 public:
  /// Adds `v` (>= 0; a negative step is ignored: counters never go down).
  void add(double v = 1) {
    if (v > 0) value_.fetch_add(v, std::memory_order_relaxed);
  }
  /// The total so far.
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

/// A value that goes up and down. Thread safety: any thread (atomic).
class gauge {
 public:
  /// Sets the value.
  void set(double v) { value_.store(v, std::memory_order_relaxed); }
  /// Adds `v` (negative: subtracts).
  void add(double v) { value_.fetch_add(v, std::memory_order_relaxed); }
  /// The value now.
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

/// Upper bounds from `lowest` to at least `highest`: 1, 2 and 5 times each
/// power of ten (log-linear: three buckets per decade, so a latency from
/// microseconds to seconds fits in about twenty buckets). Any thread.
std::vector<double> log_linear_buckets(double lowest, double highest);

/// Counts observations into buckets by upper bound (cumulative when
/// exported, with +Inf), with their sum. Thread safety: any thread (one
/// atomic add per observation and one for the sum).
class histogram {
 public:
  /// `bounds` ascending; std::invalid_argument otherwise, or when empty.
  explicit histogram(std::vector<double> bounds);
  /// Counts `v` in the first bucket whose bound is at or above it (or in the
  /// last one) and adds it to the sum: a binary search and two atomic adds.
  void observe(double v);

  /// The buckets' upper bounds, as given.
  const std::vector<double>& bounds() const { return bounds_; }
  /// Observations at or below bounds()[i] and above the bound before it;
  /// index bounds().size() counts those above every bound.
  uint64_t bucket(size_t i) const { return counts_[i].load(std::memory_order_relaxed); }
  /// Observations over all buckets (read one bucket after the other).
  uint64_t count() const;
  /// The observed values added up.
  double sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;
  std::atomic<double> sum_{0};
};

/// What a process exports. Metrics are made once (at start-up, typically)
/// and updated from anywhere; references stay valid for the registry's
/// life. Collectors run at each scrape to add families computed then.
/// Thread safety: every method from any thread. Collectors run with the
/// registry locked: they must not call back into it.
class registry {
 public:
  /// An empty registry.
  registry();
  ~registry();
  registry(const registry&) = delete;
  registry& operator=(const registry&) = delete;

  /// Makes a counter. `name` follows Prometheus conventions (snake_case,
  /// counters end in _total, base units: _seconds, _bytes); one name may
  /// be made several times with different `labels`, always with one type.
  /// std::invalid_argument for a bad name, a bad label name, or a name
  /// already made with another type.
  counter& make_counter(const std::string& name, const std::string& help, labels l = {});
  /// Makes a gauge; names and labels as for make_counter.
  gauge& make_gauge(const std::string& name, const std::string& help, labels l = {});
  /// Makes a histogram with the upper bounds `bounds` (ascending and
  /// distinct: log_linear_buckets() makes such); names and labels as for
  /// make_counter, and std::invalid_argument for bad bounds too.
  histogram& make_histogram(const std::string& name, const std::string& help,
                            std::vector<double> bounds, labels l = {});

  /// Adds families to a scrape, computed then. Runs at every scrape, on the
  /// scraping thread, with the registry locked.
  using collector = std::function<void(exposition&)>;
  /// Adds a collector; the id removes it again (do that before whatever it
  /// reads goes away).
  uint64_t add_collector(collector c);
  /// Removes a collector; an unknown id is ignored. Once it returns the
  /// collector does not run again (it waits for a scrape that runs it).
  void remove_collector(uint64_t id);

  /// Everything, in the text exposition format 0.0.4.
  std::string scrape() const;
  /// The same into `out`, for combining with other sources.
  void collect(exposition& out) const;

 private:
  struct entry;
  entry& make(const std::string& name, const std::string& help, metric_type type, labels l);

  mutable std::mutex mutex_;
  std::deque<entry> entries_;  // a deque: references to its elements stay valid
  std::vector<std::pair<uint64_t, collector>> collectors_;
  uint64_t next_collector_ = 1;
};

}  // namespace fastnet::metrics
