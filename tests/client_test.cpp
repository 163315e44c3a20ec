// tcp_client against real tcp_servers on 127.0.0.1: echo both ways (on its
// own loop or on a server's), retry with back-off until giving up, a fresh
// attempt budget per connect(), retry until a server appears, reconnect after
// the server closes, disconnect() ending a retry loop, destroying connected
// clients.
#include <catch2/catch.hpp>
#include <fastnet/fastnet.hpp>

#include <cstdio>
#include <cstdlib>
#include <future>
#include <thread>

#include "support/loop_thread.hpp"
#include "support/test_socket.hpp"

using namespace fastnet;
using namespace fastnet::test;

namespace {

/// Client callbacks, recorded; sends `greeting` on every connect.
class client_recorder final : public tcp_handler {
 public:
  explicit client_recorder(event_loop& loop, std::string greeting = {})
      : loop_(loop), greeting_(std::move(greeting)) {}

  void on_connect(const connection_ptr& c) override {
    check_thread();
    if (!greeting_.empty()) c->send(greeting_);
    connects.add();
  }
  void on_message(const connection_ptr&, std::span<const std::byte> frame) override {
    check_thread();
    {
      std::lock_guard lock(mutex_);
      received_.append(reinterpret_cast<const char*>(frame.data()), frame.size());
    }
    bytes.add(static_cast<long>(frame.size()));
  }
  void on_close(const connection_ptr&, close_reason why) override {
    check_thread();
    {
      std::lock_guard lock(mutex_);
      reasons_.push_back(why);
    }
    closes.add();
  }
  void on_connect_failed(const socket_address& addr, int error) override {
    check_thread();
    {
      std::lock_guard lock(mutex_);
      failed_addr_ = addr;
      errors_.push_back(error);
    }
    failures.add();
  }

  std::string received() const {
    std::lock_guard lock(mutex_);
    return received_;
  }
  std::vector<close_reason> reasons() const {
    std::lock_guard lock(mutex_);
    return reasons_;
  }
  std::vector<int> errors() const {
    std::lock_guard lock(mutex_);
    return errors_;
  }
  socket_address failed_addr() const {
    std::lock_guard lock(mutex_);
    return failed_addr_;
  }

  waitable_counter connects, bytes, closes, failures;
  std::atomic<bool> off_loop{false};

 private:
  void check_thread() {
    if (!loop_.in_loop_thread()) off_loop = true;
  }
  event_loop& loop_;
  const std::string greeting_;
  mutable std::mutex mutex_;
  std::string received_;
  std::vector<close_reason> reasons_;
  std::vector<int> errors_;
  socket_address failed_addr_;
};

/// Server side: closes each connection when its first message arrives.
class close_on_first_message final : public tcp_handler {
 public:
  void on_connect(const connection_ptr&) override { connects.add(); }
  void on_message(const connection_ptr& c, std::span<const std::byte>) override {
    messages.add();
    c->close();
  }
  void on_close(const connection_ptr&, close_reason) override { closes.add(); }
  waitable_counter connects, messages, closes;
};

tcp_server_options local_server(uint16_t port = 0) {
  tcp_server_options o;
  o.address = *socket_address::ip("127.0.0.1", port);
  o.loops = 1;
  return o;
}

/// A port on 127.0.0.1 that nothing listens on (bound once to learn it, then released).
uint16_t free_port() {
  unique_fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  REQUIRE(fd);
  auto any = *socket_address::ip("127.0.0.1", 0);
  REQUIRE(::bind(fd.get(), any.data(), any.size()) == 0);
  uint16_t port = sockets::local_address(fd.get()).port();
  REQUIRE(port != 0);
  return port;
}

/// Runs `fn` on the loop thread after `delay` and returns its result
/// (fails the test when that does not happen within 10 s more).
template <typename F>
auto after_on(event_loop& loop, clock::duration delay, F fn) -> std::invoke_result_t<F> {
  using result = std::invoke_result_t<F>;
  auto done = std::make_shared<std::promise<result>>();
  auto fut = done->get_future();
  loop.run_after(delay, [done, fn]() mutable { done->set_value(fn()); });
  REQUIRE(fut.wait_for(delay + 10s) == std::future_status::ready);
  return fut.get();
}

/// Waits (bounded) until `pred` holds, checking it on the loop thread every millisecond.
bool wait_on_loop(event_loop& loop, std::function<bool()> pred,
                  std::chrono::milliseconds timeout = 10s) {
  auto done = std::make_shared<std::promise<void>>();
  auto fut = done->get_future();
  auto fired = std::make_shared<bool>(false);  // loop thread only
  timer_id id = loop.run_every(1ms, [done, fired, pred] {
    if (!*fired && pred()) {
      *fired = true;
      done->set_value();
    }
  });
  bool ok = fut.wait_for(timeout) == std::future_status::ready;
  loop.cancel(id);
  return ok;
}

/// Runs `fn` (which may block) and fails the whole test binary if it has not
/// returned within `timeout`, so that a hang is reported instead of waited out.
void must_return(const char* what, std::function<void()> fn,
                 std::chrono::milliseconds timeout = 10s) {
  std::promise<void> returned;
  auto fut = returned.get_future();
  std::thread t([&] {
    fn();
    returned.set_value();
  });
  if (fut.wait_for(timeout) != std::future_status::ready) {
    std::fprintf(stderr, "FAILED: %s did not return within %lld ms\n", what,
                 static_cast<long long>(timeout.count()));
    std::fflush(stderr);
    std::_Exit(EXIT_FAILURE);
  }
  t.join();
}

}  // namespace

