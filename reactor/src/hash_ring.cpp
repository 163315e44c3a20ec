#include "fastnet/hash_ring.hpp"

#include <algorithm>

namespace fastnet {

uint64_t hash_bytes(std::span<const std::byte> key) {
  uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a
  for (std::byte b : key) {
    h ^= static_cast<uint8_t>(b);
    h *= 0x100000001b3ull;
  }
  // splitmix64 finalizer: FNV alone clusters keys that differ in one byte.
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  h ^= h >> 31;
  return h;
}

void hash_ring::add(uint64_t node) {
  if (contains(node)) return;
  nodes_.push_back(node);
  for (size_t r = 0; r < replicas_; ++r) {
    uint64_t seed[2] = {node, r};
    points_.emplace_back(hash_bytes(std::as_bytes(std::span(seed))), node);
  }
  std::sort(points_.begin(), points_.end());
}

void hash_ring::remove(uint64_t node) {
  if (!contains(node)) return;
  std::erase(nodes_, node);
  std::erase_if(points_, [node](const auto& p) { return p.second == node; });
}

bool hash_ring::contains(uint64_t node) const {
  return std::find(nodes_.begin(), nodes_.end(), node) != nodes_.end();
}

std::optional<uint64_t> hash_ring::node_for(std::span<const std::byte> key) const {
  return node_for_hash(hash_bytes(key));
}

std::optional<uint64_t> hash_ring::node_for_hash(uint64_t h) const {
  if (points_.empty()) return std::nullopt;
  // The first point clockwise from h (wrapping to the start) owns the key.
  auto it = std::lower_bound(points_.begin(), points_.end(), std::pair<uint64_t, uint64_t>{h, 0});
  if (it == points_.end()) it = points_.begin();
  return it->second;
}

}  // namespace fastnet
