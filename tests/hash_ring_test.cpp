// Unit tests for fastnet::hash_bytes, fastnet::hash_ring (membership, key
// distribution, minimal key movement on add/remove) and the loop balancers
// (round_robin, least_connections, consistent_hash, custom_balancer).
#include <catch2/catch.hpp>

#include <fastnet/balancer.hpp>
#include <fastnet/hash_ring.hpp>
#include <fastnet/socket_address.hpp>

#include <sys/socket.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace {

using fastnet::hash_ring;
using fastnet::socket_address;

std::vector<std::string> make_keys(size_t n) {
  std::vector<std::string> keys;
  keys.reserve(n);
  for (size_t i = 0; i < n; ++i)
    keys.push_back("key-" + std::to_string(i));
  return keys;
}

std::vector<uint64_t> owners(const hash_ring& ring, const std::vector<std::string>& keys) {
  std::vector<uint64_t> out;
  out.reserve(keys.size());
  for (const auto& k : keys) {
    auto node = ring.node_for(k);
    REQUIRE(node.has_value());
    out.push_back(*node);
  }
  return out;
}

socket_address addr(const std::string& host, uint16_t port) {
  auto a = socket_address::ip(host, port);
  REQUIRE(a.has_value());
  return *a;
}

}  // namespace

TEST_CASE("hash_bytes is deterministic", "[unit][hash_ring]") {
  CHECK(fastnet::hash_bytes("hello") == fastnet::hash_bytes("hello"));
  CHECK(fastnet::hash_bytes("") == fastnet::hash_bytes(""));
  // The string_view overload hashes the same bytes as the span overload.
  const std::string s = "127.0.0.1";
  CHECK(fastnet::hash_bytes(s) ==
        fastnet::hash_bytes(std::as_bytes(std::span(s.data(), s.size()))));
  // Different keys, including ones differing in one byte, hash differently.
  CHECK(fastnet::hash_bytes("hello") != fastnet::hash_bytes("hellp"));
  CHECK(fastnet::hash_bytes("a") != fastnet::hash_bytes("b"));
  CHECK(fastnet::hash_bytes("") != fastnet::hash_bytes(std::string_view("\0", 1)));
  // No collisions over many similar keys.
  std::set<uint64_t> seen;
  for (int i = 0; i < 10000; ++i) {
    std::string key = "k";
    key += std::to_string(i);
    seen.insert(fastnet::hash_bytes(key));
  }
  CHECK(seen.size() == 10000);
}

TEST_CASE("hash_bytes spreads consecutive keys over all high bits", "[unit][hash_ring]") {
  // Keys differing in one byte should land in every one of 16 buckets taken
  // from the top bits (the finalizer's job).
  std::map<uint64_t, int> buckets;
  for (int i = 0; i < 256; ++i) {
    unsigned char k[4] = {127, 0, 0, static_cast<unsigned char>(i)};
    ++buckets[fastnet::hash_bytes(std::as_bytes(std::span(k))) >> 60];
  }
  CHECK(buckets.size() == 16);
}

TEST_CASE("an empty ring has no owner", "[unit][hash_ring]") {
  hash_ring ring;
  CHECK(ring.size() == 0);
  CHECK(ring.node_for("anything") == std::nullopt);
  CHECK(ring.node_for_hash(12345) == std::nullopt);
  ring.add(3);
  ring.remove(3);
  CHECK(ring.size() == 0);
  CHECK_FALSE(ring.contains(3));
  CHECK(ring.node_for("anything") == std::nullopt);
}

TEST_CASE("add, remove and contains", "[unit][hash_ring]") {
  hash_ring ring;
  ring.add(1);
  ring.add(2);
  ring.add(2);  // no-op
  CHECK(ring.size() == 2);
  CHECK(ring.contains(1));
  CHECK(ring.contains(2));
  CHECK_FALSE(ring.contains(3));
  ring.remove(3);  // no-op
  CHECK(ring.size() == 2);
  ring.remove(1);
  CHECK(ring.size() == 1);
  CHECK_FALSE(ring.contains(1));
  // A single node owns every key.
  for (const auto& k : make_keys(1000))
    CHECK(ring.node_for(k) == uint64_t{2});
  // Adding the same node twice must not skew the distribution: a ring built
  // with a duplicate add maps keys exactly like one built without.
  hash_ring a, b;
  for (uint64_t n : {10, 20, 30})
    a.add(n);
  for (uint64_t n : {10, 20, 20, 30, 10})
    b.add(n);
  auto keys = make_keys(5000);
  CHECK(owners(a, keys) == owners(b, keys));
}

