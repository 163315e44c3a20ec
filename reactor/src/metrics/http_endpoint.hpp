// fastnet — the /metrics HTTP endpoint a tcp_server serves beside its
// listener (internal; see tcp_server_options::metrics).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>

#include "../acceptor.hpp"
#include "../connection_owner.hpp"
#include "fastnet/handler.hpp"
#include "fastnet/tcp_server.hpp"

namespace fastnet::detail {

/// Accepts on its own listener from one loop and answers each connection's
/// one request: GET /metrics gets `scrape()` in the Prometheus text format,
/// anything else an HTTP error; then the connection closes. A request head
/// over max_request bytes, or not complete within request_timeout, closes
/// the connection (and only it).
/// Thread safety: construct, use and destroy on the loop's thread only.
class http_endpoint {
 public:
  using scrape_fn = std::function<std::string()>;

  http_endpoint(event_loop& loop, unique_fd listener, const metrics_options& opts,
                scrape_fn scrape);
  /// Resets the connections still open.
  ~http_endpoint();
  http_endpoint(const http_endpoint&) = delete;
  http_endpoint& operator=(const http_endpoint&) = delete;

 private:
  class owner;
  class quiet_handler final : public tcp_handler {
    void on_message(const connection_ptr&, std::span<const std::byte>) override {}
  };
  void on_accept(unique_fd fd, const socket_address& peer);
  void closed(connection_impl& c);

  quiet_handler handler_;  // requests are answered by the protocol alone
  owner_ref owner_;
  std::deque<connection_ptr> connections_;
  uint64_t next_id_ = 1;
  std::unique_ptr<acceptor> acceptor_;  // last: destroyed first
};

}  // namespace fastnet::detail
