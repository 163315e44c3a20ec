// fastnet — N event loops, each on its own thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "fastnet/event_loop.hpp"

namespace fastnet {

/// A fixed set of event loops, one thread each, started together and
/// stopped together. Also keeps the per-loop connection counts that the
/// balancers read.
/// Thread safety: start(), run() and stop() from one controlling thread (not
/// a loop thread); loop(), size() and the counters from any thread.
class loop_group {
 public:
  /// `threads` = 0 means one loop per core. Threads are named "<name>-<i>".
  /// Every loop runs on `b` (see event_loop's constructor, which throws).
  explicit loop_group(size_t threads = 0, std::string name = "fastnet",
                      backend b = backend::automatic);
  /// Stops the group as stop() does.
  ~loop_group();
  loop_group(const loop_group&) = delete;
  loop_group& operator=(const loop_group&) = delete;

  /// Starts the threads; returns once every loop is running. Idempotent
  /// while running; a stopped group cannot be restarted (std::logic_error).
  void start();
  /// Runs loop 0 on the calling thread (which is not renamed) and the others
  /// on threads of their own, until loop 0 quits (loop(0).quit(), from any
  /// thread); then stops the rest as stop() does. A group of one loop thus
  /// starts no thread at all. Tasks queued on a loop before run() run in its
  /// first iteration.
  void run();
  /// Quits every loop and joins the threads. Idempotent. While run() is
  /// serving, quit loop 0 instead: the run() caller joins the threads.
  void stop();

  /// The number of loops. Any thread.
  size_t size() const { return loops_.size(); }
  /// Loop `i` (below size()): to run a tcp_client on, or tasks and timers.
  /// Any thread.
  event_loop& loop(size_t i) { return *loops_[i]; }

  /// Connections currently owned by loop i (maintained by the servers/clients).
  size_t load(size_t i) const { return loads_[i].value.load(std::memory_order_relaxed); }
  /// Adds `delta` (negative: subtracts) to loop i's count. tcp_server does
  /// it as its connections open and close; code that puts connections of
  /// its own on these loops may count them too, so the balancers see them.
  /// Any thread (a relaxed atomic add).
  void add_load(size_t i, long delta) {
    loads_[i].value.fetch_add(static_cast<size_t>(delta), std::memory_order_relaxed);
  }

 private:
  /// Starts loops [first, size()) on threads; returns once they all run.
  void start_threads(size_t first);

  struct alignas(64) counter {
    std::atomic<size_t> value{0};
  };
  std::string name_;
  std::vector<std::unique_ptr<event_loop>> loops_;
  std::unique_ptr<counter[]> loads_;
  std::vector<std::thread> threads_;
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace fastnet
