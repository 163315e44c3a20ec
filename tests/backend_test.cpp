// Choosing a loop's backend: what automatic picks, that an explicit
// io_uring request fails loudly where it cannot run (the test switch
// FASTNET_TEST_IO_URING_FAIL=1 makes setup fail), and that a loop on each
// backend serves the same echo over real sockets.
#include <catch2/catch.hpp>
#include <fastnet/fastnet.hpp>

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdlib>
#include <functional>
#include <optional>
#include <string>
#include <system_error>
#include <thread>

#include "support/gate.hpp"
#include "support/test_socket.hpp"

using namespace fastnet;

namespace {

/// Sets an environment variable for the scope. Tests in one process run one
/// at a time, and loops read it only when constructed.
class scoped_env {
 public:
  scoped_env(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value, 1);
  }
  ~scoped_env() {
    if (old_)
      ::setenv(name_, old_->c_str(), 1);
    else
      ::unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

bool io_uring_runs() {
  try {
    event_loop probe(backend::io_uring);
    return true;
  } catch (const std::system_error&) {
    return false;
  }
}

class echo final : public tcp_handler {
 public:
  void on_message(const connection_ptr& c, std::span<const std::byte> data) override {
    c->send(data);
  }
};

}  // namespace

TEST_CASE("backend names parse and print", "[backend]") {
  CHECK(parse_backend("epoll") == backend::epoll);
  CHECK(parse_backend("io_uring") == backend::io_uring);
  CHECK(parse_backend("uring") == backend::io_uring);
  CHECK(parse_backend("auto") == backend::automatic);
  CHECK_FALSE(parse_backend("kqueue"));
  CHECK(std::string(to_string(backend::io_uring)) == "io_uring");
}

TEST_CASE("an explicit backend is what the loop runs on", "[backend]") {
  event_loop e(backend::epoll);
  CHECK(e.kind() == backend::epoll);
  if (io_uring_runs()) {
    event_loop u(backend::io_uring);
    CHECK(u.kind() == backend::io_uring);
  }
}

TEST_CASE("FASTNET_BACKEND steers automatic, not explicit choices", "[backend]") {
  {
    scoped_env env("FASTNET_BACKEND", "epoll");
    CHECK(event_loop(backend::automatic).kind() == backend::epoll);
  }
  if (io_uring_runs()) {
    scoped_env env("FASTNET_BACKEND", "io_uring");
    CHECK(event_loop(backend::automatic).kind() == backend::io_uring);
    CHECK(event_loop(backend::epoll).kind() == backend::epoll);
  }
}

TEST_CASE("when io_uring cannot be set up, automatic falls back to epoll and io_uring throws",
          "[backend]") {
  scoped_env fail("FASTNET_TEST_IO_URING_FAIL", "1");
  {
    scoped_env env("FASTNET_BACKEND", "io_uring");  // asks automatic for io_uring
    CHECK(event_loop(backend::automatic).kind() == backend::epoll);
  }
  CHECK(event_loop(backend::automatic).kind() == backend::epoll);
  try {
    event_loop u(backend::io_uring);
    FAIL("an io_uring loop was made although setup fails");
  } catch (const std::system_error& e) {
    CHECK_THAT(e.what(), Catch::Contains("io_uring"));
    CHECK_THAT(e.what(), Catch::Contains("FASTNET_TEST_IO_URING_FAIL"));
  }
  // A server asked for io_uring fails to construct, saying why.
  echo handler;
  tcp_server_options o;
  o.address = *socket_address::ip("127.0.0.1", 0);
  o.loops = 1;
  o.backend = backend::io_uring;
  CHECK_THROWS_AS(tcp_server(o, handler), std::system_error);
}

TEST_CASE("a server on each backend echoes the same bytes", "[backend]") {
  for (backend b : {backend::epoll, backend::io_uring}) {
    if (b == backend::io_uring && !io_uring_runs()) continue;
    INFO(to_string(b));
    echo handler;
    tcp_server_options o;
    o.address = *socket_address::ip("127.0.0.1", 0);
    o.loops = 2;
    o.backend = b;
    tcp_server server(o, handler);
    server.start();
    CHECK(server.loops().loop(0).kind() == b);
    std::string sent(200'000, 'x');
    for (size_t i = 0; i < sent.size(); ++i)
      sent[i] = static_cast<char>('a' + (i * 7) % 26);
    auto c = test::client_socket::connect(server.local_address());
    REQUIRE(c.write_all(sent));
    auto got = c.read_exact(sent.size());
    REQUIRE(got);
    CHECK(*got == sent);
    server.stop();
  }
}

TEST_CASE("io_uring: a descriptor number watched again over 2^20 times is still reported",
          "[backend]") {
  // The poller tells a closed descriptor's late completions from its
  // successor's by a generation carried in 20 bits of each request: one
  // descriptor number reused that often (short connections on a busy
  // server reach it in minutes) must wrap it, not fall out of step.
  if (!io_uring_runs()) {
    WARN("io_uring does not run here: nothing to test");
    return;
  }
  struct reader final : io_handler {
    int fd = -1;
    test::gate reported;
    void handle_events(uint32_t) override {
      uint64_t v = 0;
      (void)::read(fd, &v, sizeof v);
      reported.open();
    }
  } r;
  unique_fd efd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  REQUIRE(efd);
  r.fd = efd.get();
  event_loop loop(backend::io_uring);
  std::thread runner([&] { loop.run(); });
  test::gate cycled;
  // In rounds, one per loop pass, so the cancelled requests' completions
  // are collected between them.
  std::function<void(size_t)> cycle = [&](size_t left) {
    for (size_t i = 0; i < 4096 && left > 0; ++i, --left) {
      loop.watch(efd.get(), EPOLLIN, &r);
      loop.unwatch(efd.get());
    }
    if (left > 0) {
      loop.queue_in_loop([&cycle, left] { cycle(left); });
    } else {
      loop.watch(efd.get(), EPOLLIN, &r);
      cycled.open();
    }
  };
  loop.run_in_loop([&] { cycle((size_t{1} << 20) + 16); });
  const bool ready = cycled.wait_for(std::chrono::seconds(90));
  if (ready) {
    const uint64_t one = 1;
    REQUIRE(::write(efd.get(), &one, sizeof one) == sizeof one);
  }
  const bool reported = ready && r.reported.wait_for(std::chrono::seconds(10));
  test::gate unwatched;
  loop.run_in_loop([&] {
    loop.unwatch(efd.get());
    unwatched.open();
  });
  unwatched.wait();
  loop.quit();
  runner.join();
  REQUIRE(ready);
  CHECK(reported);
}
