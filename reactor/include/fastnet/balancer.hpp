// fastnet — choosing the loop that will own a new connection.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <span>

#include "fastnet/hash_ring.hpp"
#include "fastnet/socket_address.hpp"

namespace fastnet {

/// Picks a loop index in [0, loads.size()) for a new connection from `peer`.
/// `loads[i]` is the number of connections loop i owns right now.
/// Thread safety: pick() is called by the accepting thread(s); built-in
/// balancers are safe to call concurrently.
class balancer {
 public:
  virtual ~balancer() = default;
  /// The loop for a new connection from `peer`. Must be below
  /// loads.size(): the server does not check it.
  virtual size_t pick(const socket_address& peer, std::span<const size_t> loads) = 0;
};
/// A balancer as tcp_server_options takes it (shared: the server keeps it).
using balancer_ptr = std::shared_ptr<balancer>;

/// Loops in turn: 0, 1, ..., n-1, 0, ... Any thread.
balancer_ptr round_robin();

/// The loop owning the fewest connections; ties go to the next loop after the
/// previous pick, so equal loads still rotate. Any thread.
balancer_ptr least_connections();

/// Consistent hashing of the peer's host address (not its port), so one
/// client machine always lands on the same loop while the loop count holds.
/// Any thread.
balancer_ptr consistent_hash();

/// A user function; its result is taken modulo the loop count. Any thread;
/// `fn` itself is called as pick() is.
balancer_ptr custom_balancer(
    std::function<size_t(const socket_address& peer, std::span<const size_t> loads)> fn);

}  // namespace fastnet
