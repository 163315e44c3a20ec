// Statistics (tcp_server::stats, tcp_client::stats, event_loop::stats) by
// exact accounting over real sockets on 127.0.0.1: after a known load —
// N connections, M lines of S bytes each way, connections closed for known
// reasons, refusals at the connection limit, a peer that stops reading —
// the counters show exactly those numbers.
#include <catch2/catch.hpp>
#include <fastnet/fastnet.hpp>

#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/loop_thread.hpp"
#include "support/test_socket.hpp"

using namespace fastnet;
using namespace fastnet::test;

namespace {

/// Echoes each line; "close" makes the server close, "abort" reset, "pause"
/// pause reading until "resume" is sent by the test (resume_now). Counts closes.
class line_echo final : public tcp_handler {
 public:
  void on_connect(const connection_ptr& c) override {
    std::lock_guard lock(mutex_);
    conns_.push_back(c);
  }
  void on_message(const connection_ptr& c, std::span<const std::byte> frame) override {
    const std::string_view line(reinterpret_cast<const char*>(frame.data()), frame.size());
    if (line == "close") {
      c->close();
    } else if (line == "abort") {
      c->abort();
    } else if (line == "pause") {
      c->pause_reading();
      paused.add();
    } else {
      c->send(frame);
    }
  }
  void on_close(const connection_ptr&, close_reason) override { closes.add(); }
  std::vector<connection_ptr> connections() {
    std::lock_guard lock(mutex_);
    return conns_;
  }
  waitable_counter closes, paused;

 private:
  std::mutex mutex_;
  std::vector<connection_ptr> conns_;
};

tcp_server_options line_server(size_t loops) {
  tcp_server_options o;
  o.address = *socket_address::ip("127.0.0.1", 0);
  o.loops = loops;
  o.codec = *make_codec_factory("line", 1 << 20);
  return o;
}

uint64_t closed(const connection_stats& s, close_reason r) {
  return s.closed[static_cast<size_t>(r)];
}

}  // namespace

TEST_CASE("server stats count connections, frames, bytes and close reasons exactly", "[stats]") {
  constexpr size_t conns = 12;  // 3 of each ending below
  constexpr size_t lines = 20;
  constexpr size_t size = 100;  // bytes per line, newline included
  line_echo handler;
  tcp_server server(line_server(2), handler);
  server.start();
  std::vector<client_socket> clients;
  for (size_t i = 0; i < conns; ++i)
    clients.push_back(client_socket::connect(server.local_address()));
  const std::string line = std::string(size - 1, 'x') + "\n";
  std::string batch;
  for (size_t i = 0; i < lines; ++i)
    batch += line;
  for (auto& c : clients) {
    REQUIRE(c.write_all(batch));
    auto echo = c.read_exact(batch.size());
    REQUIRE(echo);
    CHECK(*echo == batch);
  }
  // Four endings, three connections each: the peer's FIN, the server's
  // close(), the server's abort(), the peer's reset.
  for (size_t i = 0; i < conns; ++i) {
    auto& c = clients[i];
    switch (i % 4) {
      case 0:
        c.shutdown_write();
        break;
      case 1:
        REQUIRE(c.write_all("close\n"));
        break;
      case 2:
        REQUIRE(c.write_all("abort\n"));
        break;
      case 3:
        c.set_linger_zero();
        c.close();
        continue;
    }
    // The server's FIN or reset, then ours (its close waits for our FIN).
    std::string rest;
    CHECK(c.read_to_end(rest) != end_kind::timeout);
    c.close();
  }
  REQUIRE(handler.closes.wait_for_at_least(conns));
  REQUIRE(eventually([&] { return server.stats().connections().active == 0; }));
  auto s = server.stats();
  auto total = s.connections();
  CHECK(s.loops.size() == 2);
  CHECK(total.accepted == conns);
  CHECK(total.closed_total() == conns);
  CHECK(closed(total, close_reason::peer_closed) == 3);
  CHECK(closed(total, close_reason::local_close) == 3);
  CHECK(closed(total, close_reason::aborted) == 3);
  CHECK(closed(total, close_reason::reset) == 3);
  // "close" and "abort" were frames too (6 of them, 6 bytes each).
  CHECK(total.frames_received == conns * lines + 6);
  CHECK(total.bytes_received == conns * lines * size + 6 * 6);
  CHECK(total.frames_sent == conns * lines);
  CHECK(total.bytes_sent == conns * lines * size);
  CHECK(total.output_queued_bytes == 0);
  CHECK(total.high_water_crossings == 0);
  CHECK(s.refused_at_limit == 0);
  // The loops' own work: each woke and ran something.
  for (auto& l : s.loops) {
    CHECK(l.work.iterations > 0);
    CHECK(l.work.busy_seconds > 0);
    CHECK(l.connections.accepted > 0);
  }
}

