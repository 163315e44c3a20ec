// Closing: half-close from either side, RST mid-write, abort, graceful
// close() flushing a large reply, idle timeout, replies made on another
// thread after the peer's EOF, and the bound on waiting for them.
#include <catch2/catch.hpp>
#include <fastnet/codecs.hpp>
#include <fastnet/fastnet.hpp>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "support/test_socket.hpp"

using namespace fastnet;
using namespace fastnet::test;

namespace {

tcp_server_options one_loop() {
  tcp_server_options o;
  o.address = *socket_address::ip("127.0.0.1", 0);
  o.loops = 1;
  return o;
}

/// Runs `action` on the connection once its first frame arrives.
struct act_on_first final : recording_echo {
  std::function<void(const connection_ptr&)> action;
  bool echo = false;
  void on_message(const connection_ptr& c, std::span<const std::byte> f) override {
    if (echo) {
      recording_echo::on_message(c, f);
    } else {
      frames.fetch_add(1);
    }
    if (action) std::exchange(action, nullptr)(c);
  }
};

}  // namespace

TEST_CASE("client half-close: every echo arrives, then EOF", "[integration][close]") {
  recording_echo handler;
  tcp_server server(one_loop(), handler);
  server.start();
  auto c = client_socket::connect(server.local_address());
  std::string msg = random_bytes(3 << 20, 9);
  bool wrote = false;  // Catch2 assertions belong on the main thread
  std::thread writer([&] {
    wrote = c.write_all(msg);
    c.shutdown_write();
  });
  std::string got;
  CHECK(c.read_to_end(got, 30s) == end_kind::eof);
  writer.join();
  REQUIRE(wrote);
  CHECK(got == msg);
  REQUIRE(handler.closes.wait_for_at_least(1));
  CHECK(handler.close_reasons().at(0) == close_reason::peer_closed);
}

TEST_CASE("server shutdown(): reply flushed, then FIN, the connection stays readable",
          "[integration][close]") {
  act_on_first handler;
  std::string reply = random_bytes(2 << 20, 5);
  std::atomic<bool> send_after_shutdown_refused{false};
  handler.action = [&](const connection_ptr& c) {
    c->send(reply);
    c->shutdown();
    send_after_shutdown_refused = !c->send(std::string("after shutdown"));
  };
  tcp_server server(one_loop(), handler);
  server.start();
  auto c = client_socket::connect(server.local_address());
  REQUIRE(c.write_all("go"));
  std::string got;
  CHECK(c.read_to_end(got, 30s) == end_kind::eof);
  CHECK(got == reply);
  CHECK(send_after_shutdown_refused);
  // Half-closed, not closed: the server still reads until we close.
  CHECK(handler.closes.value() == 0);
  c.close();
  REQUIRE(handler.closes.wait_for_at_least(1));
  CHECK(handler.close_reasons().at(0) == close_reason::peer_closed);
}

TEST_CASE("close() flushes a large reply before closing", "[integration][close]") {
  act_on_first handler;
  std::string reply = random_bytes(8 << 20, 6);
  handler.action = [&](const connection_ptr& c) {
    c->send(reply);
    c->close();
  };
  tcp_server server(one_loop(), handler);
  server.start();
  auto c = client_socket::connect(server.local_address());
  REQUIRE(c.write_all("go"));
  std::string got;
  CHECK(c.read_to_end(got, 30s) == end_kind::eof);
  CHECK(got == reply);
  c.close();
  REQUIRE(handler.closes.wait_for_at_least(1));
  CHECK(handler.close_reasons().at(0) == close_reason::local_close);
}

TEST_CASE("abort() resets the connection at once", "[integration][close]") {
  act_on_first handler;
  handler.action = [](const connection_ptr& c) {
    c->send(std::string(1 << 20, 'z'));
    c->abort();
  };
  tcp_server server(one_loop(), handler);
  server.start();
  auto c = client_socket::connect(server.local_address());
  REQUIRE(c.write_all("go"));
  std::string got;
  CHECK(c.read_to_end(got, 30s) == end_kind::reset);
  REQUIRE(handler.closes.wait_for_at_least(1));
  CHECK(handler.close_reasons().at(0) == close_reason::aborted);
}

