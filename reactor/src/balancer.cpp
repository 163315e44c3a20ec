#include "fastnet/balancer.hpp"

#include <netinet/in.h>

#include <cstdint>
#include <mutex>

namespace fastnet {
namespace {

class round_robin_balancer final : public balancer {
 public:
  size_t pick(const socket_address&, std::span<const size_t> loads) override {
    return next_.fetch_add(1, std::memory_order_relaxed) % loads.size();
  }

 private:
  std::atomic<size_t> next_{0};
};

class least_connections_balancer final : public balancer {
 public:
  size_t pick(const socket_address&, std::span<const size_t> loads) override {
    // Scan starting after the previous pick so that ties rotate. Concurrent
    // pickers may read the same `last`: both still pick a least-loaded loop.
    size_t start = (last_.load(std::memory_order_relaxed) + 1) % loads.size();
    size_t best = start;
    for (size_t k = 1; k < loads.size(); ++k) {
      size_t i = (start + k) % loads.size();
      if (loads[i] < loads[best]) best = i;
    }
    last_.store(best, std::memory_order_relaxed);
    return best;
  }

 private:
  std::atomic<size_t> last_{SIZE_MAX};
};

class consistent_hash_balancer final : public balancer {
 public:
  size_t pick(const socket_address& peer, std::span<const size_t> loads) override {
    std::lock_guard lock(mutex_);  // the ring is rebuilt when the loop count changes
    if (ring_.size() != loads.size()) {
      ring_ = hash_ring();
      for (size_t i = 0; i < loads.size(); ++i)
        ring_.add(i);
    }
    return static_cast<size_t>(*ring_.node_for(host_bytes(peer)));
  }

 private:
  // The host part only: the port changes with every connection of one client.
  static std::span<const std::byte> host_bytes(const socket_address& a) {
    if (a.family() == AF_INET)
      return std::as_bytes(std::span(&reinterpret_cast<const sockaddr_in*>(a.data())->sin_addr, 1));
    if (a.family() == AF_INET6)
      return std::as_bytes(
          std::span(&reinterpret_cast<const sockaddr_in6*>(a.data())->sin6_addr, 1));
    return {};
  }

  std::mutex mutex_;
  hash_ring ring_;
};

class custom_balancer_impl final : public balancer {
 public:
  using fn_type = std::function<size_t(const socket_address&, std::span<const size_t>)>;
  explicit custom_balancer_impl(fn_type fn) : fn_(std::move(fn)) {}
  size_t pick(const socket_address& peer, std::span<const size_t> loads) override {
    return fn_(peer, loads) % loads.size();
  }

 private:
  fn_type fn_;
};

}  // namespace

balancer_ptr round_robin() {
  return std::make_shared<round_robin_balancer>();
}
balancer_ptr least_connections() {
  return std::make_shared<least_connections_balancer>();
}
balancer_ptr consistent_hash() {
  return std::make_shared<consistent_hash_balancer>();
}
balancer_ptr custom_balancer(
    std::function<size_t(const socket_address&, std::span<const size_t>)> fn) {
  return std::make_shared<custom_balancer_impl>(std::move(fn));
}

}  // namespace fastnet
