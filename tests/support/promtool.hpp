// Test support: `promtool check metrics` (Debian's prometheus package) on a
// scrape's text, as a Catch check.
#pragma once

#include <catch2/catch.hpp>

#include <chrono>
#include <optional>
#include <string>

#include "subprocess.hpp"

namespace fastnet::test {

/// Checks that promtool accepts `text`; on failure the check reports what
/// promtool printed.
inline void check_promtool(const std::string& text) {
  auto r = run_program({"promtool", "check", "metrics"}, std::chrono::seconds(30), text);
  INFO("promtool: exit " << r.exit_code.value_or(-1) << "\n" << r.out << r.err);
  CHECK(r.exit_code == std::optional<int>(0));
}

}  // namespace fastnet::test