TEST_CASE("client echoes a message through a tcp_server", "[integration][client]") {
  recording_echo server_handler;
  tcp_server server(local_server(), server_handler);
  server.start();
  const std::string greeting = random_bytes(256 * 1024, 1);  // several reads each way
  loop_thread lt;
  client_recorder handler(lt.loop, greeting);
  tcp_client_options opts;
  opts.address = server.local_address();
  tcp_client client(lt.loop, opts, handler);
  CHECK(client.connection() == nullptr);
  CHECK(client.attempts() == 0);

  client.connect();
  REQUIRE(handler.connects.wait_for_at_least(1));
  REQUIRE(handler.bytes.wait_for_at_least(static_cast<long>(greeting.size())));
  CHECK(handler.received() == greeting);
  CHECK(server_handler.echoed_bytes.load() == greeting.size());
  CHECK(client.attempts() == 1);
  auto conn = client.connection();
  REQUIRE(conn);
  CHECK(conn->connected());
  CHECK(&conn->loop() == &lt.loop);
  CHECK(conn->peer_address() == server.local_address());

  // And from the test thread through the handle.
  const std::string more = "sent from another thread";
  CHECK(conn->send(more));
  REQUIRE(handler.bytes.wait_for_at_least(static_cast<long>(greeting.size() + more.size())));
  CHECK(handler.received() == greeting + more);

  // A second connect() while connected is a no-op.
  client.connect();
  CHECK(after_on(lt.loop, 0ms, [&] { return client.attempts(); }) == 1);
  CHECK(handler.connects.value() == 1);

  // disconnect() closes gracefully: both sides see the close.
  client.disconnect();
  REQUIRE(handler.closes.wait_for_at_least(1));
  REQUIRE(server_handler.closes.wait_for_at_least(1));
  CHECK(handler.reasons() == std::vector<close_reason>{close_reason::local_close});
  CHECK(server_handler.close_reasons() == std::vector<close_reason>{close_reason::peer_closed});
  CHECK(client.connection() == nullptr);
  CHECK(handler.failures.value() == 0);
  CHECK_FALSE(handler.off_loop.load());
}

TEST_CASE("a client can run on one of the server's own loops", "[integration][client]") {
  recording_echo server_handler;
  std::unique_ptr<client_recorder> handler;  // outlives the server and its loops
  tcp_server server(local_server(), server_handler);
  server.start();
  event_loop& loop = server.loops().loop(0);
  handler = std::make_unique<client_recorder>(loop, "shared loop");
  tcp_client_options opts;
  opts.address = server.local_address();
  // Declared after the server: destroyed (from this thread) while the loop still runs.
  tcp_client client(loop, opts, *handler);
  client.connect();
  REQUIRE(handler->connects.wait_for_at_least(1));
  REQUIRE(handler->bytes.wait_for_at_least(11));
  CHECK(handler->received() == "shared loop");
  // Both ends of the connection live on the same loop thread.
  REQUIRE(server_handler.connects.wait_for_at_least(1));
  auto conn = client.connection();
  REQUIRE(conn);
  CHECK(&conn->loop() == &loop);
  client.disconnect();
  REQUIRE(handler->closes.wait_for_at_least(1));
  REQUIRE(server_handler.closes.wait_for_at_least(1));
  CHECK_FALSE(handler->off_loop.load());
}

