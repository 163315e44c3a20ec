// Server lifecycle: stop() with data in flight loses nothing acknowledged,
// stop() with thousands of connections, max connections, EMFILE and
// recovery, timers.
#include <catch2/catch.hpp>
#include <fastnet/fastnet.hpp>

#include <netinet/tcp.h>
#include <sys/socket.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "support/test_socket.hpp"

using namespace fastnet;
using namespace fastnet::test;

namespace {

tcp_server_options local(size_t loops = 2) {
  tcp_server_options o;
  o.address = *socket_address::ip("127.0.0.1", 0);
  o.loops = loops;
  return o;
}

/// The server's end of the connection whose client end is `client_fd`: this
/// process's socket whose peer is the client's local address. -1 if none.
int accepted_socket_of(int client_fd) {
  const std::string client = sockets::local_address(client_fd).to_string();
  for (int fd = 0; fd < 65536; ++fd) {
    if (fd == client_fd) continue;
    socket_address peer = sockets::peer_address(fd);
    if (peer.size() > 0 && peer.to_string() == client) return fd;
  }
  return -1;
}

int int_option(int fd, int level, int name) {
  int value = -1;
  socklen_t len = sizeof value;
  if (::getsockopt(fd, level, name, &value, &len) != 0) return -1;
  return value;
}

}  // namespace

TEST_CASE("accepted connections carry the configured socket options", "[integration][server]") {
  // Accepted sockets inherit them from the listener: checked for the single
  // loop (acceptor on the loop), several loops (acceptor on the control
  // thread) and SO_REUSEPORT (a listener per loop).
  struct variant {
    size_t loops;
    bool reuse_port;
    bool nodelay;
    bool keepalive;
  };
  for (auto v : {variant{1, false, true, false}, variant{2, false, false, true},
                 variant{2, true, true, true}}) {
    INFO("loops " << v.loops << " reuse_port " << v.reuse_port << " nodelay " << v.nodelay
                  << " keepalive " << v.keepalive);
    recording_echo handler;
    auto opts = local(v.loops);
    opts.reuse_port = v.reuse_port;
    opts.socket.tcp_nodelay = v.nodelay;
    opts.socket.keepalive = v.keepalive;
    tcp_server server(opts, handler);
    server.start();
    auto c = client_socket::connect(server.local_address());
    REQUIRE(handler.connects.wait_for_at_least(1));
    int fd = accepted_socket_of(c.fd());
    REQUIRE(fd >= 0);
    CHECK((int_option(fd, IPPROTO_TCP, TCP_NODELAY) != 0) == v.nodelay);
    CHECK((int_option(fd, SOL_SOCKET, SO_KEEPALIVE) != 0) == v.keepalive);
  }
}

TEST_CASE("stop() with data in flight: every byte the server echoed reaches the client",
          "[integration][server]") {
  recording_echo handler;
  auto opts = local(2);
  opts.codec = *make_codec_factory("len32", 1 << 20);
  tcp_server server(opts, handler);
  server.start();
  constexpr int clients = 8;
  std::vector<client_socket> socks;
  for (int i = 0; i < clients; ++i)
    socks.push_back(client_socket::connect(server.local_address()));
  REQUIRE(handler.connects.wait_for_at_least(clients));
  // Each client streams frames until the server goes away, and reads concurrently.
  std::vector<std::string> sent(clients), received(clients);
  std::vector<std::thread> writers, readers;
  std::atomic<bool> stop_writing{false};
  for (int i = 0; i < clients; ++i) {
    writers.emplace_back([&, i] {
      std::string frame = std::string("\x00\x00\x04\x00", 4) + random_bytes(1024, i);
      while (!stop_writing.load() && socks[i].write_all(frame, 5s))
        sent[i] += frame;
    });
    readers.emplace_back([&, i] {
      socks[i].read_to_end(received[i], 60s);
      socks[i].shutdown_write();  // answer the server's FIN so its close completes
    });
  }
  // Let traffic flow (wait on the event: a good amount echoed), then stop mid-stream.
  while (handler.echoed_bytes.load() < (4u << 20))
    std::this_thread::yield();
  server.stop();
  stop_writing = true;
  for (auto& t : readers)
    t.join();
  for (auto& t : writers)
    t.join();
  size_t total = 0;
  for (int i = 0; i < clients; ++i) {
    // What arrived is an exact prefix of what was sent, ending on a frame boundary.
    REQUIRE(received[i].size() <= sent[i].size());
    REQUIRE(sent[i].compare(0, received[i].size(), received[i]) == 0);
    CHECK(received[i].size() % 1028 == 0);
    total += received[i].size();
  }
  // Acknowledged = handed to send() successfully: none of it lost.
  CHECK(total == handler.echoed_bytes.load() / 1024 * 1028);
  CHECK(handler.closes.value() == clients);
}