TEST_CASE("every key maps to a member node", "[unit][hash_ring]") {
  const std::vector<uint64_t> nodes = {7, 100, 3, 0xFFFFFFFFFFFFFFFFull, 42};
  hash_ring ring;
  for (auto n : nodes)
    ring.add(n);
  auto keys = make_keys(20000);
  std::set<uint64_t> used;
  for (auto o : owners(ring, keys)) {
    REQUIRE(ring.contains(o));
    used.insert(o);
  }
  CHECK(used.size() == nodes.size());
  // node_for_hash agrees with node_for(hash_bytes(key)).
  for (size_t i = 0; i < 1000; ++i)
    CHECK(ring.node_for_hash(fastnet::hash_bytes(keys[i])) == ring.node_for(keys[i]));
  // Extreme hashes (wrap-around of the ring) still map to members.
  for (uint64_t h : {uint64_t{0}, uint64_t{1}, ~uint64_t{0}, ~uint64_t{0} - 1}) {
    auto o = ring.node_for_hash(h);
    REQUIRE(o.has_value());
    CHECK(ring.contains(*o));
  }
}

TEST_CASE("the mapping depends only on the node set", "[unit][hash_ring]") {
  hash_ring a, b;
  for (uint64_t n = 0; n < 8; ++n)
    a.add(n);
  for (uint64_t n = 8; n-- > 0;)
    b.add(n);  // reverse insertion order
  auto keys = make_keys(10000);
  CHECK(owners(a, keys) == owners(b, keys));
  // Removing and re-adding a node restores the original mapping.
  auto before = owners(a, keys);
  a.remove(5);
  a.add(5);
  CHECK(owners(a, keys) == before);
}

TEST_CASE("100000 keys spread evenly over 8 nodes", "[unit][hash_ring]") {
  hash_ring ring;
  for (uint64_t n = 0; n < 8; ++n)
    ring.add(n);
  std::map<uint64_t, size_t> count;
  const auto keys = make_keys(100000);
  for (auto o : owners(ring, keys))
    ++count[o];
  const double fair = 100000.0 / 8;
  REQUIRE(count.size() == 8);
  for (const auto& [node, c] : count) {
    INFO("node " << node << " owns " << c << " keys; fair share " << fair);
    CHECK(c >= 0.5 * fair);
    CHECK(c <= 1.5 * fair);
  }
}

TEST_CASE("removing a node moves only its keys", "[unit][hash_ring]") {
  hash_ring ring;
  for (uint64_t n = 0; n < 8; ++n)
    ring.add(n);
  const auto keys = make_keys(100000);
  const auto before = owners(ring, keys);
  ring.remove(3);
  const auto after = owners(ring, keys);
  size_t moved = 0;
  for (size_t i = 0; i < keys.size(); ++i) {
    REQUIRE(after[i] != 3);
    if (before[i] != 3) {
      INFO("key " << keys[i]);
      REQUIRE(after[i] == before[i]);
    } else {
      ++moved;
    }
  }
  // About 1/8 of the keys move (generous band).
  CHECK(moved > keys.size() / 16);
  CHECK(moved < keys.size() / 4);
  // The removed node's keys spread over several survivors, not one neighbour.
  std::set<uint64_t> heirs;
  for (size_t i = 0; i < keys.size(); ++i)
    if (before[i] == 3) heirs.insert(after[i]);
  CHECK(heirs.size() >= 4);
}

