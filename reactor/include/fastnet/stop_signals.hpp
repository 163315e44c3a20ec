// fastnet — stopping a program on SIGINT/SIGTERM, the same way everywhere.
#pragma once

#include <signal.h>

#include <functional>
#include <initializer_list>
#include <memory>

#include "fastnet/socket.hpp"

namespace fastnet {

class event_loop;

/// The signals that stop a program (SIGINT and SIGTERM by default), taken
/// synchronously instead of by an asynchronous handler: a handler may do
/// almost nothing safely, while wait() returns to ordinary code that can
/// call `server.stop()`.
///
/// The constructor blocks the signals in the calling thread, and threads
/// inherit the mask when they start: construct it first in main(), before
/// any server, client or CAF actor_system starts a thread, or one of those
/// threads may take a signal meant for wait() and end the process.
///
///     fastnet::stop_signals stop;   // first: before any thread starts
///     server.start();
///     int sig = stop.wait();         // SIGINT or SIGTERM
///     server.stop();
///
/// A server that runs on the main thread (`server.run()`) is stopped from
/// its own loop instead: `stop.on_loop(loop, [&](int) { server.stop(); })`.
/// Thread safety: construct and destroy on one thread; wait() from one
/// thread at a time; on_loop() as described there.
class stop_signals {
 public:
  /// Blocks SIGINT and SIGTERM in the calling thread. Throws
  /// std::system_error when the kernel refuses the signalfd.
  stop_signals();
  /// Blocks `signals` (for example also SIGHUP) in the calling thread.
  explicit stop_signals(std::initializer_list<int> signals);
  /// Restores the calling thread's signal mask as it was.
  ~stop_signals();
  stop_signals(const stop_signals&) = delete;
  stop_signals& operator=(const stop_signals&) = delete;

  /// Blocks until one of the signals arrives (or one that was already
  /// pending) and returns its number.
  int wait();

  /// Calls `fn(signal)` on `loop`'s thread each time one of the signals
  /// arrives, for a program whose main thread runs a loop. Call it once.
  /// The watch starts on the loop's thread (before run(): on its first
  /// iteration) and ends with this object, which must outlive the loop's
  /// run() or be destroyed on its thread. Any thread.
  void on_loop(event_loop& loop, std::function<void(int)> fn);

  /// "SIGINT", "SIGTERM", ... for a log line. Any thread.
  static const char* name(int signal);

 private:
  class loop_watch;

  sigset_t set_{};
  sigset_t previous_{};
  unique_fd fd_;  // a signalfd, read by wait() and on_loop()
  std::unique_ptr<loop_watch> watch_;
};

}  // namespace fastnet
