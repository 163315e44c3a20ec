// Test support: an event loop running on a thread of its own.
#pragma once

#include <fastnet/event_loop.hpp>

#include <thread>

namespace fastnet::test {

/// An event loop running on a thread of its own; quits and joins on
/// destruction (also when a REQUIRE leaves the test early). Declare it after
/// the handlers its connections call and before the clients that use it.
class loop_thread {
 public:
  loop_thread() : thread_([this] { loop.run(); }) {}
  ~loop_thread() {
    loop.quit();
    thread_.join();
  }
  loop_thread(const loop_thread&) = delete;
  loop_thread& operator=(const loop_thread&) = delete;

  event_loop loop;

 private:
  std::thread thread_;
};

}  // namespace fastnet::test
