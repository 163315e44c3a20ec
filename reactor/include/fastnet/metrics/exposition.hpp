// fastnet::metrics — writing metrics in the Prometheus text exposition
// format, version 0.0.4.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fastnet::metrics {

/// A metric type, as the format's TYPE line names it.
enum class metric_type : unsigned char {
  counter,   ///< a value that only grows
  gauge,     ///< a value that goes up and down
  histogram  ///< observations counted in buckets, with their sum and count
};

/// One label: name (matching [a-zA-Z_][a-zA-Z0-9_]*) and value (any UTF-8;
/// escaped when written).
struct label {
  std::string name;   ///< the label's name
  std::string value;  ///< its value
};
/// A sample's labels, written in this order.
using labels = std::vector<label>;

/// `base` with one more label, `name`="`value`". Any thread.
inline labels with_label(labels base, std::string name, std::string value) {
  base.push_back({std::move(name), std::move(value)});
  return base;
}

/// Builds one scrape's text. begin() selects a family (making it, with its
/// HELP and TYPE lines, the first time), sample() adds a line to the family
/// selected. The format wants each family once, its lines together: the
/// text groups every family's samples whatever order they were added in,
/// so collectors of several servers can each add to the same families.
/// Names that break the format's rules throw std::invalid_argument: a
/// scrape with one bad line is rejected whole by Prometheus.
/// Thread safety: one thread at a time.
class exposition {
 public:
  /// Selects family `name`, making it when new (a later begin() of the same
  /// name keeps the first type and help).
  void begin(std::string_view name, metric_type type, std::string_view help);
  /// One sample line: `name` is the family's name, or with a histogram
  /// suffix (_bucket, _sum, _count).
  void sample(std::string_view name, const labels& l, double value);
  /// A family with one sample (or one more sample of it): begin() and
  /// sample() under the same name, so the two cannot disagree.
  void single(std::string_view name, metric_type type, std::string_view help, const labels& l,
              double value) {
    begin(name, type, help);
    sample(name, l, value);
  }
  /// The text so far, family after family in the order first begun.
  std::string text() const;

  /// True when `name` is a valid metric name.
  static bool valid_name(std::string_view name);
  /// A value as the format writes it: integers without a fraction, others
  /// in the shortest form that reads back exactly, +Inf, -Inf, NaN.
  static std::string format_value(double v);
  /// True when `name` is a valid label name (not starting with "__").
  static bool valid_label_name(std::string_view name);

 private:
  struct family {
    std::string name;
    std::string lines;  // HELP, TYPE, then the samples
  };
  std::vector<family> families_;
  size_t current_ = SIZE_MAX;  // index into families_ (which may move)
};

}  // namespace fastnet::metrics
