// fastnet::metrics — GET /metrics on an address of its own, for a process
// with no tcp_server to carry the endpoint.
#pragma once

#include <memory>

#include "fastnet/socket_address.hpp"
#include "fastnet/tcp_server.hpp"

namespace fastnet::metrics {

/// Answers GET /metrics with a registry's scrape, on an event loop of its
/// own (one thread, asleep between requests): for a process that serves no
/// TCP of its own, such as an actor node whose only listener is CAF's. A
/// tcp_server serves its endpoint on its own loops instead
/// (tcp_server_options::metrics). The answers, limits and one request per
/// connection are the same as there; `opts.name` is not used (there is no
/// server whose statistics to add: watch() whatever should be in it).
/// Thread safety: construct and destroy on one thread; address() from any.
class endpoint {
 public:
  /// Binds `opts.address` (required; std::invalid_argument without one,
  /// std::system_error when it cannot be bound) and starts answering with
  /// `opts.registry`'s scrape (required: std::invalid_argument when null).
  explicit endpoint(const metrics_options& opts);
  /// Stops answering: open requests are reset, the thread is joined.
  ~endpoint();
  endpoint(const endpoint&) = delete;
  endpoint& operator=(const endpoint&) = delete;

  /// The bound address (the real port when 0 was asked for). Any thread.
  socket_address address() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace fastnet::metrics
