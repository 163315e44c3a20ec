// fastnet — the kernel interface under an event loop (internal): epoll or
// io_uring behind one set of calls.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "fastnet/backend.hpp"
#include "fastnet/event_loop.hpp"

namespace fastnet::detail {

/// Where the poller hands the bytes of a stream it reads itself (io_uring's
/// multishot receive) instead of reporting readiness: called with the
/// stream's handler, the bytes in order (valid during the call only), and
/// `error` 0 with bytes, 0 with none for the peer's end of the stream, else
/// the receive's errno (the stream then ends). On the loop thread.
/// (A function, not a class between io_handler and the connection: the
/// connection's destructor stays as it was, which UBSan's vptr check can
/// verify even when the process is out of descriptors.)
using receive_fn = void (*)(io_handler* h, std::span<const std::byte> data, int error);

/// Waits for events on descriptors and dispatches them to their handlers.
/// Readiness (watch) works for any descriptor; a poller that reads streams
/// itself (reads_streams()) also takes stream sockets (watch_stream), whose
/// input it delivers through its receive_fn and whose
/// EPOLLOUT interest it reports as readiness.
/// Thread safety: the loop thread only (construction and destruction on any).
class poller {
 public:
  virtual ~poller() = default;
  /// Starts reporting `events` (EPOLLIN/EPOLLOUT, level-triggered) of `fd`
  /// to `h`. Throws std::system_error.
  virtual void watch(int fd, uint32_t events, io_handler* h) = 0;
  /// Changes the events reported for a watched `fd`.
  virtual void modify(int fd, uint32_t events, io_handler* h) = 0;
  /// Stops watching `fd` (either kind); nothing more reaches its handler.
  /// The descriptor may be closed at once (io_uring: the kernel lets go of
  /// it when the cancels reach it, with the next wait or flush).
  virtual void unwatch(int fd) = 0;
  /// True when watch_stream() reads for its caller.
  virtual bool reads_streams() const { return false; }
  /// Watches stream socket `fd`: with EPOLLIN in `events` its bytes are
  /// received and delivered to `h`; EPOLLOUT is reported as readiness.
  /// Change the events with modify(). Only when reads_streams().
  virtual void watch_stream(int fd, uint32_t events, io_handler* h, receive_fn received) {
    (void)received;
    watch(fd, events, h);
  }
  /// Unwatches `fd`'s stream so that its owner can read the socket itself
  /// (STARTTLS), and returns what the poller had received for it and not
  /// delivered yet (a batch in progress), which comes next in the stream.
  virtual std::string unwatch_stream(int fd) {
    unwatch(fd);
    return {};
  }
  /// Hands pending requests to the kernel and waits up to `timeout_ms`
  /// (-1: no limit, 0: not at all) for events. Returns how many arrived, or
  /// -1 with errno.
  virtual int wait(int timeout_ms) = 0;
  /// Hands the events the last wait() collected to their handlers.
  virtual void dispatch() = 0;
  /// Hands pending requests to the kernel without waiting (io_uring; the
  /// loop does it as run() returns).
  virtual void flush() {}
  /// Called on the loop thread when run() starts (io_uring: the thread that
  /// will submit).
  virtual void enter_thread() {}
  /// The backend this is.
  virtual backend kind() const = 0;
};

/// A poller for `requested`: epoll or io_uring; automatic falls back to
/// epoll when io_uring cannot run (logged once per process). Throws
/// std::system_error when the requested backend cannot be set up.
std::unique_ptr<poller> make_poller(backend requested);

}  // namespace fastnet::detail
