#include "fastnet/metrics/registry.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace fastnet::metrics {

std::vector<double> log_linear_buckets(double lowest, double highest) {
  if (!(lowest > 0) || !(highest >= lowest) || highest > 1e300)
    throw std::invalid_argument("metrics: log_linear_buckets needs 0 < lowest <= highest");
  std::vector<double> out;
  // Powers of ten are exact up to 1e22: multiplying or dividing by one
  // gives the double nearest to the decimal bound (2e-06, not 1.9999e-06).
  for (int k = static_cast<int>(std::floor(std::log10(lowest)));; ++k) {
    const double scale = std::pow(10.0, std::abs(k));
    for (double step : {1.0, 2.0, 5.0}) {
      const double bound = k >= 0 ? step * scale : step / scale;
      if (bound < lowest * (1 - 1e-12)) continue;
      out.push_back(bound);
      if (bound >= highest * (1 - 1e-12)) return out;
    }
  }
}

histogram::histogram(std::vector<double> bounds) : bounds_(std::move(bounds)) {
  if (bounds_.empty() || !std::is_sorted(bounds_.begin(), bounds_.end()) ||
      std::adjacent_find(bounds_.begin(), bounds_.end()) != bounds_.end())
    throw std::invalid_argument("metrics: histogram bounds must be ascending and distinct");
  counts_ = std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1);
}

void histogram::observe(double v) {
  const auto at = std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin();
  counts_[static_cast<size_t>(at)].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

uint64_t histogram::count() const {
  uint64_t n = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i)
    n += bucket(i);
  return n;
}

struct registry::entry {
  std::string name;
  std::string help;
  metric_type type;
  labels l;
  std::unique_ptr<counter> c;
  std::unique_ptr<gauge> g;
  std::unique_ptr<histogram> h;
};

registry::registry() = default;
registry::~registry() = default;

registry::entry& registry::make(const std::string& name, const std::string& help, metric_type type,
                                labels l) {
  if (!exposition::valid_name(name)) throw std::invalid_argument("metrics: bad name: " + name);
  for (const auto& one : l)
    if (!exposition::valid_label_name(one.name))
      throw std::invalid_argument("metrics: bad label name: " + one.name);
  for (const auto& e : entries_)
    if (e.name == name && e.type != type)
      throw std::invalid_argument("metrics: " + name + " was made with another type");
  entry& e = entries_.emplace_back();
  e.name = name;
  e.help = help;
  e.type = type;
  e.l = std::move(l);
  return e;
}

counter& registry::make_counter(const std::string& name, const std::string& help, labels l) {
  std::lock_guard lock(mutex_);
  auto& e = make(name, help, metric_type::counter, std::move(l));
  e.c = std::make_unique<counter>();
  return *e.c;
}

gauge& registry::make_gauge(const std::string& name, const std::string& help, labels l) {
  std::lock_guard lock(mutex_);
  auto& e = make(name, help, metric_type::gauge, std::move(l));
  e.g = std::make_unique<gauge>();
  return *e.g;
}

histogram& registry::make_histogram(const std::string& name, const std::string& help,
                                    std::vector<double> bounds, labels l) {
  auto h = std::make_unique<histogram>(std::move(bounds));  // may throw: before anything is made
  std::lock_guard lock(mutex_);
  auto& e = make(name, help, metric_type::histogram, std::move(l));
  e.h = std::move(h);
  return *e.h;
}

uint64_t registry::add_collector(collector c) {
  std::lock_guard lock(mutex_);
  const uint64_t id = next_collector_++;
  collectors_.emplace_back(id, std::move(c));
  return id;
}

void registry::remove_collector(uint64_t id) {
  std::lock_guard lock(mutex_);
  std::erase_if(collectors_, [id](const auto& c) { return c.first == id; });
}

void registry::collect(exposition& out) const {
  std::lock_guard lock(mutex_);
  for (const auto& e : entries_) {
    out.begin(e.name, e.type, e.help);
    if (e.c) {
      out.sample(e.name, e.l, e.c->value());
    } else if (e.g) {
      out.sample(e.name, e.l, e.g->value());
    } else if (e.h) {
      // Cumulative buckets, then +Inf (which equals _count), _sum, _count.
      labels with_le = e.l;
      with_le.push_back({"le", ""});
      uint64_t running = 0;
      const std::string bucket = e.name + "_bucket";
      for (size_t i = 0; i < e.h->bounds().size(); ++i) {
        running += e.h->bucket(i);
        with_le.back().value = exposition::format_value(e.h->bounds()[i]);
        out.sample(bucket, with_le, static_cast<double>(running));
      }
      running += e.h->bucket(e.h->bounds().size());
      with_le.back().value = "+Inf";
      out.sample(bucket, with_le, static_cast<double>(running));
      out.sample(e.name + "_sum", e.l, e.h->sum());
      out.sample(e.name + "_count", e.l, static_cast<double>(running));
    }
  }
  for (const auto& c : collectors_)
    c.second(out);
}

std::string registry::scrape() const {
  exposition out;
  collect(out);
  return out.text();
}

}  // namespace fastnet::metrics
