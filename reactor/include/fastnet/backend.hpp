// fastnet — which kernel interface an event loop drives: epoll or io_uring.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace fastnet {

/// The kernel interface behind an event loop. Chosen per server, client
/// loop or loop group; every documented behaviour is the same on both.
enum class backend : uint8_t {
  /// Level-triggered epoll: one recv and one send system call per message,
  /// one epoll_wait per batch of events. Works everywhere.
  epoll,
  /// io_uring (Linux 6.0 and later, built with liburing): a multishot
  /// receive per plain TCP connection into a per-loop ring of provided
  /// buffers (no receive system call, no receive buffer while idle), and one
  /// io_uring_enter per loop iteration. Requesting it where it cannot run
  /// throws std::system_error saying why.
  io_uring,
  /// The backend measured faster on this kind of machine: io_uring (less
  /// server CPU per message than epoll in every case of bench/RESULTS.md's
  /// 2026-12-04 matrix), epoll where io_uring cannot run. The
  /// environment variable FASTNET_BACKEND=epoll|io_uring overrides the pick
  /// (the test suite runs on both that way); a pick of io_uring that cannot
  /// run falls back to epoll, logged once per process with the reason.
  automatic,
};

/// "epoll", "io_uring" or "automatic". Any thread.
const char* to_string(backend b);

/// Parses "epoll", "io_uring" (or "uring"), "auto"/"automatic"; nullopt
/// otherwise. Any thread.
std::optional<backend> parse_backend(std::string_view name);

}  // namespace fastnet
