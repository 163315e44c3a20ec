// Closing in actor mode over real sockets and a real actor_system: after
// the peer's EOF, replies an actor makes after a round trip through another
// actor all go out before the FIN; an actor that never closes is bounded by
// peer_close_linger; a client actor hears peer_closed too; server::run()
// serves until stop().
#include <catch2/catch.hpp>
#include <fastnet/actors/client.hpp>
#include <fastnet/actors/scheduler.hpp>
#include <fastnet/actors/server.hpp>
#include <fastnet/codecs.hpp>

#include <caf/all.hpp>
#include <thread>

#include "support/actor_env.hpp"
#include "support/test_socket.hpp"

using namespace fastnet;
using namespace fastnet::actors;
using namespace fastnet::test;

namespace {

actors::server_options line_server() {
  actors::server_options o;
  o.net.address = *socket_address::ip("127.0.0.1", 0);
  o.net.loops = 2;
  o.net.codec = *make_codec_factory("line", 1 << 16);
  return o;
}

/// Answers with what it is sent: the other actor of a round trip.
/// (`label` only gives the spawn an argument: CAF 0.17 dereferences a null
/// argument tuple for a function actor spawned without any, which UBSan
/// reports.)
caf::behavior mirror(caf::event_based_actor*, const std::string& label) {
  (void)label;
  return {[](std::string& line) { return std::move(line); }};
}

/// Echoes each line after asking `other`; once the peer has finished,
/// closes when the last answer is out (never, with `never_close`). Tells
/// `report_to`, if any, the close reason.
connection_behavior echo_via(caf::actor other, bool never_close = false,
                             caf::actor report_to = {}) {
  return [other, never_close, report_to](caf::event_based_actor* self,
                                         connection_handle conn) -> caf::behavior {
    struct progress {
      size_t pending = 0;
      bool peer_done = false;
    };
    auto st = std::make_shared<progress>();
    return {
        [self, conn, other, st](received_atom, std::string& line) {
          ++st->pending;
          self->request(other, caf::infinite, std::move(line)).then([conn, st](std::string& back) {
            conn.send(std::move(back));
            if (--st->pending == 0 && st->peer_done) conn.close();
          });
        },
        [conn, st, never_close](peer_closed_atom) {
          st->peer_done = !never_close;
          if (st->pending == 0 && st->peer_done) conn.close();
        },
        [report_to](closed_atom, close_reason why) {
          if (report_to) caf::anon_send(report_to, why);
        },
    };
  };
}

std::string numbered_lines(int round, int n) {
  std::string lines;
  for (int i = 0; i < n; ++i)
    lines += "line " + std::to_string(round) + "." + std::to_string(i) + "\n";
  return lines;
}

}  // namespace

TEST_CASE("actors: replies after a round trip all go out before the FIN of a half-close",
          "[actors][close]") {
  actor_env env;
  auto other = env.sys.spawn(mirror, std::string("mirror"));
  {
    actors::server srv(env.sys, line_server());
    srv.spawn_per_connection(echo_via(other));
    srv.start();
    for (int round = 0; round < 20; ++round) {
      auto c = client_socket::connect(srv.local_address());
      const std::string lines = numbered_lines(round, 200);
      REQUIRE(c.write_all(lines));  // everything, then the FIN at once
      c.shutdown_write();
      std::string got;
      CHECK(c.read_to_end(got, 30s) == end_kind::eof);
      CHECK(got == lines);
    }
    srv.stop();
  }
  caf::anon_send_exit(other, caf::exit_reason::user_shutdown);
}

TEST_CASE("actors: peer_closed left unhandled closes after the replies already sent",
          "[actors][close]") {
  actor_env env;
  actors::server srv(env.sys, line_server());
  srv.spawn_per_connection([](caf::event_based_actor*, connection_handle conn) -> caf::behavior {
    return {[conn](received_atom, std::string& line) { conn.send(std::move(line)); }};
  });
  srv.start();
  for (int round = 0; round < 20; ++round) {
    auto c = client_socket::connect(srv.local_address());
    const std::string lines = numbered_lines(round, 500);
    REQUIRE(c.write_all(lines));
    c.shutdown_write();
    std::string got;
    CHECK(c.read_to_end(got, 30s) == end_kind::eof);
    CHECK(got == lines);
  }
  srv.stop();
}

