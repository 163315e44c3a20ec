// Which loop owns each accepted connection: round robin, least connections,
// consistent hashing of the peer address, custom functions, and SO_REUSEPORT
// listeners, observed through a tcp_server with 4 loops on 127.0.0.1.
#include <catch2/catch.hpp>
#include <fastnet/fastnet.hpp>

#include <map>
#include <set>

#include "support/test_socket.hpp"

using namespace fastnet;
using namespace fastnet::test;

namespace {

/// Echoes, and records for every connection the index of the loop it landed on.
class loop_recorder final : public tcp_handler {
 public:
  /// Before server.start(): the loops to compare connections against.
  void attach(tcp_server& server) { server_ = &server; }

  void on_connect(const connection_ptr& c) override {
    size_t index = index_of(c->loop());
    {
      std::lock_guard lock(mutex_);
      order_.push_back(index);
      peers_.push_back(c->peer_address());
      loop_of_[c->id()] = index;
    }
    connects.add();
  }
  void on_message(const connection_ptr& c, std::span<const std::byte> frame) override {
    c->send(frame);
  }
  void on_close(const connection_ptr& c, close_reason) override {
    {
      std::lock_guard lock(mutex_);
      closed_from_.push_back(loop_of_[c->id()]);
    }
    closes.add();
  }

  /// Loop index of each connection, in on_connect order.
  std::vector<size_t> order() const {
    std::lock_guard lock(mutex_);
    return order_;
  }
  std::vector<socket_address> peers() const {
    std::lock_guard lock(mutex_);
    return peers_;
  }
  std::vector<size_t> closed_from() const {
    std::lock_guard lock(mutex_);
    return closed_from_;
  }

  waitable_counter connects;
  waitable_counter closes;

 private:
  size_t index_of(const event_loop& loop) const {
    loop_group& loops = server_->loops();
    for (size_t i = 0; i < loops.size(); ++i)
      if (&loop == &loops.loop(i)) return i;
    return SIZE_MAX;  // not one of the server's loops: fails every check below
  }

  tcp_server* server_ = nullptr;
  mutable std::mutex mutex_;
  std::vector<size_t> order_;
  std::vector<socket_address> peers_;
  std::map<uint64_t, size_t> loop_of_;
  std::vector<size_t> closed_from_;
};

tcp_server_options local(size_t loops, balancer_ptr b) {
  tcp_server_options o;
  o.address = *socket_address::ip("127.0.0.1", 0);
  o.loops = loops;
  o.balancer = std::move(b);
  return o;
}

/// Connects and waits until the server has seen connection number `nth` (1-based).
client_socket connect_nth(tcp_server& server, loop_recorder& rec, long nth,
                          const std::optional<socket_address>& from = std::nullopt) {
  auto c = client_socket::connect(server.local_address(), from);
  REQUIRE(rec.connects.wait_for_at_least(nth));
  return c;
}

std::vector<size_t> per_loop(const std::vector<size_t>& order, size_t loops) {
  std::vector<size_t> counts(loops, 0);
  for (size_t i : order) {
    REQUIRE(i < loops);
    ++counts[i];
  }
  return counts;
}

}  // namespace

TEST_CASE("round_robin: 40 sequential connections go 0,1,2,3,0,... ten per loop",
          "[integration][balancer]") {
  loop_recorder rec;
  balancer_ptr b;
  SECTION("round_robin()") {
    b = round_robin();
  }
  SECTION("the default balancer") {
    b = nullptr;
  }
  tcp_server server(local(4, b), rec);
  rec.attach(server);
  server.start();
  std::vector<client_socket> clients;
  for (long n = 1; n <= 40; ++n)
    clients.push_back(connect_nth(server, rec, n));
  auto order = rec.order();
  REQUIRE(order.size() == 40);
  for (size_t i = 0; i < order.size(); ++i) {
    INFO("connection " << i);
    CHECK(order[i] == i % 4);
  }
  CHECK(per_loop(order, 4) == std::vector<size_t>{10, 10, 10, 10});
  for (size_t i = 0; i < 4; ++i)
    CHECK(server.loops().load(i) == 10);
}

TEST_CASE("least_connections: new connections fill the loop that lost its connections",
          "[integration][balancer]") {
  loop_recorder rec;
  tcp_server server(local(4, least_connections()), rec);
  rec.attach(server);
  server.start();
  std::vector<client_socket> clients;
  for (long n = 1; n <= 8; ++n)
    clients.push_back(connect_nth(server, rec, n));
  auto order = rec.order();
  REQUIRE(order.size() == 8);
  // Equal loads rotate: 0,1,2,3 then (all at 1) 0,1,2,3 again.
  CHECK(order == std::vector<size_t>{0, 1, 2, 3, 0, 1, 2, 3});
  CHECK(per_loop(order, 4) == std::vector<size_t>{2, 2, 2, 2});

  // Close both client sockets whose connections live on loop 1.
  for (size_t i = 0; i < order.size(); ++i)
    if (order[i] == 1) clients[i].close();
  REQUIRE(rec.closes.wait_for_at_least(2));
  CHECK(rec.closed_from() == std::vector<size_t>{1, 1});
  // The load is given back before on_close runs.
  CHECK(server.loops().load(1) == 0);

  clients.push_back(connect_nth(server, rec, 9));
  clients.push_back(connect_nth(server, rec, 10));
  order = rec.order();
  REQUIRE(order.size() == 10);
  CHECK(order[8] == 1);
  CHECK(order[9] == 1);
  for (size_t i = 0; i < 4; ++i)
    CHECK(server.loops().load(i) == 2);
}