TEST_CASE("stop() with 3000 connections returns and closes every one", "[integration][server]") {
  raise_nofile();
  recording_echo handler;
  tcp_server server(local(2), handler);
  server.start();
  std::vector<client_socket> socks;
  for (int i = 0; i < 3000; ++i)
    socks.push_back(client_socket::connect(server.local_address()));
  REQUIRE(handler.connects.wait_for_at_least(3000, 30s));
  CHECK(server.connection_count() == 3000);
  server.stop();
  CHECK(handler.closes.value() == 3000);
  CHECK(server.connection_count() == 0);
  for (auto r : handler.close_reasons())
    CHECK(r == close_reason::server_stopping);
  std::string rest;
  CHECK(socks.front().read_to_end(rest) == end_kind::eof);
}

TEST_CASE("max_connections: extra connections are closed at once, and served again later",
          "[integration][server]") {
  recording_echo handler;
  auto opts = local(1);
  opts.max_connections = 4;
  tcp_server server(opts, handler);
  server.start();
  std::vector<client_socket> socks;
  for (int i = 0; i < 4; ++i)
    socks.push_back(client_socket::connect(server.local_address()));
  REQUIRE(handler.connects.wait_for_at_least(4));
  auto extra = client_socket::connect(server.local_address());
  std::string got;
  CHECK(extra.read_to_end(got) != end_kind::timeout);  // closed by the server
  CHECK(handler.connects.value() == 4);
  // Free a slot: a new connection is served.
  socks.pop_back();
  REQUIRE(handler.closes.wait_for_at_least(1));
  auto again = client_socket::connect(server.local_address());
  REQUIRE(again.write_all("hi"));
  CHECK(again.read_exact(2) == std::optional<std::string>("hi"));
}

