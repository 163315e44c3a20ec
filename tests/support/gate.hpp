// Test support: a gate that holds threads (an actor made slow on purpose,
// a callback parked on its loop) until the test opens it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace fastnet::test {

/// Blocks callers until opened; open for good once opened. Any thread.
class gate {
 public:
  /// Waits until the gate is open.
  void wait() {
    std::unique_lock lock(m_);
    cv_.wait(lock, [&] { return open_; });
  }
  /// False if the gate is still shut after `timeout`.
  bool wait_for(std::chrono::milliseconds timeout) {
    std::unique_lock lock(m_);
    return cv_.wait_for(lock, timeout, [&] { return open_; });
  }
  void open() {
    std::lock_guard lock(m_);
    open_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  bool open_ = false;
};

}  // namespace fastnet::test