TEST_CASE("client retries with back-off, then gives up with on_connect_failed",
          "[integration][client]") {
  const uint16_t port = free_port();
  loop_thread lt;
  client_recorder handler(lt.loop);
  tcp_client_options opts;
  opts.address = *socket_address::ip("127.0.0.1", port);
  opts.max_attempts = 4;
  opts.retry_initial = 10ms;
  opts.retry_max = 40ms;
  tcp_client client(lt.loop, opts, handler);

  const auto t0 = std::chrono::steady_clock::now();
  client.connect();
  REQUIRE(handler.failures.wait_for_at_least(1));
  const auto elapsed = std::chrono::steady_clock::now() - t0;
  CHECK(client.attempts() == 4);
  CHECK(handler.errors() == std::vector<int>{ECONNREFUSED});
  CHECK(handler.failed_addr() == opts.address);
  // A lower bound only (timers never fire early): the waits were 10, 20 and
  // 40 ms, so the attempts were spaced by a growing delay.
  CHECK(elapsed >= 70ms);

  // Given up means given up: nothing more happens for several retry_max.
  auto later = after_on(lt.loop, 200ms, [&] {
    return std::pair{client.attempts(), handler.failures.value()};
  });
  CHECK(later.first == 4);
  CHECK(later.second == 1);
  CHECK(handler.connects.value() == 0);
  CHECK(client.connection() == nullptr);

  CHECK_FALSE(handler.off_loop.load());
}

TEST_CASE("a new connect() gets the full max_attempts budget again", "[integration][client]") {
  const uint16_t port = free_port();
  loop_thread lt;
  client_recorder handler(lt.loop);
  tcp_client_options opts;
  opts.address = *socket_address::ip("127.0.0.1", port);
  opts.max_attempts = 3;
  opts.retry_initial = 5ms;
  opts.retry_max = 10ms;
  tcp_client client(lt.loop, opts, handler);
  client.connect();

  SECTION("after giving up") {
    REQUIRE(handler.failures.wait_for_at_least(1));
    REQUIRE(client.attempts() == 3);
  }
  SECTION("after disconnect()") {
    REQUIRE(wait_on_loop(lt.loop, [&] { return client.attempts() >= 2; }));
    client.disconnect();
  }
  // Once the above has taken effect (the marker), a new connect() is a new
  // try with max_attempts attempts, not what was left of the previous one.
  auto [attempts_before, failures_before] = after_on(lt.loop, 0ms, [&] {
    return std::pair{client.attempts(), handler.failures.value()};
  });
  client.connect();
  REQUIRE(handler.failures.wait_for_at_least(failures_before + 1));
  CHECK(client.attempts() == attempts_before + 3);
  CHECK(handler.errors().back() == ECONNREFUSED);
}

TEST_CASE("client retries until a server appears on its port, then echoes",
          "[integration][client]") {
  const uint16_t port = free_port();
  loop_thread lt;
  client_recorder handler(lt.loop, "hello after retries");
  tcp_client_options opts;
  opts.address = *socket_address::ip("127.0.0.1", port);
  opts.max_attempts = 0;  // forever
  opts.retry_initial = 20ms;
  opts.retry_max = 40ms;
  tcp_client client(lt.loop, opts, handler);
  client.connect();
  // At least one refused attempt and one retry before the server exists.
  REQUIRE(wait_on_loop(lt.loop, [&] { return client.attempts() >= 2; }));
  CHECK(handler.connects.value() == 0);

  recording_echo server_handler;
  tcp_server server(local_server(port), server_handler);
  server.start();
  REQUIRE(handler.connects.wait_for_at_least(1));
  REQUIRE(handler.bytes.wait_for_at_least(19));
  CHECK(handler.received() == "hello after retries");
  CHECK(client.attempts() >= 3);
  CHECK(handler.failures.value() == 0);
  REQUIRE(server_handler.connects.wait_for_at_least(1));
  CHECK(server_handler.connects.value() == 1);
  CHECK_FALSE(handler.off_loop.load());
}