TEST_CASE("adding a node moves keys only to the new node", "[unit][hash_ring]") {
  hash_ring ring;
  for (uint64_t n = 0; n < 8; ++n)
    ring.add(n);
  const auto keys = make_keys(100000);
  const auto before = owners(ring, keys);
  ring.add(8);
  const auto after = owners(ring, keys);
  size_t moved = 0;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (after[i] != before[i]) {
      INFO("key " << keys[i] << " moved from " << before[i] << " to " << after[i]);
      REQUIRE(after[i] == 8);
      ++moved;
    }
  }
  // About 1/9 of the keys move to the new node (generous band).
  CHECK(moved > keys.size() / 18);
  CHECK(moved < keys.size() / 4);
}

TEST_CASE("fewer replicas still give a consistent ring", "[unit][hash_ring]") {
  hash_ring ring(1);
  for (uint64_t n = 0; n < 4; ++n)
    ring.add(n);
  const auto keys = make_keys(2000);
  const auto before = owners(ring, keys);
  for (auto o : before)
    CHECK(o < 4);
  ring.remove(0);
  const auto after = owners(ring, keys);
  for (size_t i = 0; i < keys.size(); ++i)
    if (before[i] != 0) REQUIRE(after[i] == before[i]);
}

// ---------------------------------------------------------------------------
// Balancers.

TEST_CASE("round_robin cycles 0..n-1", "[unit][balancer]") {
  auto b = fastnet::round_robin();
  REQUIRE(b);
  const auto peer = addr("10.0.0.1", 1234);
  const std::vector<size_t> loads = {9, 0, 4, 4};  // loads are ignored
  for (size_t round = 0; round < 3; ++round)
    for (size_t i = 0; i < loads.size(); ++i)
      CHECK(b->pick(peer, loads) == i);
  // A single loop always gets index 0.
  auto single = fastnet::round_robin();
  const std::vector<size_t> one = {5};
  for (int i = 0; i < 5; ++i)
    CHECK(single->pick(peer, one) == 0);
}

TEST_CASE("least_connections picks the argmin of the loads", "[unit][balancer]") {
  auto b = fastnet::least_connections();
  REQUIRE(b);
  const auto peer = addr("10.0.0.1", 1234);

  SECTION("a unique minimum always wins") {
    const std::vector<size_t> loads = {5, 3, 7, 1, 9};
    for (int i = 0; i < 12; ++i)
      CHECK(b->pick(peer, loads) == 3);
    const std::vector<size_t> first = {0, 1, 1, 1};
    for (int i = 0; i < 8; ++i)
      CHECK(b->pick(peer, first) == 0);
    const std::vector<size_t> last = {4, 4, 4, 2};
    for (int i = 0; i < 8; ++i)
      CHECK(b->pick(peer, last) == 3);
  }
  SECTION("equal loads rotate through every loop") {
    const std::vector<size_t> loads = {2, 2, 2, 2};
    size_t prev = b->pick(peer, loads);
    REQUIRE(prev < 4);
    for (int i = 0; i < 12; ++i) {
      size_t p = b->pick(peer, loads);
      CHECK(p == (prev + 1) % 4);
      prev = p;
    }
  }
  SECTION("ties go to the next tied loop after the previous pick") {
    // Loops 1 and 3 tie for the minimum; picks alternate between them.
    const std::vector<size_t> loads = {5, 3, 7, 3};
    size_t prev = b->pick(peer, loads);
    REQUIRE((prev == 1 || prev == 3));
    for (int i = 0; i < 8; ++i) {
      size_t p = b->pick(peer, loads);
      INFO("previous pick " << prev);
      CHECK(p == (prev == 1 ? 3u : 1u));
      prev = p;
    }
  }
  SECTION("simulated assignment keeps loads balanced") {
    std::vector<size_t> loads = {0, 0, 0, 0, 0};
    for (int i = 0; i < 1000; ++i) {
      size_t p = b->pick(peer, loads);
      REQUIRE(p < loads.size());
      size_t min = *std::min_element(loads.begin(), loads.end());
      REQUIRE(loads[p] == min);
      ++loads[p];
    }
    for (size_t l : loads)
      CHECK(l == 200);
  }
}

