// load_client's command line: the flags (parsed with CLI11), their
// mode-dependent defaults and the checks that span several flags.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "wire.hpp"

namespace load_client {

/// Hard cap on --duration and --warmup, in seconds.
constexpr double max_seconds = 600.0;

/// What the connections do; see --help and main.cpp's opening comment.
enum class run_mode { pingpong, pipelined, stream, shortconn, handshake, idle };

/// A mode whose connections each carry one message and close.
inline bool one_shot(run_mode m) {
  return m == run_mode::shortconn || m == run_mode::handshake;
}

/// The mode's name as --mode spells it.
const char* to_string(run_mode m);

/// Every flag's value. Filled by parse_options on the main thread; read-only
/// once the workers start (they all read it).
struct options {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  // Unset values take the mode's default (parse_options); without --mode
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

  // Resolved from the above by parse_options.
  run_mode resolved_mode = run_mode::pingpong;
  uint32_t n_conns = 50;
  uint32_t n_size = 64;
  uint32_t n_inflight = 1;
  uint32_t n_sources = 0;
};

/// Reads the command line into `opts` and resolves what depends on the mode.
/// Returns the exit status when the program is to stop here: 0 after --help
/// (printed to stdout), 2 after a usage error (printed to stderr, and so are
/// the caps applied to --duration and --warmup). Main thread.
std::optional<int> parse_options(int argc, char** argv, options& opts);

}  // namespace load_client