TEST_CASE("a peer reset mid-write closes the connection with reason reset",
          "[integration][close]") {
  // The server streams a large reply; the client resets before reading it.
  act_on_first handler;
  handler.action = [](const connection_ptr& c) { c->send(std::string(32 << 20, 'r')); };
  tcp_server server(one_loop(), handler);
  server.start();
  auto c = client_socket::connect(server.local_address());
  REQUIRE(c.write_all("go"));
  REQUIRE(c.read_exact(1000).has_value());  // the stream has started
  c.set_linger_zero();
  c.close();
  REQUIRE(handler.closes.wait_for_at_least(1));
  CHECK(handler.close_reasons().at(0) == close_reason::reset);
  // The server is still healthy.
  handler.echo = true;
  auto c2 = client_socket::connect(server.local_address());
  REQUIRE(c2.write_all("x"));
  CHECK(c2.read_exact(1).has_value());
}

TEST_CASE("idle connections are closed after the idle timeout", "[integration][close]") {
  recording_echo handler;
  auto opts = one_loop();
  opts.connection.idle_timeout = std::chrono::milliseconds(1000);
  tcp_server server(opts, handler);
  server.start();
  auto quiet = client_socket::connect(server.local_address());
  // Activity keeps a connection open past its timeout: traffic spans 2.5 timeouts.
  auto busy = client_socket::connect(server.local_address());
  auto start = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - start < std::chrono::milliseconds(2500)) {
    REQUIRE(busy.write_all("k"));
    REQUIRE(busy.read_exact(1).has_value());
  }
  std::string got;
  CHECK(quiet.read_to_end(got, 10s) == end_kind::eof);
  // The busy one was active within the last timeout: still served.
  REQUIRE(busy.write_all("k"));
  CHECK(busy.read_exact(1).has_value());
  // Answer the server's FIN so its graceful close completes without waiting the linger.
  quiet.close();
  REQUIRE(handler.closes.wait_for_at_least(1));
  CHECK(handler.close_reasons().at(0) == close_reason::idle_timeout);
  CHECK(handler.closes.value() == 1);
}

namespace {

/// Echoes each line from a worker thread of its own, as a handler that asks
/// someone else before it answers would. After the peer's EOF it keeps the
/// connection open (on_peer_eof returns false) and closes it once the
/// worker has answered everything, unless `never_close`.
class late_echo final : public tcp_handler {
 public:
  explicit late_echo(bool never_close = false) : never_close_(never_close) {
    worker_ = std::thread([this] { work(); });
  }
  ~late_echo() override {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    changed_.notify_all();
    worker_.join();
  }
  void on_message(const connection_ptr& c, std::span<const std::byte> frame) override {
    push({c, std::string(reinterpret_cast<const char*>(frame.data()), frame.size()), false});
  }
  bool on_peer_eof(const connection_ptr& c) override {
    eofs.add();
    if (!never_close_) push({c, {}, true});
    return false;
  }
  void on_close(const connection_ptr&, close_reason why) override {
    std::lock_guard lock(mutex_);
    reasons.push_back(why);
    closes.add();
  }
  waitable_counter eofs, closes;
  std::vector<close_reason> reasons;  // guarded by mutex_ until closes is waited for

 private:
  struct job {
    connection_ptr conn;
    std::string line;
    bool close_after = false;
  };
  void push(job j) {
    {
      std::lock_guard lock(mutex_);
      jobs_.push_back(std::move(j));
    }
    changed_.notify_all();
  }
  void work() {
    std::unique_lock lock(mutex_);
    for (;;) {
      changed_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) return;
      job j = std::move(jobs_.front());
      jobs_.pop_front();
      lock.unlock();
      if (j.close_after)
        j.conn->close();
      else
        j.conn->send(j.line);  // the line codec adds the newline back
      lock.lock();
    }
  }
  const bool never_close_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<job> jobs_;
  bool stopping_ = false;
  std::thread worker_;
};

