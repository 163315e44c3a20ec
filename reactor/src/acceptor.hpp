// fastnet — a listening socket on one loop that accepts connections.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>

#include "fastnet/event_loop.hpp"
#include "fastnet/socket.hpp"

namespace fastnet::detail {

/// Accepts on one listening socket from its loop thread and hands each new
/// descriptor to `on_accept`. Out of descriptors (EMFILE/ENFILE) it keeps a
/// spare descriptor to accept-and-close the waiting connection, so the
/// level-triggered listener does not spin and the peer is told at once; if
/// even that fails it stops watching the listener for a short back-off and
/// retries, recovering by itself once descriptors are free again.
/// Thread safety: construct, use and destroy on the loop thread only.
class acceptor final : private io_handler {
 public:
  using accept_fn = std::function<void(unique_fd fd, const socket_address& peer)>;

  /// `resource_errors` (may be null) counts accept() failures for lack of
  /// descriptors or memory; several acceptors may share one.
  acceptor(event_loop& loop, unique_fd listen_fd, accept_fn on_accept,
           std::atomic<uint64_t>* resource_errors = nullptr);
  ~acceptor() override;
  acceptor(const acceptor&) = delete;
  acceptor& operator=(const acceptor&) = delete;

 private:
  void handle_events(uint32_t events) override;
  void out_of_descriptors(int err);

  event_loop& loop_;
  unique_fd listen_fd_;
  unique_fd spare_fd_;
  accept_fn on_accept_;
  std::atomic<uint64_t>* resource_errors_;
  timer_id retry_timer_;
  bool watching_ = false;
  size_t refused_emfile_ = 0;
};

}  // namespace fastnet::detail
