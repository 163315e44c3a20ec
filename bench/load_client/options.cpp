// load_client's flags: CLI11 reads them (each value checked as it is read),
// finish_options fills in the mode's defaults and checks the combinations.
#include "options.hpp"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <limits>
#include <string_view>
#include <type_traits>
#include <vector>

namespace load_client {

namespace {

constexpr uint32_t max_conns = 1'000'000;
constexpr uint32_t max_size = 64u << 20;
constexpr uint32_t max_inflight = 65536;
constexpr uint32_t max_threads = 1024;
constexpr uint32_t max_source_addresses = 250;  // 127.0.0.2 .. 127.0.0.251
// For the flags that must be above 0: the smallest double that is.
constexpr double above_zero = std::numeric_limits<double>::denorm_min();

constexpr std::array all_modes{run_mode::pingpong,  run_mode::pipelined, run_mode::stream,
                               run_mode::shortconn, run_mode::handshake, run_mode::idle};
constexpr std::array all_frames{frame_kind::raw, frame_kind::line, frame_kind::len32};

/// The names of `all`, for CLI::IsMember.
template <typename E, size_t N>
std::vector<std::string> names_of(const std::array<E, N>& all) {
  std::vector<std::string> names;
  for (const E e : all)
    names.emplace_back(to_string(e));
  return names;
}

/// The member of `all` named `name` (already checked by CLI::IsMember).
template <typename E, size_t N>
E named(const std::array<E, N>& all, std::string_view name) {
  return *std::find_if(all.begin(), all.end(), [&](E e) { return name == to_string(e); });
}

/// Accepts a plain decimal number within [min, max]: what std::from_chars
/// reads whole, so no sign '+', spaces, hex or octal, and no inf or nan.
/// An integer is handed on in canonical form, so CLI11 (which would read
/// "010" as octal) converts the value that was checked.
template <typename T>
CLI::Validator in_range(T min, T max) {
  return {[min, max](std::string& text) -> std::string {
            T value{};
            const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
            if (ec != std::errc{} || end != text.data() + text.size() || !(value >= min) ||
                !(value <= max)) {
              return "bad value '" + text + "'";
            }
            if constexpr (std::is_integral_v<T>) text = std::to_string(value);
            return {};
          },
          std::string{}};
}

/// Rejects an empty value.
CLI::Validator non_empty() {
  return {
      [](std::string& text) { return text.empty() ? std::string("bad value ''") : std::string{}; },
      std::string{}};
}

/// Cross-flag checks and caps that a single flag cannot decide on its own.
std::string finish_options(options& opts) {
  // Without --mode, --inflight picks the mode as it always did.
  const run_mode mode =
      opts.mode.value_or(opts.inflight.value_or(1) > 1 ? run_mode::pipelined : run_mode::pingpong);
  opts.resolved_mode = mode;
  if (mode == run_mode::handshake) opts.tls = true;
  if (!opts.tls && (!opts.tls_ca.empty() || !opts.tls_ciphers.empty() || opts.tls_resume)) {
    return "--tls-ca, --tls-ciphers and --tls-resume need --tls (or --mode handshake)";
  }
  const bool one_in_flight = mode == run_mode::pingpong || one_shot(mode) || mode == run_mode::idle;
  if (one_in_flight && opts.inflight.value_or(1) != 1) {
    return std::string("--mode ") + to_string(mode) + " has one message in flight (use pipelined)";
  }
  opts.n_conns = opts.conns.value_or(mode == run_mode::stream ? 1
                                     : mode == run_mode::idle ? 10000
                                                              : 50);
  opts.n_size = opts.size.value_or(mode == run_mode::stream ? 65536 : 64);
  opts.n_inflight = one_in_flight ? 1
                                  : opts.inflight.value_or(mode == run_mode::stream      ? 16
                                                           : mode == run_mode::pipelined ? 32
                                                                                         : 1);
  opts.n_sources =
      opts.source_addresses.value_or(one_shot(mode) || mode == run_mode::idle ? 64 : 0);
  if (opts.n_size == 0 && opts.frame != frame_kind::len32) {
    return "--size must be at least 1 for frame " + std::string(to_string(opts.frame));
  }
  if (opts.duration_s > max_seconds) {
    std::fprintf(stderr, "load_client: --duration capped at %.0f s\n", max_seconds);
    opts.duration_s = max_seconds;
  }
  if (opts.warmup_s > max_seconds) {
    std::fprintf(stderr, "load_client: --warmup capped at %.0f s\n", max_seconds);
    opts.warmup_s = max_seconds;
  }
  opts.connect_timeout_s = std::min(opts.connect_timeout_s, max_seconds);
  if (opts.rate > 0) {
    if (mode != run_mode::pingpong) return "--rate applies to --mode pingpong only";
    // The period rides on the idle mode's ping schedule.
    opts.ping_interval_s = opts.n_conns / opts.rate;
    if (opts.ping_interval_s > max_seconds)
      return "--rate is below one message per connection per run";
  }
  if (mode == run_mode::idle && opts.warmup_s > 0) {
    return "--warmup does not apply to idle (it waits one ping interval before measuring)";
  }
  // A thread without connections would only spin an empty epoll.
  opts.threads = std::min(opts.threads, opts.n_conns);
  return {};
}

}  // namespace

const char* to_string(run_mode m) {
  switch (m) {
    case run_mode::pingpong:
      return "pingpong";
    case run_mode::pipelined:
      return "pipelined";
    case run_mode::stream:
      return "stream";
    case run_mode::shortconn:
      return "shortconn";
    case run_mode::handshake:
      return "handshake";
    case run_mode::idle:
      return "idle";
  }
  return "?";
}

std::optional<int> parse_options(int argc, char** argv, options& opts) {
  CLI::App app{"Neutral TCP load client for echo servers (loopback only).\n", "load_client"};
  app.get_formatter()->column_width(23);
  // As before CLI11: a repeated flag takes its last value.
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  const auto choice = [](const std::vector<std::string>& names) {
    return CLI::IsMember(names).description("");
  };

  app.add_option_function<std::string>(
         "--mode", [&opts](const std::string& name) { opts.mode = named(all_modes, name); },
         "pingpong | pipelined | stream | shortconn | handshake |\n"
         "idle (default: pingpong, or pipelined when --inflight > 1)")
      ->type_name("M")
      ->check(choice(names_of(all_modes)));
  app.add_option("--host", opts.host, "IPv4/IPv6 literal in 127.0.0.0/8 or ::1 (default 127.0.0.1)")
      ->type_name("A");
  app.add_option("--port", opts.port, "server port")
      ->type_name("P")
      ->required()
      ->transform(in_range<uint16_t>(1, 65535));
  app.add_option("--conns", opts.conns,
                 "connections (stream: 1, idle: 10000, otherwise 50); for\n"
                 "shortconn the number of connections open at a time")
      ->type_name("C")
      ->transform(in_range<uint32_t>(1, max_conns));
  app.add_option("--size", opts.size,
                 "bytes per message (stream: 65536, otherwise 64; line:\n"
                 "includes the '\\n', len32: payload after the 4-byte header)")
      ->type_name("S")
      ->transform(in_range<uint32_t>(0, max_size));
  app.add_option("--inflight", opts.inflight,
                 "messages outstanding per connection (pipelined: 32,\n"
                 "stream: 16; pingpong, shortconn and idle: 1)")
      ->type_name("N")
      ->transform(in_range<uint32_t>(1, max_inflight));
  app.add_option("--duration", opts.duration_s,
                 "measured seconds, float, capped at 600 (default 5)")
      ->type_name("D")
      ->transform(in_range(above_zero, std::numeric_limits<double>::max()));
  app.add_option("--warmup", opts.warmup_s,
                 "seconds run before measuring, excluded from stats (default 0)")
      ->type_name("W")
      ->transform(in_range(0.0, std::numeric_limits<double>::max()));
  app.add_option("--threads", opts.threads, "threads, each with its own epoll (default 1)")
      ->type_name("T")
      ->transform(in_range<uint32_t>(1, max_threads));
  app.add_option_function<std::string>(
         "--frame", [&opts](const std::string& name) { opts.frame = named(all_frames, name); },
         "raw | line | len32 (default raw)")
      ->type_name("F")
      ->check(choice(names_of(all_frames)));
  app.add_option("--connect-timeout", opts.connect_timeout_s,
                 "seconds allowed per connect (default 5)")
      ->type_name("S")
      ->transform(in_range(above_zero, std::numeric_limits<double>::max()));
  app.add_option("--ping-interval", opts.ping_interval_s,
                 "idle: seconds between pings on one connection (default 1)")
      ->type_name("T")
      ->transform(in_range(0.001, max_seconds));
  app.add_option("--rate", opts.rate,
                 "pingpong: offer R messages/s over all connections, each\n"
                 "sending one period (conns/R s) after its last send, or\n"
                 "at its echo when that comes later (default: at the echo)")
      ->type_name("R")
      ->transform(in_range(above_zero, std::numeric_limits<double>::max()));
  app.add_option("--source-addrs", opts.source_addresses,
                 "bind connections to K loopback source addresses\n"
                 "127.0.0.2.. in turn, so TIME_WAIT and the ephemeral port\n"
                 "range do not run out (shortconn and idle: 64, otherwise 0 =\n"
                 "let the kernel choose; IPv4 only, at most 250)")
      ->type_name("K")
      ->transform(in_range<uint32_t>(0, max_source_addresses));
  app.add_option("--server-pid", opts.server_pid,
                 "read the server's CPU time and RSS from /proc around the\n"
                 "measured window: CPU us per message (shortconn: per\n"
                 "connection, handshake: per handshake), idle: RSS growth\n"
                 "per connection")
      ->type_name("PID")
      ->transform(in_range(1, 1 << 30));
  app.add_flag("--tls", opts.tls, "speak TLS (OpenSSL) in any mode; handshake implies it");
  app.add_option("--tls-ca", opts.tls_ca,
                 "verify the server's certificate against this PEM CA and\n"
                 "the --host address (default: not verified)")
      ->type_name("FILE")
      ->check(non_empty());
  app.add_option("--tls-version", opts.tls_version,
                 "1.2 | 1.3, the only version offered (default 1.3)")
      ->type_name("V")
      ->check(choice({"1.2", "1.3"}));
  app.add_option("--tls-ciphers", opts.tls_ciphers,
                 "offer only these: TLS 1.3 suites (TLS_AES_128_GCM_SHA256),\n"
                 "with 1.2 an OpenSSL cipher list (default: OpenSSL's)")
      ->type_name("L")
      ->check(non_empty());
  app.add_flag("--tls-resume", opts.tls_resume,
               "offer the session of the thread's last connection, so\n"
               "handshakes after the first are resumed (counted in the\n"
               "report; a server without resumption makes them full)");
  app.add_flag("--json", opts.json, "also print one JSON line with the results");
  app.set_help_flag("-h,--help", "this text");  // re-added, so listed last
  app.footer(
      "idle connects every connection, waits one ping interval, then measures for\n"
      "--duration seconds. RLIMIT_NOFILE is raised to its hard limit and reported.\n"
      "\n"
      "Exit status: 0 if no errors and at least one message completed (idle: every\n"
      "connection established), 1 otherwise, 2 for bad usage.");

  std::string error;
  try {
    app.parse(argc, argv);
    error = finish_options(opts);
  } catch (const CLI::CallForHelp&) {
    std::fputs(app.help().c_str(), stdout);
    return 0;
  } catch (const CLI::ParseError& e) {
    error = e.what();
  }
  if (error.empty()) return std::nullopt;
  std::fprintf(stderr, "load_client: %s (see --help)\n", error.c_str());
  return 2;
}

}  // namespace load_client