tcp_server_options line_server() {
  auto o = one_loop();
  o.codec = *make_codec_factory("line", 1 << 16);
  return o;
}

/// Closes `c`'s server end by its deadline: waits for the server's FIN,
/// answers it, and returns how long that took from `since`.
std::chrono::milliseconds closed_after(client_socket& c,
                                       std::chrono::steady_clock::time_point since) {
  std::string got;
  CHECK(c.read_to_end(got, 10s) == end_kind::eof);
  auto took = std::chrono::steady_clock::now() - since;
  c.close();
  return std::chrono::duration_cast<std::chrono::milliseconds>(took);
}

}  // namespace

TEST_CASE("replies made on another thread after the peer's EOF all go out before the FIN",
          "[integration][close]") {
  late_echo handler;
  tcp_server server(line_server(), handler);
  server.start();
  for (int round = 0; round < 20; ++round) {
    auto c = client_socket::connect(server.local_address());
    std::string lines;
    for (int i = 0; i < 200; ++i)
      lines += "line " + std::to_string(round) + "." + std::to_string(i) + "\n";
    REQUIRE(c.write_all(lines));  // everything, then the FIN at once
    c.shutdown_write();
    std::string got;
    CHECK(c.read_to_end(got, 30s) == end_kind::eof);
    CHECK(got == lines);
  }
  REQUIRE(handler.closes.wait_for_at_least(20));
  for (auto why : handler.reasons)
    CHECK(why == close_reason::peer_closed);
}

TEST_CASE("a handler that never closes after the peer's EOF is closed at peer_close_linger",
          "[integration][close]") {
  late_echo handler(true);
  auto o = line_server();
  o.connection.peer_close_linger = std::chrono::milliseconds(1000);
  tcp_server server(o, handler);
  server.start();
  auto c = client_socket::connect(server.local_address());
  REQUIRE(c.write_all("last words\n"));
  c.shutdown_write();
  std::string got;
  CHECK(c.read_to_end(got, 30s) == end_kind::eof);
  CHECK(got == "last words\n");  // what was answered still went out
  REQUIRE(handler.closes.wait_for_at_least(1));
  CHECK(handler.reasons.at(0) == close_reason::peer_closed);
}

TEST_CASE("after the peer's EOF, a slow reader gets every queued reply: the linger bounds a stall",
          "[integration][close]") {
  // About 2 MiB of echoes are queued when the peer half-closes, and it reads
  // them at about 640 KiB/s, past what the socket buffers hold: about 3 s,
  // far longer than the 1 s close linger, which must only bound a peer that
  // reads nothing. (The linger is 20 of the reader's 50 ms steps: a loaded
  // CI machine that holds the reader's thread back for a few hundred ms
  // must not look like a stalled peer; 200 ms did.)
  recording_echo handler;
  auto o = one_loop();
  o.connection.close_linger = std::chrono::milliseconds(1000);
  o.socket.send_buffer = 16 * 1024;
  tcp_server server(o, handler);
  server.start();
  auto c = client_socket::connect(server.local_address());
  // (Its receive buffer is left alone: shrunk after connect, loopback TCP
  // drops segments and stalls on retransmission timeouts.)
  const std::string msg = random_bytes(2 << 20, 11);
  bool wrote = false;
  std::thread writer([&] {
    wrote = c.write_all(msg, 30s);
    c.shutdown_write();
  });
  std::string got;
  while (got.size() < msg.size()) {
    auto chunk = c.read_exact(std::min<size_t>(32 * 1024, msg.size() - got.size()), 30s);
    if (!chunk) break;
    got += *chunk;
    std::this_thread::sleep_for(50ms);  // the slow reader's pace, not a wait for an event
  }
  std::string rest;
  CHECK(c.read_to_end(rest, 30s) == end_kind::eof);
  writer.join();
  REQUIRE(wrote);
  CHECK(got.size() == msg.size());
  CHECK(got == msg);
  CHECK(rest.empty());
  REQUIRE(handler.closes.wait_for_at_least(1));
  CHECK(handler.close_reasons().at(0) == close_reason::peer_closed);
}

