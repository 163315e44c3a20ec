// What load_client reads from /proc and getrusage around the measured
// window: the server's CPU time, RSS and fd limit, this process's CPU time,
// and the machine's kernel memory (slab, TCP buffers).
#pragma once

#include <cstdint>
#include <optional>

namespace load_client {

/// CPU time (user + system, all threads, dead ones included) of a process.
/// Resolution is one clock tick (10 ms at the usual CLK_TCK of 100). nullopt if
/// /proc/PID/stat cannot be read. Any thread.
std::optional<double> process_cpu_seconds(int pid);

/// The soft "Max open files" limit of a process, as the server runs with it;
/// nullopt if /proc/PID/limits cannot be read. Any thread.
std::optional<uint64_t> process_fd_limit(int pid);

/// What is known about the machine and the server at one instant.
struct probe {
  int64_t at_ns = 0;
  double client_cpu_s = 0;
  std::optional<double> server_cpu_s;
  std::optional<uint64_t> server_rss_kib;
  std::optional<uint64_t> slab_kib;  // kernel slab, machine-wide
  std::optional<uint64_t> tcp_pages;

  /// Reads everything now; the server's figures only with its pid. Any
  /// thread (client_cpu_s counts all of this process's threads); load_client
  /// takes them on the main thread.
  static probe take(std::optional<int> server_pid);
};

}  // namespace load_client
