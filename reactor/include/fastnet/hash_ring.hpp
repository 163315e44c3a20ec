// fastnet — a consistent-hash ring (used by the loop balancer; reusable for
// routing keys to workers).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

namespace fastnet {

/// 64-bit hash of a byte string (FNV-1a folded through a splitmix64 finalizer
/// so that similar keys such as consecutive addresses spread evenly).
/// Not cryptographic: a peer that chooses keys can make them collide. Any thread.
uint64_t hash_bytes(std::span<const std::byte> key);
/// hash_bytes of a string's bytes. Any thread.
inline uint64_t hash_bytes(std::string_view key) {
  return hash_bytes(std::as_bytes(std::span(key.data(), key.size())));
}

/// Consistent hashing over numbered nodes, each placed at `replicas` points
/// of the ring. Adding or removing a node moves only the keys whose points
/// it gains or loses (about 1/n of them).
/// Thread safety: none; const methods may run concurrently with each other.
class hash_ring {
 public:
  /// An empty ring. More `replicas` spread the keys more evenly over the
  /// nodes, and cost memory (16 bytes per point) and time in add() and remove().
  explicit hash_ring(size_t replicas = 160) : replicas_(replicas) {}

  /// Adds `node`; a no-op when present. Sorts every point again: for
  /// membership changes, not per key.
  void add(uint64_t node);
  /// Removes `node`; a no-op when absent. Linear in the points.
  void remove(uint64_t node);
  /// True when `node` is on the ring. Linear in the nodes.
  bool contains(uint64_t node) const;
  /// The number of nodes.
  size_t size() const { return nodes_.size(); }

  /// The node owning `key`, nullopt when the ring is empty. A hash of the
  /// key and a binary search of the points.
  std::optional<uint64_t> node_for(std::span<const std::byte> key) const;
  /// The node owning a string's bytes, as node_for(span).
  std::optional<uint64_t> node_for(std::string_view key) const {
    return node_for(std::as_bytes(std::span(key.data(), key.size())));
  }
  /// The node owning a precomputed hash.
  std::optional<uint64_t> node_for_hash(uint64_t h) const;

 private:
  size_t replicas_;
  std::vector<uint64_t> nodes_;
  std::vector<std::pair<uint64_t, uint64_t>> points_;  // (hash, node), sorted by hash
};

}  // namespace fastnet
