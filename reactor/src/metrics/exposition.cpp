#include "fastnet/metrics/exposition.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>

namespace fastnet::metrics {
namespace {

bool name_char(char c, bool first, bool colon) {
  const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  if (alpha || (colon && c == ':')) return true;
  return !first && c >= '0' && c <= '9';
}

bool valid(std::string_view s, bool colon) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i)
    if (!name_char(s[i], i == 0, colon)) return false;
  return true;
}

// HELP text escapes backslash and newline; label values also the quote.
void append_escaped(std::string& out, std::string_view s, bool quote) {
  for (char c : s) {
    if (c == '\\') {
      out.append("\\\\");
    } else if (c == '\n') {
      out.append("\\n");
    } else if (quote && c == '"') {
      out.append("\\\"");
    } else {
      out.push_back(c);
    }
  }
}

void append_value(std::string& out, double v) {
  if (std::isnan(v)) {
    out.append("NaN");
  } else if (std::isinf(v)) {
    out.append(v > 0 ? "+Inf" : "-Inf");
  } else if (v == std::floor(v) && std::fabs(v) < 1e15) {
    // Counts print as integers: exact, and what people expect to read.
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof buf, static_cast<long long>(v));
    out.append(buf, r.ptr);
  } else {
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof buf, v);  // shortest round-trip form
    out.append(buf, r.ptr);
  }
}

const char* type_name(metric_type t) {
  switch (t) {
    case metric_type::counter:
      return "counter";
    case metric_type::gauge:
      return "gauge";
    case metric_type::histogram:
      return "histogram";
  }
  return "untyped";
}

}  // namespace

std::string exposition::format_value(double v) {
  std::string out;
  append_value(out, v);
  return out;
}

bool exposition::valid_name(std::string_view name) {
  return valid(name, true);
}

bool exposition::valid_label_name(std::string_view name) {
  return valid(name, false) && !name.starts_with("__");
}

void exposition::begin(std::string_view name, metric_type type, std::string_view help) {
  if (!valid_name(name))
    throw std::invalid_argument("metrics: bad metric name: " + std::string(name));
  auto it = std::find_if(families_.begin(), families_.end(),
                         [&](const family& f) { return f.name == name; });
  if (it != families_.end()) {
    current_ = static_cast<size_t>(it - families_.begin());
    return;
  }
  family& f = families_.emplace_back();
  f.name.assign(name);
  f.lines.append("# HELP ").append(name).push_back(' ');
  append_escaped(f.lines, help, false);
  f.lines.append("\n# TYPE ").append(name).push_back(' ');
  f.lines.append(type_name(type)).push_back('\n');
  current_ = families_.size() - 1;
}

void exposition::sample(std::string_view name, const labels& l, double value) {
  if (current_ >= families_.size() || !name.starts_with(families_[current_].name))
    throw std::invalid_argument("metrics: sample " + std::string(name) + " outside its family");
  if (!valid_name(name))
    throw std::invalid_argument("metrics: bad metric name: " + std::string(name));
  std::string& out = families_[current_].lines;
  out.append(name);
  if (!l.empty()) {
    out.push_back('{');
    for (size_t i = 0; i < l.size(); ++i) {
      if (!valid_label_name(l[i].name))
        throw std::invalid_argument("metrics: bad label name: " + l[i].name);
      if (i > 0) out.push_back(',');
      out.append(l[i].name).append("=\"");
      append_escaped(out, l[i].value, true);
      out.push_back('"');
    }
    out.push_back('}');
  }
  out.push_back(' ');
  append_value(out, value);
  out.push_back('\n');
}

std::string exposition::text() const {
  size_t size = 0;
  for (const auto& f : families_)
    size += f.lines.size();
  std::string out;
  out.reserve(size);
  for (const auto& f : families_)
    out.append(f.lines);
  return out;
}

}  // namespace fastnet::metrics