TEST_CASE("EMFILE: waiting connections are refused without spinning, and accepting recovers",
          "[integration][server]") {
  // The acceptor's EMFILE warning would be formatted for the first time
  // inside the low-limit window (see the warm-up note below); keep it quiet.
  set_log_level(log_level::error);
  recording_echo handler;
  tcp_server server(local(1), handler);
  server.start();
  auto addr = server.local_address();
  {
    // Warm-up: every code path runs once with descriptors to spare. (UBSan's
    // vptr check probes memory through a pipe; with no descriptor left it
    // would misreport the first use of a type.)
    auto warm = client_socket::connect(addr);
    REQUIRE(warm.write_all("w"));
    REQUIRE(warm.read_exact(1).has_value());
  }
  // ... its destruction included: the server's side of `warm` is destroyed
  // by a task the loop queues right after on_close, so a task that queues
  // another one runs after it.
  REQUIRE(handler.closes.wait_for_at_least(1));
  std::promise<void> destroyed;
  event_loop& loop = server.loops().loop(0);
  loop.queue_in_loop([&] { loop.queue_in_loop([&] { destroyed.set_value(); }); });
  REQUIRE(destroyed.get_future().wait_for(10s) == std::future_status::ready);
  // Create the client sockets first (they need descriptors too), then lower
  // the limit so that the server's accept() runs out. No assertion runs
  // until the limit is restored.
  std::vector<unique_fd> clients;
  for (int i = 0; i < 20; ++i)
    clients.emplace_back(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  int highest = clients.back().get();
  rlimit old{};
  getrlimit(RLIMIT_NOFILE, &old);
  rlimit low = old;
  low.rlim_cur = static_cast<rlim_t>(highest + 1);
  bool lowered = setrlimit(RLIMIT_NOFILE, &low) == 0;
  size_t connected = 0, answered = 0, refused = 0;
  for (auto& fd : clients) {
    if (::connect(fd.get(), addr.data(), addr.size()) == 0) ++connected;
    (void)::send(fd.get(), "e", 1, MSG_NOSIGNAL);  // served clients get it echoed
  }
  // Every client is either served or told no (EOF/RST): none is left hanging
  // in the backlog, which is what a spinning or stalled acceptor would do.
  for (auto& fd : clients) {
    pollfd p{fd.get(), POLLIN, 0};
    if (::poll(&p, 1, 10000) != 1) continue;
    ++answered;
    char b;
    if (::recv(fd.get(), &b, 1, 0) <= 0) ++refused;
  }
  bool restored = setrlimit(RLIMIT_NOFILE, &old) == 0;
  REQUIRE(lowered);
  REQUIRE(restored);
  CHECK(connected == clients.size());
  CHECK(answered == clients.size());
  CHECK(refused >= 1);
  // Give descriptors back: new connections are served normally.
  clients.clear();
  auto c = client_socket::connect(addr);
  REQUIRE(c.write_all("back"));
  CHECK(c.read_exact(4, 10s) == std::optional<std::string>("back"));
}

TEST_CASE("server timers: run_every repeats until cancelled, run_after fires once",
          "[integration][server]") {
  recording_echo handler;
  tcp_server server(local(1), handler);
  server.start();
  waitable_counter every, once;
  auto id = server.run_every(std::chrono::milliseconds(5), [&] { every.add(); });
  server.run_after(std::chrono::milliseconds(5), [&] { once.add(); });
  REQUIRE(every.wait_for_at_least(3));
  REQUIRE(once.wait_for_at_least(1));
  server.cancel(id);
  // A marker scheduled after the cancel: once it has run, the cancel has taken effect.
  waitable_counter marker;
  server.run_after(std::chrono::milliseconds(50), [&] { marker.add(); });
  REQUIRE(marker.wait_for_at_least(1));
  long after_cancel = every.value();
  waitable_counter marker2;
  server.run_after(std::chrono::milliseconds(50), [&] { marker2.add(); });
  REQUIRE(marker2.wait_for_at_least(1));
  CHECK(every.value() == after_cancel);
  CHECK(once.value() == 1);
}

TEST_CASE("start() on a port in use throws", "[integration][server]") {
  recording_echo handler;
  tcp_server first(local(1), handler);
  first.start();
  auto opts = local(1);
  opts.address = first.local_address();
  opts.socket.reuse_addr = false;
  tcp_server second(opts, handler);
  CHECK_THROWS_AS(second.start(), std::system_error);
}

TEST_CASE("connections kept past their server: calls racing stop and destruction are safe",
          "[integration][server]") {
  // Threads keep sending on connections they hold while the server stops and
  // its loops are destroyed (an actor elsewhere holding a connection handle
  // does this). Calls must fail cleanly, never touch a freed loop; ASan and
  // TSan in CI are what make a mistake here visible.
  struct keeper final : tcp_handler {
    std::mutex m;
    std::vector<connection_ptr> conns;
    waitable_counter connects;
    void on_connect(const connection_ptr& c) override {
      {
        std::lock_guard lock(m);
        conns.push_back(c);
      }
      connects.add();
    }
    void on_message(const connection_ptr&, std::span<const std::byte>) override {}
  } handler;
  auto opts = local(2);
  opts.stop_timeout = 500ms;  // the clients never close: do not wait long for them
  auto server = std::make_unique<tcp_server>(opts, handler);
  server->start();
  std::vector<client_socket> clients;
  for (int i = 0; i < 16; ++i)
    clients.push_back(client_socket::connect(server->local_address()));
  REQUIRE(handler.connects.wait_for_at_least(16));
  std::atomic<bool> server_gone{false};
  waitable_counter calls_after;
  std::vector<std::thread> senders;
  for (int t = 0; t < 4; ++t) {
    senders.emplace_back([&, t] {
      bool counted = false;
      for (size_t i = 0;; ++i) {
        const auto& c = handler.conns[(i + static_cast<size_t>(t)) % handler.conns.size()];
        bool gone = server_gone.load();
        // The clients never read: keep queued output small (memory, and
        // sanitizer shadow memory) while still calling into every connection.
        bool ok = (gone || c->pending_output() < 64 * 1024) && c->send(std::string(64, 'x'));
        if (i % 8 == 0) {  // control calls are not byte-bounded: pace them
          c->pause_reading();
          c->resume_reading();
        }
        if (!gone) std::this_thread::yield();
        if (gone) {
          if (ok) {
            calls_after.add(1'000'000);  // a send accepted after destruction: fail below
            return;
          }
          if (!counted) calls_after.add();
          counted = true;
          if (i % 1000 == 999) return;
        }
      }
    });
  }
  server->stop();
  server.reset();
  server_gone.store(true);
  for (auto& s : senders)
    s.join();
  CHECK(calls_after.value() == 4);
  for (auto& c : handler.conns)
    CHECK_FALSE(c->connected());
}

namespace {

/// Live threads of this process whose name starts with "fastnet-" (the
/// names the server gives its loop and control threads). Exiting threads,
/// which /proc may still list for a moment after a join, are not counted.
size_t fastnet_threads() {
  size_t n = 0;
  for (auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(task.path() / "comm");
    std::string name;
    std::getline(comm, name);
    std::ifstream stat(task.path() / "stat");
    std::string line;
    std::getline(stat, line);
    auto close_paren = line.rfind(')');
    char state = close_paren == std::string::npos || close_paren + 2 >= line.size()
                     ? '?'
                     : line[close_paren + 2];
    if (name.rfind("fastnet-", 0) == 0 && state != 'Z' && state != 'X') ++n;
  }
  return n;
}

}  // namespace

TEST_CASE("run() with one loop serves on the calling thread alone, stop() from elsewhere waits",
          "[integration][server]") {
  // Callbacks and server timers all run on the thread that called run(), and
  // the server starts no thread of its own.
  struct thread_echo final : recording_echo {
    std::atomic<std::thread::id> seen{};
    void on_message(const connection_ptr& c, std::span<const std::byte> frame) override {
      seen = std::this_thread::get_id();
      recording_echo::on_message(c, frame);
    }
  } handler;
  tcp_server server(local(1), handler);
  std::atomic<std::thread::id> timer_thread{};
  waitable_counter timer_fired;
  server.run_after(1ms, [&] {
    timer_thread = std::this_thread::get_id();
    timer_fired.add();
  });
  waitable_counter serving;
  server.loops().loop(0).queue_in_loop([&] { serving.add(); });
  std::thread runner([&] { server.run(); });
  REQUIRE(serving.wait_for_at_least(1));
  CHECK(fastnet_threads() == 0);  // no loop or control thread: the runner does it all

  auto c = client_socket::connect(server.local_address());
  REQUIRE(c.write_all("ping"));
  CHECK(c.read_exact(4) == std::optional<std::string>("ping"));
  REQUIRE(timer_fired.wait_for_at_least(1));
  CHECK(handler.seen.load() == runner.get_id());
  CHECK(timer_thread.load() == runner.get_id());
  CHECK(server.connection_count() == 1);

  std::string rest;
  end_kind end = end_kind::timeout;
  std::thread reader([&] {
    end = c.read_to_end(rest);
    c.shutdown_write();  // answer the server's FIN so its close completes
  });
  server.stop();                                  // returns once run() has finished
  CHECK_FALSE(server.loops().loop(0).running());  // not merely drained: the loop has ended
  CHECK(handler.closes.value() == 1);
  CHECK(server.connection_count() == 0);
  reader.join();
  runner.join();
  CHECK(end == end_kind::eof);
  CHECK(rest.empty());
  for (auto r : handler.close_reasons())
    CHECK(r == close_reason::server_stopping);
  CHECK_THROWS_AS(server.run(), std::logic_error);  // once per server
}

TEST_CASE(
    "run() with two loops: stop() from a callback closes every connection, then run() returns",
    "[integration][server]") {
  // A client that sends "stop" asks the server to stop from inside
  // on_message; its echo and every other client's still arrive before EOF.
  struct stopping_echo final : recording_echo {
    tcp_server* server = nullptr;
    void on_message(const connection_ptr& c, std::span<const std::byte> frame) override {
      recording_echo::on_message(c, frame);
      if (std::string_view(reinterpret_cast<const char*>(frame.data()), frame.size()) == "stop")
        server->stop();  // only begins the shutdown: this is the server's own thread
    }
  } handler;
  tcp_server server(local(2), handler);
  handler.server = &server;
  waitable_counter serving;
  server.loops().loop(0).queue_in_loop([&] { serving.add(); });
  std::atomic<bool> returned{false};
  std::thread runner([&] {
    server.run();
    returned = true;
  });
  REQUIRE(serving.wait_for_at_least(1));
  std::vector<client_socket> clients;
  for (int i = 0; i < 4; ++i) {
    clients.push_back(client_socket::connect(server.local_address()));
    REQUIRE(clients.back().write_all("hi"));
    CHECK(clients.back().read_exact(2) == std::optional<std::string>("hi"));
  }
  CHECK_FALSE(returned.load());
  REQUIRE(clients[0].write_all("stop"));
  for (auto& c : clients) {
    std::string rest;
    CHECK(c.read_to_end(rest) == end_kind::eof);
    CHECK(rest == (&c == &clients[0] ? "stop" : ""));
    c.shutdown_write();
  }
  runner.join();
  CHECK(returned.load());
  CHECK(handler.closes.value() == 4);
  for (auto r : handler.close_reasons())
    CHECK(r == close_reason::server_stopping);
  server.stop();  // after run() has returned: a no-op
}

TEST_CASE("stop() before start() does nothing, run() after start() throws",
          "[integration][server]") {
  recording_echo handler;
  tcp_server server(local(1), handler);
  server.stop();
  server.start();
  CHECK_THROWS_AS(server.run(), std::logic_error);
  auto c = client_socket::connect(server.local_address());
  REQUIRE(c.write_all("ok"));
  CHECK(c.read_exact(2) == std::optional<std::string>("ok"));
}

TEST_CASE("stop() before run(): run() binds, serves nobody and returns", "[integration][server]") {
  // What a signal thread racing the start-up does: the stop is not lost.
  recording_echo handler;
  tcp_server server(local(2), handler);
  server.stop();
  waitable_counter returned;
  std::thread runner([&] {
    server.run();
    returned.add();
  });
  const bool kept = returned.wait_for_at_least(1);
  if (!kept) server.stop();  // the early stop() was lost: end run() so the test fails, not hangs
  runner.join();
  REQUIRE(kept);
  CHECK(server.local_address().port() != 0);
  CHECK_FALSE(server.loops().loop(0).running());
  CHECK_FALSE(server.loops().loop(1).running());
  CHECK(handler.connects.value() == 0);
  // The listener is closed: a connect is refused.
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  unique_fd owned(fd);
  auto addr = server.local_address();
  CHECK(::connect(fd, addr.data(), addr.size()) != 0);
}
