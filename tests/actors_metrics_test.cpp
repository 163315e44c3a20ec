// The actor layer's statistics over real sockets and a real actor_system:
// exact counts after a known load (frames handed, handled, pending, dropped,
// wakes, runs on the loop and on workers, the frame-wait histogram), frames
// held by a busy actor showing as pending, an actor client's counts, and the
// fastnet_actor_* families scraped (by watch() and by the server's own
// /metrics endpoint) and checked by `promtool check metrics`.
#include <catch2/catch.hpp>
#include <fastnet/actors/client.hpp>
#include <fastnet/actors/metrics.hpp>
#include <fastnet/actors/server.hpp>
#include <fastnet/actors/stats.hpp>
#include <fastnet/codecs.hpp>
#include <fastnet/metrics/registry.hpp>

#include <caf/all.hpp>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "actor_counters.hpp"  // actors/src: the histogram's bucketing
#include "support/actor_env.hpp"
#include "support/gate.hpp"
#include "support/loop_thread.hpp"
#include "support/promtool.hpp"
#include "support/subprocess.hpp"
#include "support/test_socket.hpp"

using namespace fastnet;
using namespace fastnet::actors;
using namespace fastnet::test;
using Catch::Matchers::Contains;

namespace {

actors::server_options local_lines(size_t loops, bool run_on_loops) {
  actors::server_options o;
  o.net.address = *socket_address::ip("127.0.0.1", 0);
  o.net.loops = loops;
  o.net.codec = *make_codec_factory("line", 1024);
  o.run_on_loops = run_on_loops;
  return o;
}

caf::behavior echo(caf::event_based_actor*, connection_handle conn) {
  return {[conn](received_atom, std::string& frame) { conn.send(std::move(frame)); }};
}

/// `lines` lines "<prefix><i>\n".
std::string lines(const std::string& prefix, size_t count) {
  std::string out;
  for (size_t i = 0; i < count; ++i)
    out += prefix + std::to_string(i) + "\n";
  return out;
}

/// The sample line `name{labels} value` as the exposition writes it.
std::string sample(const std::string& name, const std::string& labels, uint64_t value) {
  return name + "{" + labels + "} " + std::to_string(value) + "\n";
}

/// The value of the first sample of `name` whose labels begin with
/// `labels` (others may follow, as the traffic families' protocol does);
/// empty when there is none.
std::string value_of(const std::string& text, const std::string& name, const std::string& labels) {
  const std::string head = "\n" + name + "{" + labels;
  const size_t at = text.find(head);
  if (at == std::string::npos) return {};
  const size_t end = text.find('\n', at + 1);
  const size_t space = text.rfind(' ', end);
  return text.substr(space + 1, end - space - 1);
}

}  // namespace

