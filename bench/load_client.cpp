// load_client — a neutral TCP load generator for echo servers.
//
// Opens connections to an echo server and drives them in one of six modes:
//   pingpong   C connections, one S-byte message in flight on each
//   pipelined  C connections, P messages in flight on each
//   stream     large messages (64 KiB by default) kept flowing continuously
//   shortconn  connect, send S bytes, read the echo, close; repeat
//   handshake  shortconn over TLS: connect, handshake (full, or resumed with
//              --tls-resume), S bytes echoed, close_notify, close; repeat
//   idle       hold N connections, ping each with a small message every T s
// With --tls every mode runs over TLS (OpenSSL 3, load_client_tls.cpp).
// Every echoed byte is checked against the byte that was sent. It reports
// message (or connection) rate, throughput, latency percentiles from a
// histogram and errors by kind; given the server's pid it also reads the
// server's CPU time and RSS from /proc around the measured window, so servers
// can be ranked by CPU per message even when this client saturates first.
// It deliberately uses nothing but libc, libstdc++, pthreads and, for TLS,
// OpenSSL (no fastnet code), so the same binary can be pointed at fastnet
// and at any other echo server and neither side gets a home advantage.
//
// Policy: it only ever targets loopback (127.0.0.0/8 or ::1). It is a
// benchmark for servers on this machine, not a tool to load someone else's.
//
// Linux only (epoll). Run with --help for the flags.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <queue>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "load_client_tls.hpp"

namespace {

// ---------------------------------------------------------------------------
// Limits and tunables
// ---------------------------------------------------------------------------

constexpr int64_t ns_per_ms = 1'000'000;
constexpr int64_t ns_per_s = 1'000'000'000;

constexpr double max_seconds = 600.0;  // hard cap on --duration (and --warmup)
constexpr int64_t stall_timeout_ns = 10 * ns_per_s;
// Timeouts are checked on this period rather than per event: cheap and precise enough.
constexpr int64_t housekeeping_ns = 100 * ns_per_ms;
// Connects in progress per thread. Bounding them keeps a run with thousands of
// connections from overflowing the server's accept backlog in one SYN burst.
constexpr size_t max_connecting_per_thread = 256;
constexpr size_t recv_buffer_bytes = 256 * 1024;
constexpr size_t send_chunk_bytes = 64 * 1024;
constexpr int max_events = 1024;

constexpr uint32_t max_conns = 1'000'000;
constexpr uint32_t max_size = 64u << 20;
constexpr uint32_t max_inflight = 65536;
constexpr uint32_t max_threads = 1024;
constexpr uint32_t max_source_addresses = 250;  // 127.0.0.2 .. 127.0.0.251
// Idle mode: connecting N connections is bounded by this, whatever happens.
constexpr int64_t max_connect_phase_ns = 120 * ns_per_s;

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int64_t seconds_to_ns(double s) {
  return static_cast<int64_t>(std::llround(s * 1e9));
}

// ---------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------

enum class frame_kind { raw, line, len32 };

enum class run_mode { pingpong, pipelined, stream, shortconn, handshake, idle };

/// A mode whose connections each carry one message and close.
bool one_shot(run_mode m) {
  return m == run_mode::shortconn || m == run_mode::handshake;
}

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

const char* to_string(frame_kind f) {
  switch (f) {
    case frame_kind::raw:
      return "raw";
    case frame_kind::line:
      return "line";
    case frame_kind::len32:
      return "len32";
  }
  return "?";
}

struct options {
  std::string host = "127.0.0.1";
  std::optional<uint16_t> port;
  // Unset values take the mode's default (finish_options); without --mode
  // the client behaves as before modes existed: --inflight decides.
  std::optional<run_mode> mode;
  std::optional<uint32_t> conns;
  std::optional<uint32_t> size;
  std::optional<uint32_t> inflight;
  std::optional<uint32_t> source_addresses;
  double duration_s = 5.0;
  uint32_t threads = 1;
  frame_kind frame = frame_kind::raw;
  double warmup_s = 0.0;
  bool json = false;
  double connect_timeout_s = 5.0;
  double ping_interval_s = 1.0;
  double rate = 0.0;  // pingpong: offered messages/s over all connections; 0 = as fast as echoed
  std::optional<int> server_pid;
  bool tls = false;
  std::string tls_ca;
  std::string tls_version = "1.3";
  std::string tls_ciphers;
  bool tls_resume = false;

  // Resolved by finish_options.
  run_mode resolved_mode = run_mode::pingpong;
  uint32_t n_conns = 50;
  uint32_t n_size = 64;
  uint32_t n_inflight = 1;
  uint32_t n_sources = 0;
};

/// Bytes one message occupies on the wire, framing included.
uint64_t wire_bytes(frame_kind frame, uint32_t size) {
  return frame == frame_kind::len32 ? uint64_t{size} + 4 : uint64_t{size};
}

void print_usage(std::FILE* out) {
  std::fprintf(
      out,
      "usage: load_client --port P [options]\n"
      "\n"
      "Neutral TCP load client for echo servers (loopback only).\n"
      "\n"
      "  --mode M             pingpong | pipelined | stream | shortconn | handshake |\n"
      "                       idle (default: pingpong, or pipelined when --inflight > 1)\n"
      "  --host A             IPv4/IPv6 literal in 127.0.0.0/8 or ::1 (default 127.0.0.1)\n"
      "  --port P             server port (required)\n"
      "  --conns C            connections (stream: 1, idle: 10000, otherwise 50); for\n"
      "                       shortconn the number of connections open at a time\n"
      "  --size S             bytes per message (stream: 65536, otherwise 64; line:\n"
      "                       includes the '\\n', len32: payload after the 4-byte header)\n"
      "  --inflight N         messages outstanding per connection (pipelined: 32,\n"
      "                       stream: 16; pingpong, shortconn and idle: 1)\n"
      "  --duration D         measured seconds, float, capped at 600 (default 5)\n"
      "  --warmup W           seconds run before measuring, excluded from stats (default 0)\n"
      "  --threads T          threads, each with its own epoll (default 1)\n"
      "  --frame F            raw | line | len32 (default raw)\n"
      "  --connect-timeout S  seconds allowed per connect (default 5)\n"
      "  --ping-interval T    idle: seconds between pings on one connection (default 1)\n"
      "  --rate R             pingpong: offer R messages/s over all connections, each\n"
      "                       sending one period (conns/R s) after its last send, or\n"
      "                       at its echo when that comes later (default: at the echo)\n"
      "  --source-addrs K     bind connections to K loopback source addresses\n"
      "                       127.0.0.2.. in turn, so TIME_WAIT and the ephemeral port\n"
      "                       range do not run out (shortconn and idle: 64, otherwise 0 =\n"
      "                       let the kernel choose; IPv4 only, at most 250)\n"
      "  --server-pid PID     read the server's CPU time and RSS from /proc around the\n"
      "                       measured window: CPU us per message (shortconn: per\n"
      "                       connection, handshake: per handshake), idle: RSS growth\n"
      "                       per connection\n"
      "  --tls                speak TLS (OpenSSL) in any mode; handshake implies it\n"
      "  --tls-ca FILE        verify the server's certificate against this PEM CA and\n"
      "                       the --host address (default: not verified)\n"
      "  --tls-version V      1.2 | 1.3, the only version offered (default 1.3)\n"
      "  --tls-ciphers L      offer only these: TLS 1.3 suites (TLS_AES_128_GCM_SHA256),\n"
      "                       with 1.2 an OpenSSL cipher list (default: OpenSSL's)\n"
      "  --tls-resume         offer the session of the thread's last connection, so\n"
      "                       handshakes after the first are resumed (counted in the\n"
      "                       report; a server without resumption makes them full)\n"
      "  --json               also print one JSON line with the results\n"
      "  --help               this text\n"
      "\n"
      "idle connects every connection, waits one ping interval, then measures for\n"
      "--duration seconds. RLIMIT_NOFILE is raised to its hard limit and reported.\n"
      "\n"
      "Exit status: 0 if no errors and at least one message completed (idle: every\n"
      "connection established), 1 otherwise, 2 for bad usage.\n");
}

template <typename T>
bool parse_integer(std::string_view text, T min, T max, T& out) {
  T value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) return false;
  if (value < min || value > max) return false;
  out = value;
  return true;
}

bool parse_non_negative(std::string_view text, double& out) {
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) return false;
  if (!std::isfinite(value) || value < 0) return false;
  out = value;
  return true;
}

template <typename T>
bool parse_optional(std::string_view text, T min, T max, std::optional<T>& out) {
  T value{};
  if (!parse_integer(text, min, max, value)) return false;
  out = value;
  return true;
}