TEST_CASE("actors: an actor that never closes after peer_closed is closed at peer_close_linger",
          "[actors][close]") {
  actor_env env;
  auto other = env.sys.spawn(mirror, std::string("mirror"));
  caf::scoped_actor probe{env.sys};
  caf::actor to_probe = probe;
  {
    auto o = line_server();
    o.net.connection.peer_close_linger = std::chrono::milliseconds(1000);
    actors::server srv(env.sys, o);
    srv.spawn_per_connection(echo_via(other, true, to_probe));
    srv.start();
    auto c = client_socket::connect(srv.local_address());
    REQUIRE(c.write_all("last words\n"));
    c.shutdown_write();
    std::string got;
    CHECK(c.read_to_end(got, 30s) == end_kind::eof);
    CHECK(got == "last words\n");
    std::optional<close_reason> why;
    probe->receive([&](close_reason r) { why = r; }, caf::after(std::chrono::seconds(10)) >> [] {});
    REQUIRE(why);
    CHECK(*why == close_reason::peer_closed);
    srv.stop();
  }
  caf::anon_send_exit(other, caf::exit_reason::user_shutdown);
}

TEST_CASE("actors: a client actor hears peer_closed after the last frame, then closed",
          "[actors][close][client]") {
  actor_env env;
  caf::scoped_actor probe{env.sys};
  caf::actor to_probe = probe;
  event_loop loop;
  std::thread loop_thread([&] { loop.run(); });

  // A server that says goodbye and half-closes at once.
  struct farewell final : tcp_handler {
    void on_connect(const connection_ptr& c) override {
      c->send(std::string_view("bye\n"));
      c->shutdown();
    }
    void on_message(const connection_ptr&, std::span<const std::byte>) override {}
  } handler;
  fastnet::tcp_server_options sopts;
  sopts.address = *socket_address::ip("127.0.0.1", 0);
  sopts.loops = 1;
  tcp_server server(sopts, handler);
  server.start();

  actors::client_options copts;
  copts.net.address = server.local_address();
  copts.net.codec = *make_codec_factory("line", 1024);
  copts.net.retry_initial = 10s;  // one connection is enough here
  auto cl = std::make_unique<actors::client>(
      env.sys, loop, copts,
      [to_probe](caf::event_based_actor*, client_handle out) -> caf::behavior {
        return {
            [to_probe](received_atom, std::string& line) { caf::anon_send(to_probe, line); },
            [to_probe, out](peer_closed_atom) {
              out.send("thanks");  // still allowed: only the server's side is shut
              out.close();
              caf::anon_send(to_probe, peer_closed_atom::value);
            },
            [to_probe](closed_atom, close_reason why) { caf::anon_send(to_probe, why); },
        };
      });
  std::vector<std::string> seen;
  for (int i = 0; i < 3; ++i)
    probe->receive(
        [&](std::string& s) { seen.push_back("line " + s); },
        [&](peer_closed_atom) { seen.emplace_back("peer_closed"); },
        [&](close_reason why) { seen.push_back(std::string("closed ") + to_string(why)); },
        caf::after(std::chrono::seconds(10)) >> [&] { seen.emplace_back("timeout"); });
  CHECK(seen == std::vector<std::string>{"line bye", "peer_closed", "closed peer_closed"});
  cl.reset();
  server.stop();
  loop.quit();
  loop_thread.join();
}

TEST_CASE("actors: server::run() serves until stop() from another thread", "[actors]") {
  actor_env env;
  actors::server srv(env.sys, line_server());
  srv.spawn_per_connection([](caf::event_based_actor*, connection_handle conn) -> caf::behavior {
    return {[conn](received_atom, std::string& line) { conn.send(std::move(line)); }};
  });
  waitable_counter returned;
  std::thread runner([&] {
    srv.run();
    returned.add();
  });
  // Served: an echo comes back once the runner has bound (however long the
  // runner takes to get there: a sanitizer build is slow to start).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (srv.local_address().port() == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::yield();
  REQUIRE(srv.local_address().port() != 0);
  auto c = client_socket::connect(srv.local_address());
  REQUIRE(c.write_all("ping\n"));
  std::optional<std::string> got = c.read_exact(5);
  CHECK(got == std::optional<std::string>("ping\n"));
  CHECK(returned.value() == 0);
  srv.stop();
  CHECK(returned.wait_for_at_least(1));
  runner.join();
}