TEST_CASE("frame-wait buckets: 1 2 5 per decade from 1 us to 10 s, le inclusive",
          "[actors][metrics][unit]") {
  using fastnet::actors::detail::frame_wait_bounds_ns;
  using fastnet::actors::detail::frame_wait_bucket;
  const auto bounds = metrics::log_linear_buckets(1e-6, 10);
  REQUIRE(bounds.size() == frame_wait_bounds_ns.size());
  for (size_t i = 0; i < bounds.size(); ++i)
    CHECK(static_cast<double>(frame_wait_bounds_ns[i]) / 1e9 == bounds[i]);
  CHECK(frame_wait_bucket(0) == 0);
  CHECK(frame_wait_bucket(1'000) == 0);  // at the bound: in it (le)
  CHECK(frame_wait_bucket(1'001) == 1);
  CHECK(frame_wait_bucket(2'000) == 1);
  CHECK(frame_wait_bucket(10'000'000'000) == 21);
  CHECK(frame_wait_bucket(10'000'000'001) == 22);  // above every bound: +Inf only
}

TEST_CASE("actor stats after N connections x M frames: every frame handed and handled, valid text",
          "[actors][metrics]") {
  const bool on_loops = GENERATE(true, false);
  INFO("run_on_loops " << on_loops);
  constexpr size_t n_conns = 4, m_frames = 50;
  actor_env env;
  actors::server server(env.sys, local_lines(2, on_loops));
  server.spawn_per_connection(echo);
  server.start();
  {
    std::vector<client_socket> clients;
    for (size_t i = 0; i < n_conns; ++i)
      clients.push_back(client_socket::connect(server.local_address()));
    // Pipelined: batches of several frames per wake as well as single ones.
    for (size_t i = 0; i < n_conns; ++i) {
      const std::string batch = lines("c" + std::to_string(i) + "-", m_frames);
      REQUIRE(clients[i].write_all(batch));
      auto back = clients[i].read_exact(batch.size());
      REQUIRE(back);
      CHECK(*back == batch);
    }
    // Every echo has come back, and a frame counts handled before its
    // actor replies: the counts are final while the connections stay open.
    const auto s = server.stats();
    const auto net = server.reactor().stats();
    REQUIRE(s.loops.size() == 2);
    REQUIRE(net.loops.size() == 2);
    for (size_t i = 0; i < s.loops.size(); ++i) {
      INFO("loop " << i);
      const auto& l = s.loops[i];
      CHECK(l.frames_handed == net.loops[i].connections.frames_received);
      CHECK(l.frames_handled == l.frames_handed);
      CHECK(l.frame_wait.count() == l.frames_handled);
    }
    const auto t = s.total();
    CHECK(t.frames_handed == n_conns * m_frames);
    CHECK(t.frames_handled == n_conns * m_frames);
    CHECK(t.frames_pending == 0);
    CHECK(t.frames_dropped == 0);
    CHECK(t.wakes >= 1);
    CHECK(t.wakes <= t.frames_handed);
    if (on_loops) {
      CHECK(t.runs_on_loop > 0);
    } else {
      CHECK(t.runs_on_loop == 0);
      CHECK(t.runs_on_worker > 0);
    }
    CHECK(t.frame_wait.count() == n_conns * m_frames);
    CHECK(t.frame_wait.bounds == metrics::log_linear_buckets(1e-6, 10));
    CHECK(t.frame_wait.counts.size() == t.frame_wait.bounds.size() + 1);
    CHECK(t.frame_wait.sum >= 0);

    metrics::registry r;
    const auto id = metrics::watch(r, server, "echo");
    const std::string text = r.scrape();
    INFO(text);
    for (size_t i = 0; i < s.loops.size(); ++i) {
      const auto& l = s.loops[i];
      const std::string lb = "server=\"echo\",loop=\"" + std::to_string(i) + "\"";
      CHECK_THAT(text, Contains(sample("fastnet_actor_frames_handed_total", lb, l.frames_handed)));
      CHECK_THAT(text,
                 Contains(sample("fastnet_actor_frames_handled_total", lb, l.frames_handled)));
      CHECK_THAT(text, Contains(sample("fastnet_actor_frames_dropped_total", lb, 0)));
      CHECK_THAT(text, Contains(sample("fastnet_actor_frames_pending", lb, 0)));
      CHECK_THAT(text, Contains(sample("fastnet_actor_wakes_total", lb, l.wakes)));
      CHECK_THAT(text,
                 Contains(sample("fastnet_actor_runs_total", lb + ",on=\"loop\"", l.runs_on_loop)));
      CHECK_THAT(text, Contains(sample("fastnet_actor_runs_total", lb + ",on=\"worker\"",
                                       l.runs_on_worker)));
      CHECK_THAT(text, Contains(sample("fastnet_actor_frame_wait_seconds_bucket",
                                       lb + ",le=\"+Inf\"", l.frames_handled)));
      CHECK_THAT(text,
                 Contains(sample("fastnet_actor_frame_wait_seconds_count", lb, l.frames_handled)));
      // The reactor's families come with the actors' in the same collector.
      CHECK(value_of(text, "fastnet_received_frames_total", lb) ==
            std::to_string(net.loops[i].connections.frames_received));
    }
    CHECK_THAT(text, Contains("fastnet_actor_frame_wait_seconds_bucket{server=\"echo\",loop=\"0\","
                              "le=\"1e-06\"} "));
    check_promtool(text);
    r.remove_collector(id);
  }
  server.stop();
}

TEST_CASE("frames an actor has not handled yet are pending, and none once it catches up",
          "[actors][metrics]") {
  // The actor blocks its worker in the first frame's handler until told;
  // the loop meanwhile hands the next frames over, which wait in its inbox.
  struct shared {
    waitable_counter entered;
    gate release;
  };
  auto st = std::make_shared<shared>();
  struct open_on_exit {  // a failed REQUIRE must not leave a CAF worker blocked
    shared& st;
    ~open_on_exit() { st.release.open(); }
  };
  constexpr size_t held = 5;
  actor_env env;
  actors::server server(env.sys, local_lines(1, false));
  server.spawn_per_connection([st](caf::event_based_actor*, connection_handle conn) {
    return caf::behavior{[st, conn](received_atom, std::string& frame) {
      if (frame == "hold") {
        st->entered.add();
        st->release.wait();
      }
      conn.send(std::move(frame));
    }};
  });
  server.start();
  open_on_exit opener{*st};
  metrics::registry r;
  const auto id = metrics::watch(r, server, "hold");
  const std::string lb = "server=\"hold\",loop=\"0\"";
  auto c = client_socket::connect(server.local_address());
  REQUIRE(c.write_all("hold\n"));
  REQUIRE(st->entered.wait_for_at_least(1));
  const std::string rest = lines("f", held);
  REQUIRE(c.write_all(rest));
  // The loop hands the frames over on its own time: no event marks it.
  REQUIRE(eventually([&] { return server.stats().total().frames_pending == held; }));
  {
    const auto t = server.stats().total();
    CHECK(t.frames_handed == held + 1);
    CHECK(t.frames_handled == 1);  // "hold": its handling has begun
    CHECK(t.frame_wait.count() == 1);
    const std::string text = r.scrape();
    INFO(text);
    CHECK_THAT(text, Contains(sample("fastnet_actor_frames_pending", lb, held)));
    check_promtool(text);
  }
  st->release.open();
  const std::string all = "hold\n" + rest;
  auto back = c.read_exact(all.size());
  REQUIRE(back);
  CHECK(*back == all);
  const auto t = server.stats().total();
  CHECK(t.frames_pending == 0);
  CHECK(t.frames_handed == held + 1);
  CHECK(t.frames_handled == held + 1);
  CHECK(t.frames_dropped == 0);
  CHECK(t.frame_wait.count() == held + 1);
  CHECK(t.runs_on_loop == 0);
  CHECK(t.runs_on_worker > 0);
  CHECK_THAT(r.scrape(), Contains(sample("fastnet_actor_frames_pending", lb, 0)));
  r.remove_collector(id);
  c.close();  // else stop() lingers for the peer's FIN (close_linger)
  server.stop();
}

TEST_CASE("frames queued for an actor that quits are counted dropped, not pending",
          "[actors][metrics]") {
  const bool on_loops = GENERATE(true, false);
  INFO("run_on_loops " << on_loops);
  actor_env env;
  actors::server server(env.sys, local_lines(1, on_loops));
  server.spawn_per_connection([](caf::event_based_actor* self, connection_handle) {
    return caf::behavior{[self](received_atom, std::string&) { self->quit(); }};
  });
  server.start();
  {
    auto c = client_socket::connect(server.local_address());
    // One write: the loop cuts all three frames from one read, so the
    // actor quits on the first with the other two handed over.
    REQUIRE(c.write_all("quit\nlost1\nlost2\n"));
    std::string got;
    CHECK(c.read_to_end(got) == end_kind::eof);  // the connection ends with its actor
  }
  // Dropped frames are counted when the actor object goes, after its loop
  // let go of it: no event marks that moment.
  REQUIRE(eventually([&] {
    const auto t = server.stats().total();
    return t.frames_handed > 0 && t.frames_handed == t.frames_handled + t.frames_dropped;
  }));
  const auto t = server.stats().total();
  CHECK(t.frames_handed == server.reactor().stats().connections().frames_received);
  CHECK(t.frames_handed == 3);
  CHECK(t.frames_handled == 1);
  CHECK(t.frames_dropped == 2);
  CHECK(t.frames_pending == 0);
  CHECK(t.frame_wait.count() == 1);
  server.stop();
}

TEST_CASE("an actor client counts its frames, runs on workers, and scrapes valid text",
          "[actors][metrics][client]") {
  constexpr size_t m_frames = 40;
  auto got = std::make_shared<waitable_counter>();
  actor_env env;
  loop_thread lt;
  test_listener peer;
  actors::client_options copts;
  copts.net.address = peer.address();
  copts.net.codec = *make_codec_factory("line", 1024);
  actors::client cl(env.sys, lt.loop, copts,
                    [got](caf::event_based_actor*, client_handle) -> caf::behavior {
                      return {[got](received_atom, std::string&) { got->add(); }};
                    });
  auto conn = peer.accept();
  REQUIRE(conn);
  REQUIRE(conn->write_all(lines("x", m_frames)));
  REQUIRE(got->wait_for_at_least(static_cast<long>(m_frames)));
  const auto s = cl.stats();
  CHECK(s.frames_handed == m_frames);
  CHECK(s.frames_handled == m_frames);
  CHECK(s.frames_pending == 0);
  CHECK(s.frames_dropped == 0);
  CHECK(s.wakes >= 1);
  CHECK(s.runs_on_loop == 0);
  CHECK(s.runs_on_worker > 0);
  CHECK(s.frame_wait.count() == m_frames);

  metrics::registry r;
  const auto id = metrics::watch(r, cl, "peer");
  const std::string text = r.scrape();
  INFO(text);
  CHECK_THAT(text,
             Contains(sample("fastnet_actor_frames_handled_total", "client=\"peer\"", m_frames)));
  CHECK_THAT(text, Contains(sample("fastnet_actor_frame_wait_seconds_count", "client=\"peer\"",
                                   m_frames)));
  CHECK(value_of(text, "fastnet_received_frames_total", "client=\"peer\"") ==
        std::to_string(m_frames));
  check_promtool(text);
  r.remove_collector(id);
}

TEST_CASE("an actor server's own /metrics endpoint exports the actor families too",
          "[actors][metrics][endpoint]") {
  actor_env env;
  auto reg = std::make_shared<metrics::registry>();
  reg->make_counter("app_jobs_total", "Jobs done.").add(2);
  auto opts = local_lines(1, true);
  opts.net.metrics.address = *socket_address::ip("127.0.0.1", 0);
  opts.net.metrics.registry = reg;
  opts.net.metrics.name = "ep";
  actors::server server(env.sys, opts);
  server.spawn_per_connection(echo);
  server.start();
  auto c = client_socket::connect(server.local_address());
  REQUIRE(c.write_all("a\nb\nc\n"));
  REQUIRE(c.read_exact(6));

  auto m = client_socket::connect(server.reactor().metrics_address());
  REQUIRE(m.write_all("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::string got;
  CHECK(m.read_to_end(got) == end_kind::eof);
  INFO(got);
  REQUIRE(got.starts_with("HTTP/1.1 200 OK\r\n"));
  const std::string body = got.substr(got.find("\r\n\r\n") + 4);
  const std::string lb = "server=\"ep\",loop=\"0\"";
  CHECK_THAT(body, Contains("app_jobs_total 2\n"));
  CHECK(value_of(body, "fastnet_received_frames_total", lb) == "3");
  CHECK_THAT(body, Contains(sample("fastnet_actor_frames_handled_total", lb, 3)));
  CHECK_THAT(body, Contains(sample("fastnet_actor_frame_wait_seconds_count", lb, 3)));
  CHECK_THAT(body, Contains("# TYPE fastnet_actor_frame_wait_seconds histogram\n"));
  check_promtool(body);
  // The application's registry is left as it was: only its own metric.
  CHECK(reg->scrape().find("fastnet_actor") == std::string::npos);
  c.close();  // else stop() lingers for the peer's FIN (close_linger)
  server.stop();
}