bool parse_mode(std::string_view text, run_mode& out) {
  for (const run_mode m : {run_mode::pingpong, run_mode::pipelined, run_mode::stream,
                           run_mode::shortconn, run_mode::handshake, run_mode::idle}) {
    if (text == to_string(m)) {
      out = m;
      return true;
    }
  }
  return false;
}

bool parse_frame(std::string_view text, frame_kind& out) {
  if (text == "raw") {
    out = frame_kind::raw;
  } else if (text == "line") {
    out = frame_kind::line;
  } else if (text == "len32") {
    out = frame_kind::len32;
  } else {
    return false;
  }
  return true;
}

/// Applies one `--name value` flag; returns an error message, empty on success.
std::string apply_flag(std::string_view name, std::string_view value, options& opts) {
  bool ok = true;
  if (name == "--host") {
    opts.host = std::string(value);
  } else if (name == "--port") {
    uint16_t port = 0;
    ok = parse_integer<uint16_t>(value, 1, 65535, port);
    if (ok) opts.port = port;
  } else if (name == "--mode") {
    run_mode mode{};
    ok = parse_mode(value, mode);
    if (ok) opts.mode = mode;
  } else if (name == "--conns") {
    ok = parse_optional<uint32_t>(value, 1, max_conns, opts.conns);
  } else if (name == "--size") {
    ok = parse_optional<uint32_t>(value, 0, max_size, opts.size);
  } else if (name == "--inflight") {
    ok = parse_optional<uint32_t>(value, 1, max_inflight, opts.inflight);
  } else if (name == "--source-addrs") {
    ok = parse_optional<uint32_t>(value, 0, max_source_addresses, opts.source_addresses);
  } else if (name == "--ping-interval") {
    ok = parse_non_negative(value, opts.ping_interval_s) && opts.ping_interval_s >= 0.001 &&
         opts.ping_interval_s <= max_seconds;
  } else if (name == "--rate") {
    ok = parse_non_negative(value, opts.rate) && opts.rate > 0;
  } else if (name == "--server-pid") {
    int pid = 0;
    ok = parse_integer<int>(value, 1, 1 << 30, pid);
    if (ok) opts.server_pid = pid;
  } else if (name == "--duration") {
    ok = parse_non_negative(value, opts.duration_s) && opts.duration_s > 0;
  } else if (name == "--threads") {
    ok = parse_integer<uint32_t>(value, 1, max_threads, opts.threads);
  } else if (name == "--frame") {
    ok = parse_frame(value, opts.frame);
  } else if (name == "--warmup") {
    ok = parse_non_negative(value, opts.warmup_s);
  } else if (name == "--connect-timeout") {
    ok = parse_non_negative(value, opts.connect_timeout_s) && opts.connect_timeout_s > 0;
  } else if (name == "--tls-ca") {
    opts.tls_ca = std::string(value);
    ok = !opts.tls_ca.empty();
  } else if (name == "--tls-ciphers") {
    opts.tls_ciphers = std::string(value);
    ok = !opts.tls_ciphers.empty();
  } else if (name == "--tls-version") {
    ok = value == "1.2" || value == "1.3";
    if (ok) opts.tls_version = std::string(value);
  } else {
    return "unknown flag " + std::string(name);
  }
  if (!ok) return "bad value '" + std::string(value) + "' for " + std::string(name);
  return {};
}

enum class parse_status { run, help, usage_error };

struct parse_result {
  parse_status status = parse_status::run;
  options opts;
  std::string error;
};

/// Cross-flag checks and caps that a single flag cannot decide on its own.
std::string finish_options(options& opts) {
  if (!opts.port) return "--port is required";
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

parse_result parse_args(int argc, char** argv) {
  parse_result result;
  for (int i = 1; i < argc; ++i) {
    const std::string_view name = argv[i];
    if (name == "--help" || name == "-h") {
      result.status = parse_status::help;
      return result;
    }
    // The flags without a value.
    if (name == "--json") {
      result.opts.json = true;
      continue;
    }
    if (name == "--tls") {
      result.opts.tls = true;
      continue;
    }
    if (name == "--tls-resume") {
      result.opts.tls_resume = true;
      continue;
    }
    if (i + 1 >= argc) {
      result.error = name.starts_with("--") ? "missing value for " + std::string(name)
                                            : "unexpected argument " + std::string(name);
      result.status = parse_status::usage_error;
      return result;
    }
    result.error = apply_flag(name, argv[++i], result.opts);
    if (!result.error.empty()) {
      result.status = parse_status::usage_error;
      return result;
    }
  }
  result.error = finish_options(result.opts);
  if (!result.error.empty()) result.status = parse_status::usage_error;
  return result;
}

// ---------------------------------------------------------------------------
// Target address (loopback policy)
// ---------------------------------------------------------------------------

struct target {
  sockaddr_storage addr{};
  socklen_t addr_len = 0;
  int family = AF_INET;
  std::string address;  // "127.0.0.1" or "::1"
  std::string display;  // "127.0.0.1:9000" or "[::1]:9000"
};

/// Parses an address literal and enforces the loopback-only policy.
std::optional<target> resolve_loopback(std::string host, uint16_t port, std::string& error) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  target t;
  t.address = host;
  in_addr v4{};
  in6_addr v6{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) {
    if ((ntohl(v4.s_addr) >> 24) != 127) {
      error =
          "refusing to target " + host + ": load_client only targets loopback (127.0.0.0/8 or ::1)";
      return std::nullopt;
    }
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr = v4;
    std::memcpy(&t.addr, &sa, sizeof sa);
    t.addr_len = sizeof sa;
    t.family = AF_INET;
    t.display = host + ":" + std::to_string(port);
    return t;
  }
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
    if (!IN6_IS_ADDR_LOOPBACK(&v6)) {
      error =
          "refusing to target " + host + ": load_client only targets loopback (127.0.0.0/8 or ::1)";
      return std::nullopt;
    }
    sockaddr_in6 sa{};
    sa.sin6_family = AF_INET6;
    sa.sin6_port = htons(port);
    sa.sin6_addr = v6;
    std::memcpy(&t.addr, &sa, sizeof sa);
    t.addr_len = sizeof sa;
    t.family = AF_INET6;
    t.display = "[" + host + "]:" + std::to_string(port);
    return t;
  }
  error = "--host '" + host + "' is not an IPv4 or IPv6 address literal (no name lookup)";
  return std::nullopt;
}

/// Thousands of connections need thousands of descriptors; the hard limit is
/// the most an unprivileged process may take, so take it. Returns the limit
/// in force afterwards (soft, hard).
std::pair<uint64_t, uint64_t> raise_fd_limit(uint32_t conns, uint32_t threads) {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return {0, 0};
  if (lim.rlim_cur < lim.rlim_max) {
    rlimit raised = lim;
    raised.rlim_cur = lim.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) lim = raised;
  }
  const rlim_t needed = rlim_t{conns} + threads + 16;
  if (lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur < needed) {
    std::fprintf(stderr,
                 "load_client: warning: RLIMIT_NOFILE is %llu, %llu needed; "
                 "some connects will fail\n",
                 static_cast<unsigned long long>(lim.rlim_cur),
                 static_cast<unsigned long long>(needed));
  }
  return {lim.rlim_cur, lim.rlim_max};
}

/// The i-th loopback source address, 127.0.0.2 onwards (127.0.0.1 is left to
/// the server). All of 127.0.0.0/8 is routed to lo on Linux, so each is a
/// fresh (source address, port) space: more room for TIME_WAIT and idle
/// connections than the one ephemeral port range of a single address.
sockaddr_in loopback_source(uint32_t i) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = 0;
  sa.sin_addr.s_addr = htonl((127u << 24) | (2u + i));
  return sa;
}

// ---------------------------------------------------------------------------
// Server and system figures from /proc
// ---------------------------------------------------------------------------

