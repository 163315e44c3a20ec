// load_client's workers: threads, each with one epoll and a share of the
// connections, driving them in the run's mode and counting what comes back.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "loopback.hpp"
#include "options.hpp"
#include "run_stats.hpp"
#include "tls.hpp"
#include "wire.hpp"

namespace load_client {

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

/// The worker threads: each runs one epoll loop over its share of the
/// connections until control.end_ns (see worker.cpp).
class worker_pool {
 public:
  /// Starts plan.opts.threads workers, each with its share of the
  /// connections; `tls_clients`: one per thread, or empty without --tls.
  /// Main thread; `plan`, `tls_clients` and what they refer to must outlive
  /// join().
  worker_pool(const run_plan& plan, std::vector<std::unique_ptr<tls::client>>& tls_clients);

  /// Waits for every worker to return and merges what they counted. Main
  /// thread, once.
  run_stats join();

 private:
  std::vector<run_stats> results_;
  std::vector<std::thread> pool_;
};

}  // namespace load_client
