// The WebSocket conformance suite (tests/support/ws_conformance.hpp) against
// actor-mode echo servers: one actor per connection that echoes at once,
// and one that echoes only after a round trip through another actor, so
// its replies come from a CAF worker, after the peer's Close was read.
// Either way each echo must precede the Close reply and the FIN.
#include <catch2/catch.hpp>
#include <fastnet/actors/scheduler.hpp>
#include <fastnet/actors/server.hpp>
#include <fastnet/ws.hpp>

#include <caf/all.hpp>

#include "support/ws_conformance.hpp"

using namespace fastnet;
using namespace fastnet::test;
using namespace fastnet::actors;

namespace {

bool is_data(frame_kind kind) {
  return kind == ws::kind::text || kind == ws::kind::binary;
}

/// Echoes each message as it arrives; peer_closed is left to fastnet.
caf::behavior echo_now(caf::event_based_actor*, connection_handle conn) {
  return {[conn](message_atom, frame_kind kind, std::string& payload) {
    if (is_data(kind)) conn.send(std::move(payload), kind);
  }};
}

/// Answers with what it is sent: the other actor of a round trip.
/// (`label` only gives the spawn an argument: CAF 0.17 dereferences a null
/// argument tuple for a function actor spawned without any, which UBSan
/// reports.)
caf::behavior mirror(caf::event_based_actor*, const std::string& label) {
  (void)label;
  return {[](std::string& payload) { return std::move(payload); }};
}

/// Echoes each message after asking `other` for it; once the peer has
/// finished, closes when the last answer has been sent.
connection_behavior echo_via(caf::actor other) {
  return [other](caf::event_based_actor* self, connection_handle conn) -> caf::behavior {
    struct progress {
      size_t pending = 0;
      bool peer_done = false;
    };
    auto st = std::make_shared<progress>();
    return {
        [self, conn, other, st](message_atom, frame_kind kind, std::string& payload) {
          if (!is_data(kind)) return;
          ++st->pending;
          self->request(other, caf::infinite, std::move(payload))
              .then([conn, kind, st](std::string& back) {
                conn.send(std::move(back), kind);
                if (--st->pending == 0 && st->peer_done) conn.close();
              });
        },
        [conn, st](peer_closed_atom) {
          st->peer_done = true;
          if (st->pending == 0) conn.close();
        },
    };
  };
}

struct actor_env {
  explicit actor_env(size_t max_message) {
    ws::server_protocol_options o;
    o.max_frame = max_message;
    o.max_message = max_message;
    opts.net.address = *socket_address::ip("127.0.0.1", 0);
    opts.net.loops = 2;
    opts.net.protocol = ws::server_protocol_factory(o);
    opts.max_inbound_bytes = 2 * max_message;
  }
  ~actor_env() {
    if (other) caf::anon_send_exit(other, caf::exit_reason::user_shutdown);
  }
  static caf::actor_system_config& configured(caf::actor_system_config& cfg) {
    actors::apply(cfg);
    return cfg;
  }
  caf::actor_system_config cfg;
  caf::actor_system sys{configured(cfg)};
  actors::server_options opts;
  caf::actor other;
};

void run_both(size_t max_message, const std::vector<conformance_case>& cases, const char* title) {
  for (bool round_trip : {false, true}) {
    actor_env env(max_message);
    server srv(env.sys, env.opts);
    if (round_trip) {
      env.other = env.sys.spawn(mirror, std::string("mirror"));
      srv.spawn_per_connection(echo_via(env.other));
    } else {
      srv.spawn_per_connection(echo_now);
    }
    srv.start();
    std::string name = std::string(title) + (round_trip ? ", round trip" : ", direct");
    CHECK(run_cases(srv.local_address(), name.c_str(), cases, reply_order::pongs_apart) == "");
    srv.stop();
  }
}

}  // namespace

TEST_CASE("actors: WebSocket conformance, direct and round-trip echo", "[actors][ws]") {
  run_both(max_message, all_cases(), "actors");
}

TEST_CASE("actors: WebSocket messages up to 16 MiB then a close in one write", "[actors][ws]") {
  run_both(large_max_message, large_cases(), "actors, large");
}