/// CPU time (user + system, all threads, dead ones included) of a process.
/// Resolution is one clock tick (10 ms at the usual CLK_TCK of 100).
std::optional<double> process_cpu_seconds(int pid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", pid);
  std::FILE* f = std::fopen(path, "re");
  if (f == nullptr) return std::nullopt;
  char buf[1024];
  const size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  buf[n] = '\0';
  // The command name (field 2) may hold spaces and parentheses; fields after
  // its last ')' are plain numbers, starting with field 3 (state).
  const char* p = std::strrchr(buf, ')');
  if (p == nullptr) return std::nullopt;
  unsigned long long utime = 0;
  unsigned long long stime = 0;
  if (std::sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
                  &stime) != 2) {
    return std::nullopt;
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

/// A "Key:   123 kB" line from a /proc file; nullopt if absent.
std::optional<uint64_t> proc_kib(const char* path, std::string_view key) {
  std::FILE* f = std::fopen(path, "re");
  if (f == nullptr) return std::nullopt;
  char line[256];
  std::optional<uint64_t> result;
  while (std::fgets(line, sizeof line, f) != nullptr) {
    const std::string_view text(line);
    if (text.starts_with(key) && text.size() > key.size() && text[key.size()] == ':') {
      unsigned long long v = 0;
      if (std::sscanf(line + key.size() + 1, "%llu", &v) == 1) result = v;
      break;
    }
  }
  std::fclose(f);
  return result;
}

std::optional<uint64_t> process_rss_kib(int pid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/status", pid);
  return proc_kib(path, "VmRSS");
}

/// The soft "Max open files" limit of a process, as the server runs with it.
std::optional<uint64_t> process_fd_limit(int pid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/limits", pid);
  std::FILE* f = std::fopen(path, "re");
  if (f == nullptr) return std::nullopt;
  char line[256];
  std::optional<uint64_t> result;
  while (std::fgets(line, sizeof line, f) != nullptr) {
    unsigned long long soft = 0;
    if (std::sscanf(line, "Max open files %llu", &soft) == 1) {
      result = soft;
      break;
    }
  }
  std::fclose(f);
  return result;
}

/// Pages of memory charged to TCP socket buffers, machine-wide ("TCP: ... mem N").
std::optional<uint64_t> tcp_mem_pages() {
  std::FILE* f = std::fopen("/proc/net/sockstat", "re");
  if (f == nullptr) return std::nullopt;
  char line[256];
  std::optional<uint64_t> result;
  while (std::fgets(line, sizeof line, f) != nullptr) {
    const char* mem = std::strstr(line, " mem ");
    unsigned long long pages = 0;
    if (std::strncmp(line, "TCP:", 4) == 0 && mem != nullptr &&
        std::sscanf(mem, " mem %llu", &pages) == 1) {
      result = pages;
      break;
    }
  }
  std::fclose(f);
  return result;
}

double client_cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  const auto secs = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
  };
  return secs(ru.ru_utime) + secs(ru.ru_stime);
}

/// What is known about the machine and the server at one instant.
struct probe {
  int64_t at_ns = 0;
  double client_cpu_s = 0;
  std::optional<double> server_cpu_s;
  std::optional<uint64_t> server_rss_kib;
  std::optional<uint64_t> slab_kib;  // kernel slab, machine-wide
  std::optional<uint64_t> tcp_pages;

  static probe take(std::optional<int> server_pid) {
    probe p;
    p.at_ns = now_ns();
    p.client_cpu_s = client_cpu_seconds();
    if (server_pid) {
      p.server_cpu_s = process_cpu_seconds(*server_pid);
      p.server_rss_kib = process_rss_kib(*server_pid);
    }
    p.slab_kib = proc_kib("/proc/meminfo", "Slab");
    p.tcp_pages = tcp_mem_pages();
    return p;
  }
};

// ---------------------------------------------------------------------------
// Small building blocks
// ---------------------------------------------------------------------------