TEST_CASE("consistent_hash: one source address always lands on the same loop",
          "[integration][balancer]") {
  constexpr int hosts = 64;
  constexpr int rounds = 3;
  loop_recorder rec;
  tcp_server server(local(4, consistent_hash()), rec);
  rec.attach(server);
  server.start();
  std::vector<client_socket> clients;
  long n = 0;
  for (int round = 0; round < rounds; ++round) {
    for (int h = 1; h <= hosts; ++h) {
      // Every 127.0.0.0/8 address is local on Linux: bind it as the source, any port.
      auto from = *socket_address::ip("127.0.0." + std::to_string(h), 0);
      clients.push_back(connect_nth(server, rec, ++n, from));
    }
  }
  auto order = rec.order();
  auto peers = rec.peers();
  REQUIRE(order.size() == static_cast<size_t>(hosts * rounds));
  REQUIRE(peers.size() == order.size());

  std::map<std::string, std::set<size_t>> loops_of_host;
  std::set<size_t> used;
  balancer_ptr fresh = consistent_hash();  // an independent ring with the same loop count
  const std::vector<size_t> no_load(4, 0);
  for (size_t i = 0; i < order.size(); ++i) {
    std::string expected_host = "127.0.0." + std::to_string(i % hosts + 1);
    INFO("connection " << i << " from " << peers[i].to_string());
    CHECK(peers[i].host() == expected_host);  // the source bind took effect
    loops_of_host[peers[i].host()].insert(order[i]);
    used.insert(order[i]);
    // Depends on the host only (not the port, not the load): the same answer again.
    CHECK(fresh->pick(peers[i], no_load) == order[i]);
  }
  CHECK(loops_of_host.size() == static_cast<size_t>(hosts));
  for (const auto& [host, loops] : loops_of_host) {
    INFO("host " << host);
    CHECK(loops.size() == 1);
  }
  INFO("loops used by 64 hosts: " << used.size());
  CHECK(used.size() >= 3);
}

TEST_CASE("custom_balancer: the function's pick, modulo the loop count",
          "[integration][balancer]") {
  struct call {
    size_t loops;
    size_t load_of_2;
    std::string host;
  };
  std::mutex mutex;
  std::vector<call> calls;
  size_t pick = 0;
  size_t expected_loop = 0;
  SECTION("a function returning 2") {
    pick = 2;
    expected_loop = 2;
  }
  SECTION("a function returning 7 with 4 loops") {
    pick = 7;
    expected_loop = 3;
  }
  auto fn = [&](const socket_address& peer, std::span<const size_t> loads) -> size_t {
    std::lock_guard lock(mutex);
    calls.push_back({loads.size(), loads.size() > 2 ? loads[2] : SIZE_MAX, peer.host()});
    return pick;
  };
  loop_recorder rec;
  tcp_server server(local(4, custom_balancer(fn)), rec);
  rec.attach(server);
  server.start();
  constexpr long connections = 12;
  std::vector<client_socket> clients;
  for (long n = 1; n <= connections; ++n)
    clients.push_back(connect_nth(server, rec, n));
  auto order = rec.order();
  REQUIRE(order.size() == connections);
  for (size_t i : order)
    CHECK(i == expected_loop);
  CHECK(server.loops().load(expected_loop) == connections);

  std::lock_guard lock(mutex);
  REQUIRE(calls.size() == connections);
  for (size_t k = 0; k < calls.size(); ++k) {
    INFO("pick " << k);
    CHECK(calls[k].loops == 4);
    CHECK(calls[k].host == "127.0.0.1");
    // The loads handed to the function are current: connection k sees the k before it.
    CHECK(calls[k].load_of_2 == (expected_loop == 2 ? k : 0));
  }
}

TEST_CASE("reuse_port: one listener per loop, every connection served", "[integration][balancer]") {
  constexpr size_t connections = 64;
  loop_recorder rec;
  std::atomic<int> balancer_calls{0};
  auto opts = local(2, custom_balancer([&](const socket_address&, std::span<const size_t>) {
                      balancer_calls.fetch_add(1);  // unused with reuse_port: the kernel spreads
                      return size_t{0};
                    }));
  opts.reuse_port = true;
  tcp_server server(opts, rec);
  rec.attach(server);
  server.start();
  std::vector<client_socket> clients;
  for (size_t i = 0; i < connections; ++i)
    clients.push_back(client_socket::connect(server.local_address()));
  REQUIRE(rec.connects.wait_for_at_least(connections));
  for (size_t i = 0; i < connections; ++i) {
    std::string msg = "message " + std::to_string(i) + " " + random_bytes(100, i);
    REQUIRE(clients[i].write_all(msg));
    auto got = clients[i].read_exact(msg.size());
    REQUIRE(got.has_value());
    CHECK(*got == msg);
  }
  auto counts = per_loop(rec.order(), 2);
  CHECK(counts[0] + counts[1] == connections);
  // The kernel hashes each 4-tuple to a listener; with 64 different source
  // ports both listeners get some (all on one would be a 2^-63 coincidence).
  INFO("loop 0: " << counts[0] << ", loop 1: " << counts[1]);
  CHECK(counts[0] > 0);
  CHECK(counts[1] > 0);
  CHECK(balancer_calls.load() == 0);
  CHECK(server.loops().load(0) == counts[0]);
  CHECK(server.loops().load(1) == counts[1]);
}