TEST_CASE("consistent_hash keys on the peer host, not the port", "[unit][balancer]") {
  auto b = fastnet::consistent_hash();
  REQUIRE(b);
  const std::vector<size_t> loads = {0, 0, 0, 0};

  SECTION("one host, many ports, one loop") {
    for (const char* host : {"127.0.0.1", "192.168.1.20", "::1", "2001:db8::7"}) {
      INFO("host " << host);
      const size_t first = b->pick(addr(host, 1), loads);
      REQUIRE(first < loads.size());
      for (uint16_t port : {2, 80, 443, 8080, 40000, 65535})
        CHECK(b->pick(addr(host, port), loads) == first);
    }
  }
  SECTION("loads do not change the choice") {
    const auto peer = addr("10.1.2.3", 5555);
    const size_t first = b->pick(peer, loads);
    const std::vector<size_t> skewed = {100, 0, 50, 7};
    CHECK(b->pick(peer, skewed) == first);
  }
  SECTION("many hosts reach every loop") {
    std::map<size_t, size_t> per_loop;
    size_t hosts = 0;
    for (int c = 0; c <= 3; ++c) {
      for (int d = 0; d <= 255; ++d) {
        if (c == 0 && d == 0) continue;  // 127.0.0.1 .. 127.0.3.255
        const std::string ip = "127.0." + std::to_string(c) + "." + std::to_string(d);
        const size_t p = b->pick(addr(ip, static_cast<uint16_t>(1000 + d)), loads);
        REQUIRE(p < loads.size());
        ++per_loop[p];
        ++hosts;
      }
    }
    CHECK(hosts == 1023);
    CHECK(per_loop.size() == loads.size());
    for (const auto& [loop, n] : per_loop) {
      INFO("loop " << loop << " got " << n << " hosts");
      CHECK(n >= hosts / loads.size() / 2);
    }
  }
  SECTION("independent instances agree") {
    auto other = fastnet::consistent_hash();
    for (int d = 1; d < 100; ++d) {
      const auto peer = addr("10.0.0." + std::to_string(d), 9);
      CHECK(b->pick(peer, loads) == other->pick(peer, loads));
    }
  }
  SECTION("a different loop count still yields a valid index") {
    const std::vector<size_t> two = {0, 0};
    const std::vector<size_t> seven(7, 0);
    for (int d = 1; d < 200; ++d) {
      const auto peer = addr("10.0.0." + std::to_string(d), 9);
      CHECK(b->pick(peer, two) < 2);
      CHECK(b->pick(peer, seven) < 7);
      CHECK(b->pick(peer, loads) < 4);
    }
  }
  SECTION("unix peers get a valid index") {
    auto peer = socket_address::unix_path("/tmp/fastnet-test.sock");
    REQUIRE(peer.has_value());
    const size_t p = b->pick(*peer, loads);
    CHECK(p < loads.size());
    CHECK(b->pick(*peer, loads) == p);
  }
}

TEST_CASE("custom_balancer result is taken modulo the loop count", "[unit][balancer]") {
  const auto peer = addr("10.9.8.7", 4321);
  const std::vector<size_t> loads = {1, 2, 3, 4};

  SECTION("in-range results pass through") {
    auto b = fastnet::custom_balancer(
        [](const socket_address&, std::span<const size_t>) { return size_t{2}; });
    CHECK(b->pick(peer, loads) == 2);
  }
  SECTION("out-of-range results wrap") {
    size_t value = 0;
    auto b = fastnet::custom_balancer(
        [&value](const socket_address&, std::span<const size_t>) { return value; });
    for (size_t v : {size_t{4}, size_t{5}, size_t{13}, size_t{1000003}, ~size_t{0}}) {
      value = v;
      INFO("function returned " << v);
      CHECK(b->pick(peer, loads) == v % loads.size());
    }
  }
  SECTION("the function sees the peer and the loads") {
    std::optional<socket_address> seen_peer;
    std::vector<size_t> seen_loads;
    auto b = fastnet::custom_balancer([&](const socket_address& p, std::span<const size_t> l) {
      seen_peer = p;
      seen_loads.assign(l.begin(), l.end());
      return size_t{3};
    });
    CHECK(b->pick(peer, loads) == 3);
    REQUIRE(seen_peer.has_value());
    CHECK(*seen_peer == peer);
    CHECK(seen_loads == loads);
  }
}
