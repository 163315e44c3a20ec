// Actor mode over TLS: an actors::server whose connections run on
// fastnet::tls transports, with one echoing actor per connection, serves
// Python's ssl module (echo up to 1 MiB in one write, then close_notify both
// ways), with actors woken on the loop thread or on CAF workers; and an
// actor that upgrades its connection with STARTTLS (the example's line
// protocol holds the input behind STARTTLS until the actor's upgrade), with
// the client's ClientHello in the same write as STARTTLS or after "220".
#include <catch2/catch.hpp>
#include <fastnet/actors/scheduler.hpp>
#include <fastnet/actors/server.hpp>
#include <fastnet/tls/context.hpp>

#include <caf/all.hpp>
#include <mutex>

#include "../examples/starttls_session.hpp"
#include "support/actor_env.hpp"
#include "support/test_socket.hpp"
#include "support/tls_peers.hpp"

using namespace fastnet;
using namespace fastnet::actors;
using namespace fastnet::test;
using Catch::Matchers::Contains;

namespace {

/// What the connection actors saw, shared with the test.
struct seen {
  waitable_counter connects, closes;
  std::mutex mutex;
  std::vector<close_reason> reasons;
};

connection_behavior echo(seen& s) {
  return [&s](caf::event_based_actor*, connection_handle conn) -> caf::behavior {
    return {
        [&s](connected_atom, uint64_t, const std::string&) { s.connects.add(); },
        [conn](received_atom, std::string& frame) { conn.send(std::move(frame)); },
        [&s](closed_atom, close_reason why) {
          {
            std::lock_guard lock(s.mutex);
            s.reasons.push_back(why);
          }
          s.closes.add();
        },
    };
  };
}

/// The STARTTLS example's conversation, answered by an actor: it hears
/// STARTTLS later than the loop reads, so the line protocol holds the bytes
/// behind it for the upgrade.
connection_behavior starttls_session(std::shared_ptr<tls::context> ctx, seen& s) {
  return [ctx, &s](caf::event_based_actor*, connection_handle conn) -> caf::behavior {
    auto secure = std::make_shared<bool>(false);
    return {
        [conn](connected_atom, uint64_t, const std::string&) { conn.send("220 fastnet ready"); },
        [conn, ctx, secure](received_atom, const std::string& line) {
          if (line.starts_with("HELO ")) {
            conn.send("250 hello " + line.substr(5));
          } else if (line == "STARTTLS") {
            conn.send("220 go ahead");
            conn.connection()->upgrade_transport(ctx->make_transport());
            *secure = true;
          } else if (line == "SECURE?") {
            conn.send(*secure ? "250 tls" : "250 plain");
          } else if (line == "QUIT") {
            conn.send("221 bye");
            conn.close();
          } else {
            conn.send("500 unknown command");
          }
        },
        [&s](closed_atom, close_reason why) {
          {
            std::lock_guard lock(s.mutex);
            s.reasons.push_back(why);
          }
          s.closes.add();
        },
    };
  };
}

}  // namespace

TEST_CASE("actor mode over TLS: python ssl gets every byte back", "[actors][tls]") {
  seen s;  // outlives the actor system, whose actors report to it
  actor_env env;
  auto ctx = tls::context::server(server_config());
  actors::server_options opts;
  opts.net.address = *socket_address::ip("127.0.0.1", 0);
  opts.net.loops = 2;
  opts.net.transport = ctx->transports();
  opts.run_on_loops = GENERATE(true, false);
  INFO("run_on_loops " << opts.run_on_loops);
  actors::server srv(env.sys, opts);
  srv.spawn_per_connection(echo(s));
  srv.start();
  long n = 0;
  for (size_t size : {size_t{16}, size_t{1} << 20}) {
    INFO("size " << size);
    auto r = python_client(srv.local_address(), {"size=" + std::to_string(size)});
    INFO_RUN(r);
    ++n;
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.out, Contains("handshake ok TLSv1.3"));
    CHECK_THAT(r.out, Contains("echo ok " + std::to_string(size) + "\n"));
    // Python's close_notify, answered by ours once the actor's replies are out.
    CHECK_THAT(r.out, Contains("unwrap ok"));
    REQUIRE(s.closes.wait_for_at_least(n));
    std::lock_guard lock(s.mutex);
    CHECK(s.reasons.back() == close_reason::peer_closed);
  }
  CHECK(s.connects.value() == n);
  CHECK(ctx->handshake_failures() == 0);
  srv.stop();
}

TEST_CASE("actor mode STARTTLS: the hold keeps a pipelined ClientHello for the actor's upgrade",
          "[actors][tls][starttls]") {
  seen s;
  actor_env env;
  auto ctx = tls::context::server(server_config());
  actors::server_options opts;
  opts.net.address = *socket_address::ip("127.0.0.1", 0);
  opts.net.loops = 1;
  opts.net.protocol = [] { return std::make_unique<starttls::line_protocol>(); };
  opts.run_on_loops = GENERATE(true, false);
  const bool pipelined = GENERATE(false, true);
  INFO("run_on_loops " << opts.run_on_loops << ", pipelined " << pipelined);
  actors::server srv(env.sys, opts);
  srv.spawn_per_connection(starttls_session(ctx, s));
  srv.start();
  auto r = python_starttls(srv.local_address(), pipelined);
  INFO_RUN(r);
  REQUIRE(r.exit_code == 0);
  if (pipelined) {
    CHECK(r.out == "220 fastnet ready\n220 go ahead\n250 tls\n");
  } else {
    CHECK(r.out == "220 fastnet ready\n250 hello py\n250 plain\n220 go ahead\n250 tls\n221 bye\n");
  }
  REQUIRE(s.closes.wait_for_at_least(1));
  CHECK(ctx->handshake_failures() == 0);
  srv.stop();
}