TEST_CASE("server stats count refusals at max_connections", "[stats]") {
  line_echo handler;
  auto opts = line_server(1);
  opts.max_connections = 1;
  tcp_server server(opts, handler);
  server.start();
  auto first = client_socket::connect(server.local_address());
  REQUIRE(first.write_all("hi\n"));
  REQUIRE(first.read_exact(3));
  for (int i = 0; i < 3; ++i) {
    auto refused = client_socket::connect(server.local_address());
    std::string got;
    CHECK(refused.read_to_end(got) != end_kind::timeout);  // closed at once
  }
  CHECK(eventually([&] { return server.stats().refused_at_limit == 3; }));
  CHECK(server.stats().connections().accepted == 1);
}

TEST_CASE("server stats: a peer that does not read shows queued output and a high-water crossing",
          "[stats]") {
  line_echo handler;
  auto opts = line_server(1);
  opts.connection.high_water_mark = 64 << 10;
  opts.connection.low_water_mark = 16 << 10;
  // A small send buffer, so the echo queues in fastnet's buffer; the
  // client's receive buffer does not grow while it reads nothing. (Not
  // shrunk after connect: loopback TCP then drops segments and stalls.)
  opts.socket.send_buffer = 16 << 10;
  tcp_server server(opts, handler);
  server.start();
  auto c = client_socket::connect(server.local_address());
  // 4 MiB of echo the client does not read yet: most of it queues.
  const std::string line = std::string(1023, 'y') + "\n";
  std::string batch;
  for (int i = 0; i < 4096; ++i)
    batch += line;
  // A jthread: joined even when a REQUIRE below fails and unwinds.
  std::jthread writer([&] { (void)c.write_all(batch, std::chrono::seconds(30)); });
  // At least once: the kernel's buffers keep taking some of it meanwhile, so
  // the queue may fall to the low water mark and rise again.
  REQUIRE(eventually([&] { return server.stats().connections().high_water_crossings >= 1; }));
  CHECK(eventually([&] { return server.stats().connections().output_queued_bytes > 0; }));
  // Reading paused on the high water mark: time is being counted for it.
  REQUIRE(eventually([&] {
    return server.stats().connections().paused_seconds[static_cast<size_t>(pause_cause::output)] >
           0;
  }));
  auto all = c.read_exact(batch.size(), std::chrono::seconds(30));
  writer.join();
  REQUIRE(all);
  CHECK(*all == batch);
  CHECK(eventually([&] { return server.stats().connections().output_queued_bytes == 0; }));
  auto s = server.stats().connections();
  CHECK(s.bytes_sent == batch.size());
  CHECK(s.frames_sent == 4096);
}

TEST_CASE("server stats: time paused by the user is counted, and ends with the connection",
          "[stats]") {
  line_echo handler;
  tcp_server server(line_server(1), handler);
  server.start();
  auto c = client_socket::connect(server.local_address());
  REQUIRE(c.write_all("pause\n"));
  REQUIRE(handler.paused.wait_for_at_least(1));
  constexpr auto user = static_cast<size_t>(pause_cause::user);
  REQUIRE(eventually([&] { return server.stats().connections().paused_seconds[user] > 0; }));
  c.close();  // the server does not read while paused: it sees no EOF
  for (auto& conn : handler.connections())
    conn->close();
  REQUIRE(handler.closes.wait_for_at_least(1));
  // Closed, the connection is paused no longer: the total stops growing.
  const double at_close = server.stats().connections().paused_seconds[user];
  const auto before = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - before < std::chrono::milliseconds(20))
    std::this_thread::yield();
  CHECK(server.stats().connections().paused_seconds[user] == at_close);
}

TEST_CASE("client stats count the client's connection and traffic", "[stats]") {
  line_echo server_handler;
  tcp_server server(line_server(1), server_handler);
  server.start();
  struct pinger final : tcp_handler {
    void on_connect(const connection_ptr& c) override { c->send("ping"); }
    void on_message(const connection_ptr& c, std::span<const std::byte>) override {
      got.add();
      c->close();
    }
    void on_close(const connection_ptr&, close_reason) override { closes.add(); }
    waitable_counter got, closes;
  } handler;
  loop_thread loop;
  tcp_client_options o;
  o.address = server.local_address();
  o.codec = *make_codec_factory("line", 1024);
  tcp_client client(loop.loop, o, handler);
  CHECK(client.stats().accepted == 0);
  client.connect();
  REQUIRE(handler.closes.wait_for_at_least(1));
  auto s = client.stats();
  CHECK(s.accepted == 1);
  CHECK(s.frames_sent == 1);
  CHECK(s.bytes_sent == 5);
  CHECK(s.frames_received == 1);
  CHECK(s.bytes_received == 5);
  CHECK(closed(s, close_reason::local_close) == 1);
  CHECK(s.active == 0);
}