TEST_CASE("client with reconnect=true connects again after the server closes",
          "[integration][client]") {
  close_on_first_message server_handler;
  tcp_server server(local_server(), server_handler);
  server.start();
  loop_thread lt;
  client_recorder handler(lt.loop, "please close");
  tcp_client_options opts;
  opts.address = server.local_address();
  opts.reconnect = true;
  opts.retry_initial = 10ms;
  opts.retry_max = 20ms;
  tcp_client client(lt.loop, opts, handler);
  client.connect();

  // Each connection sends, the server closes it, the client connects again.
  REQUIRE(handler.connects.wait_for_at_least(3));
  REQUIRE(handler.closes.wait_for_at_least(2));
  auto reasons = handler.reasons();
  REQUIRE(reasons.size() >= 2);
  CHECK(reasons[0] == close_reason::peer_closed);
  CHECK(reasons[1] == close_reason::peer_closed);
  CHECK(server_handler.messages.value() >= 2);
  CHECK(handler.failures.value() == 0);

  // disconnect() ends the cycle: once it has run (the marker), no new connection comes.
  client.disconnect();
  long at_marker = after_on(lt.loop, 0ms, [&] { return handler.connects.value(); });
  long at_sentinel = after_on(lt.loop, 200ms, [&] { return handler.connects.value(); });
  CHECK(at_sentinel == at_marker);
  CHECK_FALSE(handler.off_loop.load());
}

TEST_CASE("disconnect() stops an endless retry loop", "[integration][client]") {
  const uint16_t port = free_port();
  loop_thread lt;
  client_recorder handler(lt.loop, "back again");
  tcp_client_options opts;
  opts.address = *socket_address::ip("127.0.0.1", port);
  opts.max_attempts = 0;
  opts.retry_initial = 10ms;
  opts.retry_max = 20ms;
  tcp_client client(lt.loop, opts, handler);
  client.connect();
  REQUIRE(wait_on_loop(lt.loop, [&] { return client.attempts() >= 3; }));

  client.disconnect();
  // Calls from one thread run in order: the marker runs after disconnect took
  // effect; the sentinel waits ten retry_max periods for an attempt that must not come.
  size_t at_marker = after_on(lt.loop, 0ms, [&] { return client.attempts(); });
  size_t at_sentinel = after_on(lt.loop, 200ms, [&] { return client.attempts(); });
  CHECK(at_marker >= 3);
  CHECK(at_sentinel == at_marker);
  CHECK(handler.failures.value() == 0);  // stopped, not given up
  CHECK(handler.connects.value() == 0);

  // connect() starts again; with a server there now, it connects.
  recording_echo server_handler;
  tcp_server server(local_server(port), server_handler);
  server.start();
  client.connect();
  REQUIRE(handler.connects.wait_for_at_least(1));
  REQUIRE(handler.bytes.wait_for_at_least(10));
  CHECK(handler.received() == "back again");
  CHECK(client.attempts() > at_sentinel);
}

TEST_CASE("destroying a connected client neither crashes nor hangs, and the server sees the close",
          "[integration][client]") {
  recording_echo server_handler;
  tcp_server server(local_server(), server_handler);
  server.start();
  loop_thread lt;
  client_recorder handler(lt.loop, "ping");
  tcp_client_options opts;
  opts.address = server.local_address();
  auto client = std::make_unique<tcp_client>(lt.loop, opts, handler);
  client->connect();
  REQUIRE(handler.connects.wait_for_at_least(1));
  REQUIRE(handler.bytes.wait_for_at_least(4));
  REQUIRE(server_handler.connects.wait_for_at_least(1));

  must_return("~tcp_client", [&] { client.reset(); });
  REQUIRE(server_handler.closes.wait_for_at_least(1));
  CHECK(server.connection_count() == 0);
  // The loop goes on serving other work.
  CHECK(after_on(lt.loop, 0ms, [&] { return lt.loop.in_loop_thread(); }));
}

TEST_CASE("destroying 1000 connected clients in a row on one loop", "[integration][client]") {
  constexpr long clients = 1000;
  recording_echo server_handler;
  tcp_server server(local_server(), server_handler);
  server.start();
  loop_thread lt;
  client_recorder handler(lt.loop);
  tcp_client_options opts;
  opts.address = server.local_address();
  for (long i = 1; i <= clients; ++i) {
    auto client = std::make_unique<tcp_client>(lt.loop, opts, handler);
    client->connect();
    REQUIRE(handler.connects.wait_for_at_least(i));
    // Destroyed right away, while the server's answer to our FIN is on its way.
    must_return("~tcp_client", [&] { client.reset(); });
  }
  REQUIRE(server_handler.closes.wait_for_at_least(clients));
  CHECK(server.connection_count() == 0);
  CHECK(after_on(lt.loop, 0ms, [&] { return lt.loop.in_loop_thread(); }));
}