TEST_CASE("the frame and idle deadlines share a timer and each closes with its reason",
          "[integration][close]") {
  using namespace std::chrono_literals;
  recording_echo handler;
  auto opts = one_loop();
  opts.codec = [] { return std::make_unique<line_codec>(); };

  SECTION("a partial frame begun after the idle deadline was armed still gets its own deadline") {
    // idle 5 s, frame 300 ms: the timer armed at connect is for idle; the
    // partial frame that begins later must not wait for it.
    opts.connection.idle_timeout = 5000ms;
    opts.connection.frame_timeout = 300ms;
    tcp_server server(opts, handler);
    server.start();
    auto c = client_socket::connect(server.local_address());
    std::this_thread::sleep_for(100ms);
    auto begun = std::chrono::steady_clock::now();
    REQUIRE(c.write_all("no newline yet"));
    auto took = closed_after(c, begun);
    CHECK(took >= 250ms);
    CHECK(took < 5000ms);  // before the idle deadline it would otherwise have waited for
    REQUIRE(handler.closes.wait_for_at_least(1));
    CHECK(handler.close_reasons().at(0) == close_reason::frame_timeout);
  }
  SECTION("a peer trickling one frame keeps the idle deadline away but meets the frame's") {
    // Margins of 10x over the 100 ms pace, so a slow machine cannot make
    // the trickle look idle.
    opts.connection.idle_timeout = 1000ms;
    opts.connection.frame_timeout = 2000ms;
    tcp_server server(opts, handler);
    server.start();
    auto c = client_socket::connect(server.local_address());
    auto begun = std::chrono::steady_clock::now();
    std::string got;
    for (int i = 0; i < 40; ++i) {  // a byte every 100 ms, never the newline
      if (!c.write_all("x")) break;
      std::this_thread::sleep_for(100ms);
      if (std::chrono::steady_clock::now() - begun > 2500ms) break;
    }
    auto took = closed_after(c, begun);
    CHECK(took >= 1900ms);
    REQUIRE(handler.closes.wait_for_at_least(1));
    CHECK(handler.close_reasons().at(0) == close_reason::frame_timeout);
  }
  SECTION("whole frames reset the frame clock; silence then meets the idle deadline") {
    opts.connection.idle_timeout = 2000ms;  // 10x the 150 ms pace
    opts.connection.frame_timeout = 1500ms;
    tcp_server server(opts, handler);
    server.start();
    auto c = client_socket::connect(server.local_address());
    // Each write completes one frame and begins the next: the clock restarts.
    auto begun = std::chrono::steady_clock::now();
    REQUIRE(c.write_all("a"));
    for (int i = 0; i < 22; ++i) {
      std::this_thread::sleep_for(150ms);
      REQUIRE(c.write_all("\nb"));
      REQUIRE(c.read_exact(2).has_value());  // the echo of the completed frame
    }
    REQUIRE(c.write_all("\n"));  // the last frame completes: nothing partial is left
    REQUIRE(c.read_exact(2).has_value());
    CHECK(std::chrono::steady_clock::now() - begun >= 3300ms);  // past two frame timeouts
    auto quiet = std::chrono::steady_clock::now();
    auto took = closed_after(c, quiet);
    CHECK(took >= 1500ms);
    REQUIRE(handler.closes.wait_for_at_least(1));
    CHECK(handler.close_reasons().at(0) == close_reason::idle_timeout);
  }
}