class unique_fd {
 public:
  unique_fd() = default;
  explicit unique_fd(int fd) : fd_(fd) {}
  unique_fd(unique_fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  unique_fd& operator=(unique_fd&& other) noexcept {
    if (this != &other) reset(std::exchange(other.fd_, -1));
    return *this;
  }
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;
  ~unique_fd() { reset(); }

  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

/// Random bytes that every connection's payload is drawn from. Generating
/// fresh random bytes for every send and again for every check made the
/// client's own work the limit of the stream case; copying from and comparing
/// with one table costs a fraction of that. The length is odd, so no
/// power-of-two cut or shift of the echo lines up with a repeat of the table.
class payload_table {
 public:
  static constexpr size_t length = (1u << 20) + 4093;

  explicit payload_table(frame_kind frame) : bytes_(length) {
    uint64_t x = 0x5eed5eed5eed5eedULL;
    for (char& b : bytes_) {
      // xorshift64*: any reordering or corruption of the echo breaks the match.
      x ^= x >> 12;
      x ^= x << 25;
      x ^= x >> 27;
      b = static_cast<char>((x * 0x2545f4914f6cdd1dULL) >> 56);
      // '\r' is avoided too: line codecs commonly strip a '\r' before the '\n'.
      if (frame == frame_kind::line && (b == '\n' || b == '\r')) b = static_cast<char>(b ^ 0x40);
    }
  }

  const char* data() const { return bytes_.data(); }

 private:
  std::vector<char> bytes_;
};

/// The exact byte stream one connection sends, which the echo must reproduce:
/// frame headers and payload drawn from the table, starting at an offset
/// chosen by the seed. The sender and the verifier each run a copy from the
/// same seed, so nothing that was sent has to be kept for checking the echo.
/// The stream does not depend on how it is cut into chunks: sends and
/// receives split it at arbitrary points.
class wire_stream {
 public:
  wire_stream(const payload_table& table, frame_kind frame, uint32_t size, uint64_t seed)
      : table_(table.data()), frame_(frame), size_(size), table_pos_(seed % payload_table::length) {
    switch (frame) {
      case frame_kind::raw:
        payload_end_ = size;
        break;
      case frame_kind::line:
        payload_end_ = size - 1;  // size >= 1 is checked at parse time
        break;
      case frame_kind::len32:
        payload_begin_ = 4;
        payload_end_ = 4 + size_t{size};
        break;
    }
    wire_size_ = wire_bytes(frame, size);
  }

  /// Writes the next out.size() bytes of the stream.
  void fill(std::span<char> out) {
    walk(out.size(), [&](size_t at, const char* expected, size_t n) {
      std::memcpy(out.data() + at, expected, n);
      return true;
    });
  }

  /// Checks that `in` is the next in.size() bytes of the stream.
  bool verify(std::span<const char> in) {
    return walk(in.size(), [&](size_t at, const char* expected, size_t n) {
      return std::memcmp(in.data() + at, expected, n) == 0;
    });
  }

 private:
  /// Advances the stream by n bytes, handing each run of expected bytes to
  /// `run(offset, bytes, length)`; stops early if it returns false.
  template <typename F>
  bool walk(size_t n, F&& run) {
    size_t i = 0;
    while (i < n) {
      size_t len = 1;
      char single;
      const char* expected = &single;
      if (pos_ < payload_begin_) {
        single = header_byte(pos_);
      } else if (pos_ < payload_end_) {
        len = std::min({n - i, payload_end_ - pos_, payload_table::length - table_pos_});
        expected = table_ + table_pos_;
        table_pos_ += len;
        if (table_pos_ == payload_table::length) table_pos_ = 0;
      } else {
        single = '\n';  // only reached for line frames
      }
      if (!run(i, expected, len)) return false;
      i += len;
      pos_ += len;
      if (pos_ == wire_size_) pos_ = 0;
    }
    return true;
  }

  char header_byte(size_t pos) const {
    return static_cast<char>((size_ >> (8 * (3 - pos))) & 0xff);  // big-endian length
  }

  const char* table_;
  frame_kind frame_;
  uint32_t size_;
  size_t payload_begin_ = 0;
  size_t payload_end_ = 0;
  size_t wire_size_ = 0;
  size_t pos_ = 0;  // offset within the current message
  size_t table_pos_;
};

/// Log-linear latency histogram in nanoseconds, in the spirit of HdrHistogram:
/// exact below 256 ns, then 128 buckets per power of two, so every value is
/// known to within 1/128 (< 0.8 %) up to 2^36 ns (~68.7 s; larger values are
/// clamped there, but the exact maximum is kept separately).
class latency_histogram {
 public:
  void record(uint64_t ns) {
    ++counts_[index_of(std::min(ns, max_trackable))];
    ++count_;
    max_ = std::max(max_, ns);
  }

  void merge(const latency_histogram& other) {
    for (size_t i = 0; i < bucket_count; ++i)
      counts_[i] += other.counts_[i];
    count_ += other.count_;
    max_ = std::max(max_, other.max_);
  }

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

/// Send timestamps of the messages in flight, oldest first. Echoes come back
/// in order, so the oldest timestamp always belongs to the next completion.
class send_time_fifo {
 public:
  explicit send_time_fifo(size_t capacity) : slots_(capacity) {}
  void push(int64_t t) {
    slots_[(head_ + size_) % slots_.size()] = t;
    ++size_;
  }
  int64_t pop() {
    const int64_t t = slots_[head_];
    head_ = (head_ + 1) % slots_.size();
    --size_;
    return t;
  }

 private:
  std::vector<int64_t> slots_;
  size_t head_ = 0;
  size_t size_ = 0;
};

// ---------------------------------------------------------------------------
// Statistics
// ---------------------------------------------------------------------------

// ports: the kernel found no free (source address, port) pair for a connect.
// tls: a handshake failed, or a TLS error (bad record, alert) on a connection.
enum class error_kind : uint8_t { connect, reset, eof, verify, timeout, ports, tls };
constexpr size_t error_kind_count = 7;
constexpr std::array<const char*, error_kind_count> error_names = {
    "connect", "reset", "eof", "verify", "timeout", "ports", "tls"};

struct run_stats {
  uint64_t established = 0;
  uint64_t failed = 0;
  uint64_t unfinished = 0;  // still connecting, or never started, when the run ended
  uint64_t messages = 0;    // completed inside the measured window (shortconn: connections)
  std::array<uint64_t, error_kind_count> errors{};
  latency_histogram latency;
  // TLS handshakes completed inside the measured window, and what the first
  // one negotiated ("TLSv1.3 TLS_AES_256_GCM_SHA384").
  uint64_t tls_full = 0;
  uint64_t tls_resumed = 0;
  std::string tls_negotiated;

  void merge(const run_stats& other) {
    tls_full += other.tls_full;
    tls_resumed += other.tls_resumed;
    if (tls_negotiated.empty()) tls_negotiated = other.tls_negotiated;
    established += other.established;
    failed += other.failed;
    unfinished += other.unfinished;
    messages += other.messages;
    for (size_t i = 0; i < error_kind_count; ++i)
      errors[i] += other.errors[i];
    latency.merge(other.latency);
  }

  uint64_t total_errors() const {
    uint64_t sum = 0;
    for (const uint64_t e : errors)
      sum += e;
    return sum;
  }
};

/// Shared by the main thread and the workers while they run. The main thread
/// moves the measured window (idle mode opens it only once every connection
/// is up); workers read it on every loop iteration.
struct run_control {
  std::atomic<int64_t> measure_from_ns{0};
  std::atomic<int64_t> end_ns{0};
  std::atomic<uint32_t> connect_phases_done{0};  // workers whose connects all finished
  std::atomic<uint32_t> workers_running{0};
  std::atomic<int64_t> open_conns{0};
};

/// Everything the worker threads share; read-only once the threads start,
/// apart from `control`.
struct run_plan {
  const options& opts;
  const payload_table& table;
  const target& dest;
  uint64_t message_wire_bytes;
  int64_t connect_timeout_ns;
  int64_t ping_interval_ns;
  run_control& control;
};

// ---------------------------------------------------------------------------
// Worker: one thread, one epoll, a share of the connections
// ---------------------------------------------------------------------------

// handshaking: TCP is connected, TLS is not yet; still counted as connecting.
enum class conn_state : uint8_t { idle, connecting, handshaking, established, closed };

struct connection {
  connection(const run_plan& plan, uint64_t seed_)
      : seed(seed_),
        sender(plan.table, plan.opts.frame, plan.opts.n_size, seed_),
        verifier(plan.table, plan.opts.frame, plan.opts.n_size, seed_),
        send_times(plan.opts.n_inflight),
        out_capacity(static_cast<size_t>(std::min<uint64_t>(
            send_chunk_bytes, plan.message_wire_bytes * plan.opts.n_inflight))) {}

  unique_fd fd;
  load_client_tls::stream tls;  // empty without --tls
  conn_state state = conn_state::idle;
  bool want_write = false;    // EPOLLOUT registered: the last send hit EAGAIN
  bool session_kept = false;  // --tls-resume: this connection's session was remembered
  int64_t started_ns = 0;
  int64_t last_progress_ns = 0;
  uint64_t seed;
  uint64_t generation = 0;  // shortconn: connections this slot has opened
  wire_stream sender;
  wire_stream verifier;
  send_time_fifo send_times;
  uint32_t outstanding = 0;  // paced: pings sent and not yet echoed
  // Generated bytes not yet written are out[out_pos, out_len). Messages are
  // generated lazily, one chunk at a time, so a connection holds at most one
  // chunk however large the messages or the in-flight window.
  size_t out_capacity;
  std::unique_ptr<char[]> out;
  size_t out_pos = 0;
  size_t out_len = 0;
  uint64_t unsent_budget = 0;  // bytes of credited messages not generated yet
  uint64_t bytes_sent = 0;
  uint64_t bytes_received = 0;
  uint64_t received_in_message = 0;  // bytes of the oldest outstanding message echoed so far
};

class worker {
 public:
  /// `tls` is this worker's TLS client, null without --tls.
  worker(const run_plan& plan, uint64_t first_index, uint32_t count, load_client_tls::client* tls)
      : plan_(plan),
        tls_(tls),
        mode_(plan.opts.resolved_mode),
        paced_(mode_ == run_mode::idle || plan.opts.rate > 0),
        next_source_(static_cast<uint32_t>(first_index)),
        recv_buf_(recv_buffer_bytes) {
    conns_.reserve(count);
    for (uint32_t i = 0; i < count; ++i)
      conns_.emplace_back(plan, splitmix64(first_index + i));
  }

  run_stats run() {
    epoll_.reset(epoll_create1(EPOLL_CLOEXEC));
    if (!epoll_) {
      std::perror("load_client: epoll_create1");
      stats_.unfinished = conns_.size();
      report_connect_phase_done();
      return std::move(stats_);
    }
    event_loop();
    report_connect_phase_done();
    // A shortconn slot is always between connections; only the other modes
    // can leave a connection that never got going.
    if (!one_shot(mode_)) {
      for (const connection& c : conns_) {
        if (c.state == conn_state::idle || c.state == conn_state::connecting ||
            c.state == conn_state::handshaking) {
          ++stats_.unfinished;
        }
      }
    }
    conns_.clear();  // closes every socket
    return std::move(stats_);
  }

 private:
  void event_loop() {
    std::array<epoll_event, max_events> events{};
    int64_t next_housekeeping = 0;
    for (;;) {
      int64_t now = now_ns();
      const int64_t end = plan_.control.end_ns.load(std::memory_order_relaxed);
      if (now >= end) return;
      start_connects(now);
      if (next_to_start_ == conns_.size() && connecting_ == 0) report_connect_phase_done();
      // Every connection failed or broke: idling out the duration would add nothing.
      if (connecting_ == 0 && open_ == 0) return;
      if (now >= next_housekeeping) {
        check_timeouts(now);
        next_housekeeping = now + housekeeping_ns;
      }
      send_due_pings(now);
      int64_t wake = std::min(end, next_housekeeping);
      if (!pings_.empty()) wake = std::min(wake, pings_.top().first);
      const int n = wait_for_events(events, std::max<int64_t>(wake - now, 0));
      if (n < 0) {
        if (errno == EINTR) continue;
        std::perror("load_client: epoll_wait");
        return;
      }
      now = now_ns();
      for (int i = 0; i < n; ++i) {
        handle_event(conns_[events[i].data.u64], events[i].events, now);
      }
    }
  }

  /// epoll_wait with a nanosecond timeout: a paced run's period may be a
  /// couple of milliseconds, and rounding every wake up to the next
  /// millisecond would bunch its messages. Falls back to epoll_wait, rounded
  /// up, on kernels without epoll_pwait2 (before 5.11).
  int wait_for_events(std::array<epoll_event, max_events>& events, int64_t wait_ns) {
    if (have_pwait2_) {
      const timespec timeout{.tv_sec = wait_ns / ns_per_s, .tv_nsec = wait_ns % ns_per_s};
      const int n = epoll_pwait2(epoll_.get(), events.data(), max_events, &timeout, nullptr);
      if (n >= 0 || errno != ENOSYS) return n;
      have_pwait2_ = false;
    }
    const int timeout_ms = static_cast<int>((wait_ns + ns_per_ms - 1) / ns_per_ms);
    return epoll_wait(epoll_.get(), events.data(), max_events, timeout_ms);
  }

  void report_connect_phase_done() {
    if (connect_phase_reported_) return;
    connect_phase_reported_ = true;
    plan_.control.connect_phases_done.fetch_add(1, std::memory_order_release);
  }

  void start_connects(int64_t now) {
    while (next_to_start_ < conns_.size() && connecting_ < max_connecting_per_thread) {
      begin_connect(next_to_start_++, now);
    }
  }

  static error_kind connect_error(int err) {
    return err == EADDRNOTAVAIL || err == EADDRINUSE ? error_kind::ports : error_kind::connect;
  }

  void begin_connect(size_t index, int64_t now) {
    connection& c = conns_[index];
    c.state = conn_state::connecting;
    c.started_ns = now;
    c.want_write = false;
    ++connecting_;
    if (one_shot(mode_)) restart_slot(c, now);
    c.fd.reset(socket(plan_.dest.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!c.fd) return close_with_error(c, error_kind::connect);
    // Small messages must not wait for Nagle: latency is what is measured.
    const int one = 1;
    setsockopt(c.fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (plan_.opts.n_sources > 0) {
      // With IP_BIND_ADDRESS_NO_PORT the port is chosen at connect() for the
      // whole 4-tuple (and TIME_WAIT entries may be reused), instead of at
      // bind() from the address's one port range.
      setsockopt(c.fd.get(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
      const sockaddr_in src = loopback_source(next_source_++ % plan_.opts.n_sources);
      if (::bind(c.fd.get(), reinterpret_cast<const sockaddr*>(&src), sizeof src) != 0) {
        return close_with_error(c, connect_error(errno));
      }
    }
    const auto* addr = reinterpret_cast<const sockaddr*>(&plan_.dest.addr);
    const int rc = ::connect(c.fd.get(), addr, plan_.dest.addr_len);
    if (rc != 0 && errno != EINPROGRESS) return close_with_error(c, connect_error(errno));
    epoll_event ev{};
    ev.events = rc == 0 ? (EPOLLIN | EPOLLRDHUP) : EPOLLOUT;
    ev.data.u64 = index;
    if (epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, c.fd.get(), &ev) != 0) {
      return close_with_error(c, error_kind::connect);
    }
    if (rc == 0) connected(c, now);
  }

  /// shortconn: a fresh byte stream and counters for the slot's next
  /// connection; its one message's clock starts at connect.
  void restart_slot(connection& c, int64_t now) {
    const uint64_t seed = splitmix64(c.seed + ++c.generation);
    c.sender = wire_stream(plan_.table, plan_.opts.frame, plan_.opts.n_size, seed);
    c.verifier = wire_stream(plan_.table, plan_.opts.frame, plan_.opts.n_size, seed);
    c.send_times.push(now);  // empty: the previous connection's message completed
    c.out_pos = c.out_len = 0;
    c.unsent_budget = 0;
    c.bytes_sent = c.bytes_received = c.received_in_message = 0;
    c.session_kept = false;
  }

  void handle_event(connection& c, uint32_t events, int64_t now) {
    if (c.state == conn_state::connecting) return finish_connect(c, events, now);
    if (c.state == conn_state::handshaking) return continue_handshake(c, now);
    if (c.state != conn_state::established) return;
    if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0 && !read_once(c)) return;
    // Completions may have freed credit; when the socket is known to be full,
    // wait for EPOLLOUT rather than burn a send() on EAGAIN.
    if (!c.want_write || (events & EPOLLOUT) != 0) flush_output(c, now);
  }

  void finish_connect(connection& c, uint32_t events, int64_t now) {
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(c.fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    if (err != 0 || (events & (EPOLLERR | EPOLLHUP)) != 0) {
      return close_with_error(c, connect_error(err));
    }
    if ((events & EPOLLOUT) == 0) return;
    if (!set_interest(c, false)) return close_with_error(c, error_kind::connect);
    connected(c, now);
  }

  /// TCP is up: established, or with --tls, handshaking first.
  void connected(connection& c, int64_t now) {
    if (tls_ == nullptr) return establish(c, now);
    if (!tls_->start(c.tls, c.fd.get())) return close_with_error(c, error_kind::tls);
    c.state = conn_state::handshaking;
    continue_handshake(c, now);
  }

  /// Moves the handshake on; the connection is established once it is done.
  void continue_handshake(connection& c, int64_t now) {
    switch (c.tls.handshake()) {
      case load_client_tls::status::ok:
        if (in_window(now)) ++(c.tls.resumed() ? stats_.tls_resumed : stats_.tls_full);
        if (stats_.tls_negotiated.empty()) stats_.tls_negotiated = c.tls.describe();
        return establish(c, now);
      case load_client_tls::status::want_read:
        if (!set_interest(c, false)) close_with_error(c, error_kind::tls);
        return;
      case load_client_tls::status::want_write:
        if (!set_interest(c, true)) close_with_error(c, error_kind::tls);
        return;
      case load_client_tls::status::eof:
        return close_with_error(c, error_kind::eof);
      case load_client_tls::status::reset:
        return close_with_error(c, error_kind::reset);
      case load_client_tls::status::failed:
        return close_with_error(c, error_kind::tls);
    }
  }

  bool in_window(int64_t now) const {
    return now >= plan_.control.measure_from_ns.load(std::memory_order_relaxed) &&
           now < plan_.control.end_ns.load(std::memory_order_relaxed);
  }

  void establish(connection& c, int64_t now) {
    --connecting_;
    ++open_;
    plan_.control.open_conns.fetch_add(1, std::memory_order_relaxed);
    ++stats_.established;
    c.state = conn_state::established;
    c.last_progress_ns = now;
    if (!c.out) c.out = std::make_unique_for_overwrite<char[]>(c.out_capacity);
    if (paced_) {
      // Spread the first pings over one interval so they do not all land
      // on the server in the same instant.
      const auto index = static_cast<uint32_t>(&c - conns_.data());
      const auto offset =
          static_cast<int64_t>(splitmix64(c.seed) % static_cast<uint64_t>(plan_.ping_interval_ns));
      pings_.emplace(now + offset, index);
      return;
    }
    switch (mode_) {
      case run_mode::shortconn:
      case run_mode::handshake:
        c.unsent_budget = plan_.message_wire_bytes;  // its clock started at connect
        break;
      default:
        for (uint32_t i = 0; i < plan_.opts.n_inflight; ++i)
          c.send_times.push(now);
        c.unsent_budget = plan_.message_wire_bytes * plan_.opts.n_inflight;
        break;
    }
    flush_output(c, now);
  }

  /// idle: sends every ping that is due. A ping is one message; its echo is
  /// verified and timed like any other.
  void send_due_pings(int64_t now) {
    while (!pings_.empty() && pings_.top().first <= now) {
      connection& c = conns_[pings_.top().second];
      pings_.pop();
      if (c.state != conn_state::established) continue;  // closed since
      c.send_times.push(now);
      ++c.outstanding;
      c.unsent_budget += plan_.message_wire_bytes;
      c.last_progress_ns = now;
      flush_output(c, now);
    }
  }

  /// Writes as much pending output as the socket takes. Returns false if the
  /// connection was closed.
  bool flush_output(connection& c, int64_t now) {
    for (;;) {
      if (c.out_pos == c.out_len) {
        if (c.unsent_budget == 0) break;
        const size_t n = static_cast<size_t>(std::min<uint64_t>(c.out_capacity, c.unsent_budget));
        c.sender.fill(std::span(c.out.get(), n));
        c.out_pos = 0;
        c.out_len = n;
        c.unsent_budget -= n;
      }
      if (c.tls) {
        // A retry after want_write passes the same bytes again, as OpenSSL
        // requires: out_pos only moves on success.
        const auto r = c.tls.write(c.out.get() + c.out_pos, c.out_len - c.out_pos);
        if (r.st == load_client_tls::status::ok) {
          sent(c, r.bytes, now);
          continue;
        }
        if (r.st == load_client_tls::status::want_write) return wait_writable(c, true);
        if (r.st == load_client_tls::status::want_read) return wait_writable(c, false);
        close_with_error(c, tls_error(r.st));
        return false;
      }
      const ssize_t r =
          ::send(c.fd.get(), c.out.get() + c.out_pos, c.out_len - c.out_pos, MSG_NOSIGNAL);
      if (r > 0) {
        sent(c, static_cast<size_t>(r), now);
        continue;
      }
      if (r < 0 && errno == EINTR) continue;
      if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return wait_writable(c, true);
      close_with_error(c, error_kind::reset);
      return false;
    }
    return wait_writable(c, false);
  }

  static void sent(connection& c, size_t n, int64_t now) {
    c.out_pos += n;
    c.bytes_sent += n;
    c.last_progress_ns = now;
  }

  static error_kind tls_error(load_client_tls::status st) {
    switch (st) {
      case load_client_tls::status::eof:
        return error_kind::eof;
      case load_client_tls::status::reset:
        return error_kind::reset;
      default:
        return error_kind::tls;
    }
  }

  /// Registers or drops EPOLLOUT; returns false if the connection was closed.
  bool wait_writable(connection& c, bool want_write) {
    if (set_interest(c, want_write)) return true;
    close_with_error(c, error_kind::reset);
    return false;
  }

  /// One recv per readiness event (level-triggered), so a connection with a
  /// lot of data cannot starve the others. Returns false if the connection
  /// was closed (or, in shortconn, replaced by the slot's next one).
  bool read_once(connection& c) {
    if (c.tls) return read_tls(c);
    const ssize_t n = ::recv(c.fd.get(), recv_buf_.data(), recv_buf_.size(), 0);
    if (n > 0) return absorb(c, static_cast<size_t>(n), now_ns());
    if (n == 0) {
      close_with_error(c, error_kind::eof);
      return false;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return true;
    close_with_error(c, error_kind::reset);
    return false;
  }

  /// read_once over TLS: one socket read's worth. OpenSSL reads ahead, so
  /// whatever it already holds is taken too; epoll would not report it.
  bool read_tls(connection& c) {
    do {
      const auto r = c.tls.read(recv_buf_.data(), recv_buf_.size());
      switch (r.st) {
        case load_client_tls::status::ok:
          if (!absorb(c, r.bytes, now_ns())) return false;
          break;
        case load_client_tls::status::want_read:
          return true;
        case load_client_tls::status::want_write:
          // Only a renegotiation or key update could ask; wait for room.
          return wait_writable(c, true);
        default:
          close_with_error(c, tls_error(r.st));
          return false;
      }
    } while (c.tls.has_pending());
    return true;
  }

  /// Checks `n` echoed bytes in recv_buf_ and completes the messages they finish.
  bool absorb(connection& c, size_t n, int64_t now) {
    // More echo than was sent can only be a misbehaving server.
    if (c.bytes_received + n > c.bytes_sent) {
      close_with_error(c, error_kind::verify);
      return false;
    }
    if (!c.verifier.verify(std::span(recv_buf_.data(), n))) {
      close_with_error(c, error_kind::verify);
      return false;
    }
    c.bytes_received += n;
    c.last_progress_ns = now;
    c.received_in_message += n;
    while (c.received_in_message >= plan_.message_wire_bytes) {
      c.received_in_message -= plan_.message_wire_bytes;
      if (!complete_message(c, now)) return false;
    }
    return true;
  }

  /// Returns false if the connection is gone (shortconn closes it here).
  bool complete_message(connection& c, int64_t now) {
    const int64_t sent_at = c.send_times.pop();
    if (in_window(now)) {
      ++stats_.messages;
      stats_.latency.record(static_cast<uint64_t>(now - sent_at));
    }
    // An echo came back, so a TLS 1.3 server's tickets (sent right after its
    // handshake) have arrived: the session can now be resumed.
    if (c.tls && !c.session_kept) {
      tls_->remember(c.tls);
      c.session_kept = true;
    }
    if (paced_) {
      // The next ping keeps the period from this one's send, not its echo.
      --c.outstanding;
      pings_.emplace(std::max(now, sent_at + plan_.ping_interval_ns),
                     static_cast<uint32_t>(&c - conns_.data()));
      return true;
    }
    switch (mode_) {
      case run_mode::shortconn:
      case run_mode::handshake:
        // Echo complete: close (this side enters TIME_WAIT, as a real
        // client's would; over TLS after a close_notify, as a polite one's
        // would) and open the slot's next connection.
        --open_;
        plan_.control.open_conns.fetch_sub(1, std::memory_order_relaxed);
        c.tls.close_notify();
        c.tls.reset();
        c.fd.reset();
        c.state = conn_state::closed;
        begin_connect(static_cast<size_t>(&c - conns_.data()), now);
        return false;
      default:
        // The freed slot goes straight to the next message; its clock starts
        // now, even if it has to queue behind unsent bytes, as a real client's would.
        c.send_times.push(now);
        c.unsent_budget += plan_.message_wire_bytes;
        return true;
    }
  }

  void check_timeouts(int64_t now) {
    for (connection& c : conns_) {
      // A paced connection with no ping outstanding is not stalled, only idle.
      const bool awaiting = !paced_ || c.outstanding > 0;
      const bool connecting =
          c.state == conn_state::connecting || c.state == conn_state::handshaking;
      if (connecting && now - c.started_ns > plan_.connect_timeout_ns) {
        close_with_error(
            c, c.state == conn_state::handshaking ? error_kind::tls : error_kind::connect);
      } else if (c.state == conn_state::established && awaiting &&
                 now - c.last_progress_ns > stall_timeout_ns) {
        close_with_error(c, error_kind::timeout);
      }
    }
  }

  /// Switches EPOLLOUT on or off; returns false if epoll refused.
  bool set_interest(connection& c, bool want_write) {
    // Also after a connect, which watched EPOLLOUT alone.
    if (c.want_write == want_write &&
        (c.state == conn_state::established || c.state == conn_state::handshaking)) {
      return true;
    }
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP | (want_write ? EPOLLOUT : 0u);
    ev.data.u64 = static_cast<uint64_t>(&c - conns_.data());
    if (epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, c.fd.get(), &ev) != 0) return false;
    c.want_write = want_write;
    return true;
  }

  void close_with_error(connection& c, error_kind kind) {
    if (c.state == conn_state::connecting || c.state == conn_state::handshaking) {
      --connecting_;
      ++stats_.failed;
    } else if (c.state == conn_state::established) {
      --open_;
      plan_.control.open_conns.fetch_sub(1, std::memory_order_relaxed);
    }
    ++stats_.errors[static_cast<size_t>(kind)];
    c.tls.reset();
    c.fd.reset();  // closing also removes it from the epoll set
    c.out.reset();
    c.state = conn_state::closed;
  }

  using ping_entry = std::pair<int64_t, uint32_t>;  // (due, connection index)

  const run_plan& plan_;
  load_client_tls::client* const tls_;
  const run_mode mode_;
  const bool paced_;  // idle, or pingpong with --rate: messages go out on the ping schedule
  bool have_pwait2_ = true;
  unique_fd epoll_;
  std::vector<connection> conns_;
  size_t next_to_start_ = 0;
  size_t connecting_ = 0;  // connects in progress
  size_t open_ = 0;        // established and not closed
  uint32_t next_source_;   // rotates over the loopback source addresses
  bool connect_phase_reported_ = false;
  std::priority_queue<ping_entry, std::vector<ping_entry>, std::greater<>> pings_;
  std::vector<char> recv_buf_;  // shared by this thread's connections
  run_stats stats_;
};

// ---------------------------------------------------------------------------
// Driver and report
// ---------------------------------------------------------------------------

class worker_pool {
 public:
  /// `tls`: one client per thread, or empty without --tls.
  worker_pool(const run_plan& plan, std::vector<std::unique_ptr<load_client_tls::client>>& tls)
      : results_(plan.opts.threads) {
    const uint32_t threads = plan.opts.threads;
    const uint32_t conns = plan.opts.n_conns;
    plan.control.workers_running.store(threads);
    pool_.reserve(threads);
    uint64_t first = 0;
    for (uint32_t t = 0; t < threads; ++t) {
      const uint32_t count = conns / threads + (t < conns % threads ? 1 : 0);
      load_client_tls::client* client = tls.empty() ? nullptr : tls[t].get();
      pool_.emplace_back([&plan, &slot = results_[t], first, count, client] {
        slot = worker(plan, first, count, client).run();
        plan.control.workers_running.fetch_sub(1, std::memory_order_release);
      });
      first += count;
    }
  }

  run_stats join() {
    for (std::thread& th : pool_)
      th.join();
    run_stats total;
    for (const run_stats& r : results_)
      total.merge(r);
    return total;
  }

 private:
  std::vector<run_stats> results_;
  std::vector<std::thread> pool_;
};

/// Sleeps until `deadline`, or until every worker has returned, or `done()`.
template <typename Done>
void wait_until(const run_control& control, int64_t deadline, Done done) {
  for (;;) {
    const int64_t now = now_ns();
    if (now >= deadline || control.workers_running.load(std::memory_order_acquire) == 0 || done()) {
      return;
    }
    // Short naps keep the window's edges within a few ms at no real CPU cost.
    std::this_thread::sleep_for(
        std::chrono::nanoseconds(std::min<int64_t>(deadline - now, 20 * ns_per_ms)));
  }
}

double ns_to_us(uint64_t ns) {
  return static_cast<double>(ns) / 1e3;
}

void print_header(const options& opts, const target& dest) {
  std::printf(
      "load_client: %s mode=%s conns=%u size=%u inflight=%u frame=%s duration=%.1fs threads=%u",
      dest.display.c_str(), to_string(opts.resolved_mode), opts.n_conns, opts.n_size,
      opts.n_inflight, to_string(opts.frame), opts.duration_s, opts.threads);
  if (opts.warmup_s > 0) std::printf(" warmup=%.1fs", opts.warmup_s);
  if (opts.n_sources > 0) std::printf(" source-addrs=%u", opts.n_sources);
  if (opts.tls) {
    std::printf(" tls=%s%s%s%s%s", opts.tls_version.c_str(), opts.tls_ciphers.empty() ? "" : " ",
                opts.tls_ciphers.c_str(), opts.tls_resume ? " resume" : "",
                opts.tls_ca.empty() ? " (certificate not verified)" : "");
  }
  if (opts.resolved_mode == run_mode::idle)
    std::printf(" ping-interval=%.3gs", opts.ping_interval_s);
  if (opts.rate > 0) std::printf(" rate=%.0f/s", opts.rate);
  if (opts.server_pid) std::printf(" server-pid=%d", *opts.server_pid);
  std::printf("\n");
  std::fflush(stdout);
}

/// Everything measured, derived into the figures that are printed.
struct report {
  const options& opts;
  uint64_t message_wire_bytes;
  const run_stats& s;
  probe base;    // before the first connect
  probe begin;   // window start
  probe finish;  // window end
  int64_t open_at_begin = 0;
  int64_t open_at_end = 0;
  std::pair<uint64_t, uint64_t> nofile;  // this process: soft, hard
  std::optional<uint64_t> server_nofile;

  double window_s() const { return static_cast<double>(finish.at_ns - begin.at_ns) / 1e9; }
  double msgs_per_s() const { return static_cast<double>(s.messages) / opts.duration_s; }
  double mib_per_s() const {
    return msgs_per_s() * static_cast<double>(message_wire_bytes) / (1024.0 * 1024.0);
  }
  double client_cpu_pct() const {
    return 100.0 * (finish.client_cpu_s - begin.client_cpu_s) / std::max(window_s(), 1e-9);
  }
  std::optional<double> server_cpu_s() const {
    if (!begin.server_cpu_s || !finish.server_cpu_s) return std::nullopt;
    return *finish.server_cpu_s - *begin.server_cpu_s;
  }
  std::optional<double> server_cpu_pct() const {
    const auto cpu = server_cpu_s();
    if (!cpu) return std::nullopt;
    return 100.0 * *cpu / std::max(window_s(), 1e-9);
  }
  /// Server CPU µs per message (shortconn: per connection). The window the
  /// messages are counted in is the one the CPU is read around.
  std::optional<double> server_cpu_us_per_msg() const {
    const auto cpu = server_cpu_s();
    if (!cpu || s.messages == 0) return std::nullopt;
    return *cpu * 1e6 / static_cast<double>(s.messages);
  }
  bool idle() const { return opts.resolved_mode == run_mode::idle; }
  /// idle: server RSS growth per open connection, from before the first connect.
  std::optional<double> rss_per_conn_kib() const {
    if (!idle() || !base.server_rss_kib || !finish.server_rss_kib || open_at_end <= 0) {
      return std::nullopt;
    }
    return (static_cast<double>(*finish.server_rss_kib) -
            static_cast<double>(*base.server_rss_kib)) /
           static_cast<double>(open_at_end);
  }
  std::optional<int64_t> slab_delta_kib() const {
    if (!base.slab_kib || !finish.slab_kib) return std::nullopt;
    return static_cast<int64_t>(*finish.slab_kib) - static_cast<int64_t>(*base.slab_kib);
  }
  std::optional<int64_t> tcp_pages_delta() const {
    if (!base.tcp_pages || !finish.tcp_pages) return std::nullopt;
    return static_cast<int64_t>(*finish.tcp_pages) - static_cast<int64_t>(*base.tcp_pages);
  }
  /// idle: kernel memory per socket: slab growth plus TCP buffer pages,
  /// machine-wide, over both ends of every loopback connection (client and
  /// server sockets are alike), so it is an estimate, noisy on a busy machine.
  std::optional<double> kernel_kib_per_socket() const {
    const auto slab = slab_delta_kib();
    const auto pages = tcp_pages_delta();
    if (!idle() || !slab || !pages || open_at_end <= 0) return std::nullopt;
    const double page_kib = static_cast<double>(sysconf(_SC_PAGESIZE)) / 1024.0;
    return (static_cast<double>(*slab) + static_cast<double>(*pages) * page_kib) /
           (2.0 * static_cast<double>(open_at_end));
  }
};

void print_report(const report& r) {
  const run_stats& s = r.s;
  const latency_histogram& h = s.latency;
  const auto& e = s.errors;
  const bool shortconn = r.opts.resolved_mode == run_mode::shortconn;
  const bool handshake = r.opts.resolved_mode == run_mode::handshake;
  const char* per_unit = handshake ? "handshake" : shortconn ? "connection" : "message";

  std::printf("connections  : %llu established, %llu failed",
              static_cast<unsigned long long>(s.established),
              static_cast<unsigned long long>(s.failed));
  if (s.unfinished > 0) {
    std::printf(", %llu unfinished", static_cast<unsigned long long>(s.unfinished));
  }
  std::printf("\n");
  if (handshake) {
    std::printf(
        "handshakes   : %llu completed (%.0f/s), each connect + TLS handshake + %u B echo + "
        "close_notify + close\n",
        static_cast<unsigned long long>(s.messages), r.msgs_per_s(), r.opts.n_size);
  } else if (shortconn) {
    std::printf("short conns  : %llu completed (%.0f/s), each connect + %u B echo + close\n",
                static_cast<unsigned long long>(s.messages), r.msgs_per_s(), r.opts.n_size);
  } else {
    std::printf("messages     : %llu (%.0f/s)\n", static_cast<unsigned long long>(s.messages),
                r.msgs_per_s());
  }
  std::printf("throughput   : %.2f MiB/s each way\n", r.mib_per_s());
  std::printf("latency (us) : p50 %.0f  p90 %.0f  p99 %.0f  p999 %.0f  max %.0f\n",
              ns_to_us(h.percentile(50)), ns_to_us(h.percentile(90)), ns_to_us(h.percentile(99)),
              ns_to_us(h.percentile(99.9)), ns_to_us(h.max()));
  std::printf("errors       : %llu (", static_cast<unsigned long long>(s.total_errors()));
  for (size_t i = 0; i < error_kind_count; ++i) {
    std::printf("%s%s %llu", i == 0 ? "" : ", ", error_names[i],
                static_cast<unsigned long long>(e[i]));
  }
  std::printf(")\n");
  if (r.opts.tls) {
    std::printf("tls          : %s, handshakes in the window: %llu full, %llu resumed\n",
                s.tls_negotiated.empty() ? "no handshake completed" : s.tls_negotiated.c_str(),
                static_cast<unsigned long long>(s.tls_full),
                static_cast<unsigned long long>(s.tls_resumed));
    if (r.opts.tls_resume && s.tls_full > s.tls_resumed) {
      std::printf(
          "tls          : warning: --tls-resume, yet most handshakes were full "
          "(does the server resume sessions?)\n");
    }
  }
  std::printf("client CPU   : %.0f%% of one core over the %.2f s window\n", r.client_cpu_pct(),
              r.window_s());
  if (r.opts.server_pid) {
    std::printf("server       : pid %d", *r.opts.server_pid);
    if (const auto cpu = r.server_cpu_s()) {
      std::printf(", CPU %.2f s = %.0f%% of one core", *cpu, *r.server_cpu_pct());
    }
    if (const auto per = r.server_cpu_us_per_msg()) {
      std::printf(", %.2f us per %s", *per, per_unit);
    }
    if (r.begin.server_rss_kib && r.finish.server_rss_kib) {
      std::printf(", RSS %llu -> %llu KiB",
                  static_cast<unsigned long long>(*r.begin.server_rss_kib),
                  static_cast<unsigned long long>(*r.finish.server_rss_kib));
    }
    std::printf("\n");
  }
  if (r.idle()) {
    std::printf("idle         : %lld connections open at the window's start, %lld at its end\n",
                static_cast<long long>(r.open_at_begin), static_cast<long long>(r.open_at_end));
    if (const auto per = r.rss_per_conn_kib()) {
      std::printf("idle memory  : server RSS %llu -> %llu KiB = %.2f KiB per connection\n",
                  static_cast<unsigned long long>(*r.base.server_rss_kib),
                  static_cast<unsigned long long>(*r.finish.server_rss_kib), *per);
    }
    if (const auto k = r.kernel_kib_per_socket()) {
      std::printf(
          "kernel       : ~%.2f KiB per socket (slab %+lld KiB, TCP buffers %+lld pages, "
          "machine-wide, over both ends)\n",
          *k, static_cast<long long>(*r.slab_delta_kib()),
          static_cast<long long>(*r.tcp_pages_delta()));
    }
  }
  std::printf("fd limit     : RLIMIT_NOFILE %llu (hard %llu)",
              static_cast<unsigned long long>(r.nofile.first),
              static_cast<unsigned long long>(r.nofile.second));
  if (r.server_nofile) {
    std::printf(", server's %llu", static_cast<unsigned long long>(*r.server_nofile));
  }
  std::printf("\n");

  if (!r.opts.json) return;
  std::printf(
      "{\"msgs\":%llu,\"msgs_per_s\":%.1f,\"mib_per_s\":%.3f,\"p50_us\":%.1f,\"p99_us\":%.1f,"
      "\"p999_us\":%.1f,\"errors\":%llu,\"established\":%llu,\"p90_us\":%.1f,\"max_us\":%.1f,"
      "\"failed\":%llu,\"conns\":%u,\"size\":%u,\"inflight\":%u,\"frame\":\"%s\",\"threads\":%u,"
      "\"duration_s\":%.3f,\"mode\":\"%s\",\"window_s\":%.3f,\"client_cpu_pct\":%.1f,"
      "\"source_addrs\":%u,\"nofile_soft\":%llu,\"nofile_hard\":%llu",
      static_cast<unsigned long long>(s.messages), r.msgs_per_s(), r.mib_per_s(),
      ns_to_us(h.percentile(50)), ns_to_us(h.percentile(99)), ns_to_us(h.percentile(99.9)),
      static_cast<unsigned long long>(s.total_errors()),
      static_cast<unsigned long long>(s.established), ns_to_us(h.percentile(90)), ns_to_us(h.max()),
      static_cast<unsigned long long>(s.failed), r.opts.n_conns, r.opts.n_size, r.opts.n_inflight,
      to_string(r.opts.frame), r.opts.threads, r.opts.duration_s, to_string(r.opts.resolved_mode),
      r.window_s(), r.client_cpu_pct(), r.opts.n_sources,
      static_cast<unsigned long long>(r.nofile.first),
      static_cast<unsigned long long>(r.nofile.second));
  for (size_t i = 0; i < error_kind_count; ++i) {
    std::printf(",\"%s_errors\":%llu", error_names[i], static_cast<unsigned long long>(e[i]));
  }
  if (shortconn || handshake) std::printf(",\"conns_per_s\":%.1f", r.msgs_per_s());
  if (handshake) std::printf(",\"handshakes_per_s\":%.1f", r.msgs_per_s());
  if (r.opts.tls) {
    std::printf(",\"tls\":\"%s\",\"tls_full\":%llu,\"tls_resumed\":%llu", s.tls_negotiated.c_str(),
                static_cast<unsigned long long>(s.tls_full),
                static_cast<unsigned long long>(s.tls_resumed));
  }
  if (r.opts.server_pid) {
    std::printf(",\"server_pid\":%d", *r.opts.server_pid);
    if (const auto cpu = r.server_cpu_s()) {
      std::printf(",\"server_cpu_s\":%.3f,\"server_cpu_pct\":%.1f", *cpu, *r.server_cpu_pct());
    }
    if (const auto per = r.server_cpu_us_per_msg()) {
      std::printf(",\"server_cpu_us_per_msg\":%.3f", *per);
      if (shortconn) std::printf(",\"server_cpu_us_per_conn\":%.3f", *per);
      if (handshake) std::printf(",\"server_cpu_us_per_handshake\":%.3f", *per);
    }
    if (r.begin.server_rss_kib) {
      std::printf(",\"server_rss_kib_before\":%llu",
                  static_cast<unsigned long long>(*r.begin.server_rss_kib));
    }
    if (r.finish.server_rss_kib) {
      std::printf(",\"server_rss_kib_after\":%llu",
                  static_cast<unsigned long long>(*r.finish.server_rss_kib));
    }
    if (r.server_nofile) {
      std::printf(",\"server_nofile\":%llu", static_cast<unsigned long long>(*r.server_nofile));
    }
  }
  if (r.idle()) {
    std::printf(",\"idle_open_begin\":%lld,\"idle_open_end\":%lld",
                static_cast<long long>(r.open_at_begin), static_cast<long long>(r.open_at_end));
    if (r.base.server_rss_kib) {
      std::printf(",\"server_rss_kib_base\":%llu",
                  static_cast<unsigned long long>(*r.base.server_rss_kib));
    }
    if (const auto per = r.rss_per_conn_kib()) std::printf(",\"rss_per_conn_kib\":%.3f", *per);
    if (const auto slab = r.slab_delta_kib()) {
      std::printf(",\"slab_delta_kib\":%lld", static_cast<long long>(*slab));
    }
    if (const auto pages = r.tcp_pages_delta()) {
      std::printf(",\"tcp_mem_delta_pages\":%lld", static_cast<long long>(*pages));
    }
    if (const auto k = r.kernel_kib_per_socket()) {
      std::printf(",\"kernel_kib_per_socket\":%.3f", *k);
    }
  }
  std::printf("}\n");
}

}  // namespace

int main(int argc, char** argv) {
  parse_result parsed = parse_args(argc, argv);
  if (parsed.status == parse_status::help) {
    print_usage(stdout);
    return 0;
  }
  if (parsed.status == parse_status::usage_error) {
    std::fprintf(stderr, "load_client: %s (see --help)\n", parsed.error.c_str());
    return 2;
  }
  options& opts = parsed.opts;

  std::string error;
  const std::optional<target> dest = resolve_loopback(opts.host, *opts.port, error);
  if (!dest) {
    std::fprintf(stderr, "load_client: %s\n", error.c_str());
    return 2;
  }
  if (opts.n_sources > 0 && dest->family != AF_INET) {
    if (opts.source_addresses) {
      std::fprintf(stderr,
                   "load_client: --source-addrs needs an IPv4 target (::1 is one address)\n");
      return 2;
    }
    opts.n_sources = 0;  // the mode's default; IPv6 loopback has a single address
  }
  if (opts.server_pid && !process_cpu_seconds(*opts.server_pid)) {
    std::fprintf(stderr, "load_client: cannot read /proc/%d/stat (--server-pid)\n",
                 *opts.server_pid);
    return 2;
  }

  // One TLS client per thread, made here so a bad CA file stops the run
  // before any connect.
  std::vector<std::unique_ptr<load_client_tls::client>> tls_clients;
  if (opts.tls) {
    // OpenSSL writes to the socket with write(), not send(MSG_NOSIGNAL): a
    // server that has closed must be an error counted, not a SIGPIPE.
    std::signal(SIGPIPE, SIG_IGN);
    load_client_tls::settings settings;
    settings.ca_file = opts.tls_ca;
    settings.server_ip = dest->address;
    settings.version = opts.tls_version;
    settings.ciphers = opts.tls_ciphers;
    settings.resume = opts.tls_resume;
    for (uint32_t t = 0; t < opts.threads; ++t) {
      tls_clients.push_back(load_client_tls::client::make(settings, error));
      if (!tls_clients.back()) {
        std::fprintf(stderr, "load_client: %s\n", error.c_str());
        return 2;
      }
    }
  }

  const auto nofile = raise_fd_limit(opts.n_conns, opts.threads);
  print_header(opts, *dest);

  run_control control;
  const bool idle = opts.resolved_mode == run_mode::idle;
  const probe base = probe::take(opts.server_pid);  // before the first connect
  const int64_t start = now_ns();
  if (idle) {
    // Opened once every connection is up (below).
    control.measure_from_ns = std::numeric_limits<int64_t>::max();
    control.end_ns = std::numeric_limits<int64_t>::max();
  } else {
    control.measure_from_ns = start + seconds_to_ns(opts.warmup_s);
    control.end_ns = control.measure_from_ns + seconds_to_ns(opts.duration_s);
  }
  const payload_table table(opts.frame);
  const run_plan plan{
      .opts = opts,
      .table = table,
      .dest = *dest,
      .message_wire_bytes = wire_bytes(opts.frame, opts.n_size),
      .connect_timeout_ns = seconds_to_ns(opts.connect_timeout_s),
      .ping_interval_ns = std::max<int64_t>(seconds_to_ns(opts.ping_interval_s), 1),
      .control = control,
  };
  worker_pool pool(plan, tls_clients);

  if (idle) {
    wait_until(control, start + max_connect_phase_ns, [&] {
      return control.connect_phases_done.load(std::memory_order_acquire) == opts.threads;
    });
    // One ping interval later every connection has exchanged a message, so
    // whatever the server allocates for a message has been allocated.
    wait_until(control, now_ns() + plan.ping_interval_ns, [] { return false; });
  } else {
    wait_until(control, control.measure_from_ns.load(), [] { return false; });
  }
  const probe begin = probe::take(opts.server_pid);
  const int64_t open_at_begin = control.open_conns.load();
  if (idle) {
    control.measure_from_ns = begin.at_ns;
    control.end_ns = begin.at_ns + seconds_to_ns(opts.duration_s);
  }
  wait_until(control, control.end_ns.load(), [] { return false; });
  const probe finish = probe::take(opts.server_pid);
  const int64_t open_at_end = control.open_conns.load();
  control.end_ns = std::min(control.end_ns.load(), finish.at_ns);  // workers that still run stop
  const run_stats total = pool.join();

  const report r{
      .opts = opts,
      .message_wire_bytes = plan.message_wire_bytes,
      .s = total,
      .base = base,
      .begin = begin,
      .finish = finish,
      .open_at_begin = open_at_begin,
      .open_at_end = open_at_end,
      .nofile = nofile,
      .server_nofile =
          opts.server_pid ? process_fd_limit(*opts.server_pid) : std::optional<uint64_t>{},
  };
  print_report(r);
  if (idle) {
    return total.total_errors() == 0 && total.established == opts.n_conns ? 0 : 1;
  }
  return total.total_errors() == 0 && total.messages > 0 ? 0 : 1;
}
