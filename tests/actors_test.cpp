// Per-connection actors over real sockets and a real actor_system: echo
// byte for byte, order, inbound budget backpressure, write_blocked /
// write_resumed, an actor that throws, peer close, stop() with thousands of
// connections.
#include <catch2/catch.hpp>
#include <fastnet/actors/callback_adapter.hpp>
#include <fastnet/actors/client.hpp>
#include <fastnet/actors/scheduler.hpp>
#include <fastnet/actors/server.hpp>
#include <fastnet/codecs.hpp>
#include <fastnet/ws.hpp>

#include <caf/all.hpp>
#include <caf/policy/work_sharing.hpp>
#include <caf/scheduler/coordinator.hpp>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "support/actor_env.hpp"
#include "support/gate.hpp"
#include "support/test_socket.hpp"
#include "support/ws_wire.hpp"

using namespace fastnet;
using namespace fastnet::actors;
using namespace fastnet::test;

namespace {

actors::server_options local(size_t loops = 2) {
  actors::server_options o;
  o.net.address = *socket_address::ip("127.0.0.1", 0);
  o.net.loops = loops;
  return o;
}

caf::behavior echo(caf::event_based_actor*, connection_handle conn) {
  return {[conn](received_atom, std::string& frame) { conn.send(std::move(frame)); }};
}

using test_stop_atom = caf::atom_constant<caf::atom("tstop")>;

// A string literal must pick one overload (it was ambiguous between
// std::string_view and std::span once).
static_assert(requires(const connection_handle& h) { h.send("literal"); });

}  // namespace

TEST_CASE("apply() selects work sharing with one worker per core", "[actors]") {
  actor_env env;
  auto& sched = env.sys.scheduler();
  CHECK(dynamic_cast<caf::scheduler::coordinator<caf::policy::work_sharing>*>(&sched) != nullptr);
  CHECK(sched.num_workers() == std::max(1u, std::thread::hardware_concurrency()));
}

TEST_CASE("an actor that exits with a timeout pending is released by the clock", "[actors]") {
  // apply() filters CAF's per-exit timeout cancel to the actors that set a
  // timeout. A pending timeout holds a strong reference in the clock: if the
  // cancel of such an actor were filtered out, the actor would stay alive
  // for the hour below (3600 s) and its address would stay valid.
  actor_env env;
  caf::scoped_actor self{env.sys};
  auto silent = env.sys.spawn(
      [](caf::event_based_actor*, int) -> caf::behavior {
        return {[](const std::string&) {}};  // never answers
      },
      0);
  const bool request_timeout = GENERATE(false, true);
  INFO((request_timeout ? "request timeout" : "receive timeout"));
  auto waiting = env.sys.spawn(
      [request_timeout, silent](caf::event_based_actor* a, int) -> caf::behavior {
        if (request_timeout)
          a->request(silent, std::chrono::seconds(3600), std::string("?")).then([] {});
        caf::behavior b{[a](test_stop_atom) { a->quit(); }};
        if (!request_timeout)
          b = caf::behavior{[a](test_stop_atom) { a->quit(); },
                            caf::after(std::chrono::seconds(3600)) >> [] {}};
        return b;
      },
      0);
  caf::actor_addr addr = waiting.address();
  self->monitor(waiting);
  self->send(waiting, test_stop_atom::value);
  waiting = nullptr;
  bool down = false;
  self->receive([&](const caf::down_msg&) { down = true; },
                caf::after(std::chrono::seconds(10)) >> [] {});
  REQUIRE(down);
  // The clock thread drops its reference when it handles the cancel; there
  // is no event to wait on, so poll, bounded.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (caf::actor_cast<caf::actor>(addr) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  CHECK(!caf::actor_cast<caf::actor>(addr));
  anon_send_exit(silent, caf::exit_reason::user_shutdown);
}

TEST_CASE("actors echo byte for byte across sizes and connections", "[actors]") {
  actor_env env;
  auto opts = local();
  opts.run_on_loops = GENERATE(true, false);  // woken on the loop thread, or on CAF workers
  INFO("run_on_loops " << opts.run_on_loops);
  actors::server srv(env.sys, opts);
  srv.spawn_per_connection(echo);
  srv.start();
  for (size_t size : {size_t{1}, size_t{100}, size_t{65536}, size_t{3} << 20}) {
    std::vector<client_socket> clients;
    for (int i = 0; i < 20; ++i)
      clients.push_back(client_socket::connect(srv.local_address()));
    std::vector<std::string> sent;
    std::vector<std::thread> writers;
    std::vector<char> wrote(clients.size(), 0);
    for (size_t i = 0; i < clients.size(); ++i) {
      sent.push_back(random_bytes(size, static_cast<uint32_t>(size + i)));
    }
    for (size_t i = 0; i < clients.size(); ++i)
      writers.emplace_back([&, i] { wrote[i] = clients[i].write_all(sent[i], 30s); });
    std::vector<std::optional<std::string>> got(clients.size());
    for (size_t i = 0; i < clients.size(); ++i)
      got[i] = clients[i].read_exact(size, 30s);
    for (auto& w : writers)
      w.join();
    for (size_t i = 0; i < clients.size(); ++i) {
      INFO("size " << size << " client " << i);
      REQUIRE(wrote[i]);
      REQUIRE(got[i].has_value());
      CHECK(*got[i] == sent[i]);
    }
  }
}

TEST_CASE("actors keep per-connection order of frames and replies", "[actors]") {
  actor_env env;
  auto opts = local();
  opts.run_on_loops = GENERATE(true, false);
  INFO("run_on_loops " << opts.run_on_loops);
  opts.net.codec = *make_codec_factory("line", 1024);
  actors::server srv(env.sys, opts);
  // Replies with a running count, so a reordered or lost line is visible.
  srv.spawn_per_connection([](caf::event_based_actor*, connection_handle conn) -> caf::behavior {
    auto n = std::make_shared<long>(0);
    return {[conn, n](received_atom, std::string& line) {
      conn.send(std::to_string((*n)++) + ":" + line);
    }};
  });
  srv.start();
  auto c = client_socket::connect(srv.local_address());
  std::string all, expected;
  for (int i = 0; i < 5000; ++i) {
    // Appends piece by piece: GCC 12 warns falsely (-Wrestrict) on "m" + to_string().
    std::string n = std::to_string(i);
    all.append("m").append(n).append("\n");
    expected.append(n).append(":m").append(n).append("\n");
  }
  bool wrote = false;
  std::thread writer([&] { wrote = c.write_all(all); });
  auto got = c.read_exact(expected.size(), 30s);
  writer.join();
  REQUIRE(wrote);
  REQUIRE(got.has_value());
  CHECK(*got == expected);
}

TEST_CASE("a slow actor makes the loop stop reading, reading resumes when it catches up",
          "[actors][backpressure]") {
  actor_env env;
  auto opts = local(1);
  opts.max_inbound_bytes = 256 * 1024;
  gate slow;
  std::atomic<size_t> handled{0};
  actors::server srv(env.sys, opts);
  srv.spawn_per_connection([&](caf::event_based_actor*, connection_handle conn) -> caf::behavior {
    return {[&, conn](received_atom, std::string& frame) {
      slow.wait();  // blocks until the test opens the gate
      handled += frame.size();
      conn.send(std::move(frame));
    }};
  });
  srv.start();
  auto c = client_socket::connect(srv.local_address());
  c.set_recv_buffer(64 * 1024);
  std::string chunk = random_bytes(64 * 1024, 7);
  size_t sent = 0;
  // The client's writes stall once the budget is used up and kernel buffers
  // fill: the server stopped reading. Had it kept reading, this would not end.
  while (c.write_all(chunk, 2s)) {
    sent += chunk.size();
    REQUIRE(sent < (256u << 20));
  }
  CHECK(handled.load() == 0);
  slow.open();
  c.shutdown_write();
  std::string echoed;
  CHECK(c.read_to_end(echoed, 60s) == end_kind::eof);
  REQUIRE(echoed.size() >= sent);
  for (size_t off = 0; off < sent; off += chunk.size())
    REQUIRE(echoed.compare(off, chunk.size(), chunk) == 0);
}

TEST_CASE("a slow reader: the actor gets write_blocked, then write_resumed",
          "[actors][backpressure]") {
  actor_env env;
  auto opts = local(1);
  opts.net.connection.high_water_mark = 256 * 1024;
  opts.net.connection.low_water_mark = 64 * 1024;
  opts.net.socket.send_buffer = 32 * 1024;
  caf::scoped_actor probe{env.sys};
  caf::actor probe_handle = probe;
  actors::server srv(env.sys, opts);
  srv.spawn_per_connection(
      [probe_handle](caf::event_based_actor*, connection_handle conn) -> caf::behavior {
        return {
            [conn](connected_atom, uint64_t, const std::string&) {
              conn.send(std::string(4 << 20, 'b'));
            },
            [probe_handle](write_blocked_atom, size_t) {
              caf::anon_send(probe_handle, write_blocked_atom::value, size_t{0});
            },
            [probe_handle](write_resumed_atom, size_t) {
              caf::anon_send(probe_handle, write_resumed_atom::value, size_t{0});
            },
        };
      });
  srv.start();
  auto c = client_socket::connect(srv.local_address());
  c.set_recv_buffer(32 * 1024);
  bool blocked = false;
  probe->receive([&](write_blocked_atom, size_t) { blocked = true; },
                 caf::after(std::chrono::seconds(10)) >> [] {});
  REQUIRE(blocked);
  auto got = c.read_exact(4 << 20, 30s);
  REQUIRE(got.has_value());
  bool resumed = false;
  probe->receive([&](write_resumed_atom, size_t) { resumed = true; },
                 caf::after(std::chrono::seconds(10)) >> [] {});
  CHECK(resumed);
}

TEST_CASE("an actor that throws closes its socket", "[actors]") {
  actor_env env;
  actors::server srv(env.sys, local(1));
  srv.spawn_per_connection([](caf::event_based_actor* self, connection_handle) -> caf::behavior {
    // Quiet: the exception is the point of the test.
    self->set_exception_handler([](caf::scheduled_actor*, std::exception_ptr&) -> caf::error {
      return caf::exit_reason::user_shutdown;
    });
    return {[](received_atom, std::string&) { throw std::runtime_error("boom"); }};
  });
  srv.start();
  auto c = client_socket::connect(srv.local_address());
  REQUIRE(c.write_all("x"));
  std::string rest;
  CHECK(c.read_to_end(rest, 10s) == end_kind::eof);
  CHECK(rest.empty());
}

TEST_CASE("peer close: the actor gets closed and exits", "[actors]") {
  actor_env env;
  caf::scoped_actor probe{env.sys};
  caf::actor probe_handle = probe;
  actors::server srv(env.sys, local(1));
  srv.spawn_per_connection(
      [probe_handle](caf::event_based_actor* self, connection_handle) -> caf::behavior {
        caf::anon_send(probe_handle, caf::actor_cast<caf::actor>(self));
        return {[probe_handle](closed_atom, close_reason why) {
          caf::anon_send(probe_handle, closed_atom::value, why);
        }};
      });
  srv.start();
  auto c = client_socket::connect(srv.local_address());
  caf::actor conn_actor;
  probe->receive([&](caf::actor& a) { conn_actor = a; },
                 caf::after(std::chrono::seconds(10)) >> [] {});
  REQUIRE(conn_actor);
  probe->monitor(conn_actor);
  c.close();
  std::optional<close_reason> reason;
  probe->receive([&](closed_atom, close_reason why) { reason = why; },
                 caf::after(std::chrono::seconds(10)) >> [] {});
  REQUIRE(reason.has_value());
  CHECK(*reason == close_reason::peer_closed);
  bool down = false;
  probe->receive([&](caf::down_msg&) { down = true; },
                 caf::after(std::chrono::seconds(10)) >> [] {});
  CHECK(down);
}

TEST_CASE("stop() with 2000 connections: every connection actor exits", "[actors]") {
  raise_nofile();
  actor_env env;
  waitable_counter started, exited;
  actors::server srv(env.sys, local(2));
  srv.spawn_per_connection(
      [&](caf::event_based_actor* self, connection_handle conn) -> caf::behavior {
        started.add();
        self->attach_functor([&](const caf::error&) { exited.add(); });
        return echo(self, conn);
      });
  srv.start();
  std::vector<client_socket> clients;
  for (int i = 0; i < 2000; ++i)
    clients.push_back(client_socket::connect(srv.local_address()));
  REQUIRE(started.wait_for_at_least(2000, 30s));
  srv.stop();
  CHECK(srv.connection_count() == 0);
  REQUIRE(exited.wait_for_at_least(2000, 30s));
  CHECK(exited.value() == 2000);
}

TEST_CASE("handles held by other actors stay safe while the server stops and is destroyed",
          "[actors]") {
  // Actors outside the server keep sending on connection handles while the
  // server stops and goes away; their calls must fail cleanly (ASan in CI
  // makes a touch of a freed loop visible).
  actor_env env;
  std::atomic<bool> server_gone{false};
  std::atomic<bool> accepted_after{false};
  waitable_counter handed, finished;
  auto spammer = [&](caf::event_based_actor* self, int) -> caf::behavior {
    return {[&, self](connection_handle& h) {
              handed.add();
              self->send(self, h, 0, 0);
            },
            [&, self](connection_handle& h, int iter, int after_gone) {
              bool gone = server_gone.load();
              // The clients never read: keep queued output small.
              bool ok = (gone || h.pending_output() < 64 * 1024) && h.send(std::string(64, 'x'));
              if (iter % 8 == 0) {  // control calls are not byte-bounded: pace them
                h.pause_reading();
                h.resume_reading();
              }
              if (gone && ok) accepted_after = true;
              if (gone && after_gone >= 100) {
                finished.add();
                self->quit();
                return;
              }
              self->send(self, h, iter + 1, gone ? after_gone + 1 : 0);
            }};
  };
  std::vector<caf::actor> spammers;
  for (int i = 0; i < 4; ++i)
    spammers.push_back(env.sys.spawn(spammer, i));
  auto opts = local(2);
  opts.net.stop_timeout = 500ms;  // the clients never close: do not wait long for them
  auto srv = std::make_unique<actors::server>(env.sys, opts);
  std::atomic<size_t> next{0};
  srv->spawn_per_connection(
      [&](caf::event_based_actor* self, connection_handle conn) -> caf::behavior {
        self->send(spammers[next++ % spammers.size()], conn);
        return echo(self, conn);
      });
  srv->start();
  std::vector<client_socket> clients;
  for (int i = 0; i < 8; ++i)
    clients.push_back(client_socket::connect(srv->local_address()));
  REQUIRE(handed.wait_for_at_least(8));
  srv->stop();
  srv.reset();
  server_gone = true;
  REQUIRE(finished.wait_for_at_least(4));  // one per spammer: its first chain to finish quits it
  CHECK_FALSE(accepted_after.load());
}

TEST_CASE("sends from a handle shared with another actor arrive in order", "[actors]") {
  // The connection actor hands its handle to a helper actor that writes
  // the reply in several sends; each batch runs on whichever worker is free.
  actor_env env;
  auto opts = local(1);
  opts.net.codec = *make_codec_factory("line", 1024);
  actors::server srv(env.sys, opts);
  srv.spawn_per_connection(
      [](caf::event_based_actor* self, connection_handle conn) -> caf::behavior {
        // Spawned with an argument: CAF 0.17's init_fun_factory dereferences a
        // null argument tuple for argument-less function actors (UBSan reports it).
        auto writer = self->spawn(
            [](caf::event_based_actor*, connection_handle out) -> caf::behavior {
              return {[out](int i) { out.send(std::to_string(i)); }};
            },
            conn);
        return {[self, writer](received_atom, std::string&) {
          for (int i = 0; i < 2000; ++i)
            self->send(writer, i);
        }};
      });
  srv.start();
  auto c = client_socket::connect(srv.local_address());
  REQUIRE(c.write_all("go\n"));
  std::string expected;
  for (int i = 0; i < 2000; ++i)
    expected += std::to_string(i) + "\n";
  auto got = c.read_exact(expected.size(), 30s);
  REQUIRE(got.has_value());
  CHECK(*got == expected);
}

TEST_CASE("a reactor callback handler runs as a connection actor through the adapter", "[actors]") {
  // The seed's handler shape: count connections, echo, count closes.
  struct seed_handler final : tcp_handler {
    waitable_counter connects, closes;
    void on_connect(const connection_ptr&) override { connects.add(); }
    void on_message(const connection_ptr& c, std::span<const std::byte> frame) override {
      c->send(frame);
    }
    void on_close(const connection_ptr&, close_reason) override { closes.add(); }
  };
  auto handler = std::make_shared<seed_handler>();
  actor_env env;
  actors::server srv(env.sys, local(1));
  srv.spawn_per_connection(from_handler(handler));
  srv.start();
  {
    auto c = client_socket::connect(srv.local_address());
    REQUIRE(handler->connects.wait_for_at_least(1));
    std::string msg = random_bytes(100000, 3);
    bool wrote = false;
    std::thread writer([&] { wrote = c.write_all(msg); });
    auto got = c.read_exact(msg.size());
    writer.join();
    REQUIRE(wrote);
    REQUIRE(got.has_value());
    CHECK(*got == msg);
  }
  REQUIRE(handler->closes.wait_for_at_least(1));
}

TEST_CASE("WebSocket frames reach actors with their kind, and go back with it", "[actors][ws]") {
  actor_env env;
  auto opts = local(1);
  opts.net.protocol = ws::server_protocol_factory({});
  actors::server srv(env.sys, opts);
  srv.spawn_per_connection([](caf::event_based_actor*, connection_handle conn) -> caf::behavior {
    return {[conn](message_atom, frame_kind kind, std::string& payload) {
      if (kind == ws::kind::text || kind == ws::kind::binary) conn.send(std::move(payload), kind);
    }};
  });
  srv.start();
  auto c = client_socket::connect(srv.local_address());
  REQUIRE(c.write_all(upgrade_request()));
  CHECK(read_http_head(c).starts_with("HTTP/1.1 101"));
  std::string binary("\x00\xff\x01", 3);
  raw_frame text_frame, binary_frame;
  text_frame.opcode = wire_op::text;
  text_frame.payload = "hello";
  binary_frame.opcode = wire_op::binary;
  binary_frame.payload = binary;
  REQUIRE(c.write_all(encode_raw(text_frame) + encode_raw(binary_frame)));
  auto first = read_server_frame(c);
  auto second = read_server_frame(c);
  REQUIRE(first.has_value());
  REQUIRE(second.has_value());
  CHECK(first->opcode == 1);
  CHECK(first->payload == "hello");
  CHECK(second->opcode == 2);
  CHECK(second->payload == binary);
}

TEST_CASE("a client actor keeps frames while disconnected and reconnects with back-off",
          "[actors][client]") {
  actor_env env;
  caf::scoped_actor probe{env.sys};
  caf::actor to_probe = probe;
  event_loop loop;
  std::thread loop_thread([&] { loop.run(); });

  recording_echo echo_handler;
  fastnet::tcp_server_options sopts;
  sopts.address = *socket_address::ip("127.0.0.1", 0);
  sopts.loops = 1;
  sopts.codec = *make_codec_factory("line", 1024);
  auto first = std::make_unique<tcp_server>(sopts, echo_handler);
  first->start();
  sopts.address = first->local_address();  // the second server takes the same port

  actors::client_options copts;
  copts.net.address = first->local_address();
  copts.net.codec = *make_codec_factory("line", 1024);
  copts.net.retry_initial = 20ms;
  copts.net.retry_max = 200ms;
  auto cl = std::make_unique<actors::client>(
      env.sys, loop, copts,
      [to_probe](caf::event_based_actor*, client_handle out) -> caf::behavior {
        out.send("early");  // before any connection: kept, sent on connect
        return {
            [to_probe](connected_atom, uint64_t, const std::string&) {
              caf::anon_send(to_probe, connected_atom::value);
            },
            [to_probe](received_atom, std::string& line) { caf::anon_send(to_probe, line); },
            [to_probe, out](closed_atom, close_reason) {
              out.send("while-down");  // the connection is gone: kept for the next
              caf::anon_send(to_probe, closed_atom::value, out.pending_bytes());
            },
        };
      });
  auto expect_line = [&](const std::string& want) {
    std::string got;
    probe->receive([&](std::string& s) { got = s; }, [&](connected_atom) { got = "connected"; },
                   caf::after(std::chrono::seconds(10)) >> [] {});
    return got == want;
  };
  CHECK(expect_line("connected"));
  CHECK(expect_line("early"));

  first->stop();
  first.reset();
  size_t pending = 0;
  probe->receive([&](closed_atom, size_t n) { pending = n; },
                 caf::after(std::chrono::seconds(10)) >> [] {});
  CHECK(pending == std::string("while-down").size());

  tcp_server second(sopts, echo_handler);
  second.start();
  CHECK(expect_line("connected"));
  CHECK(expect_line("while-down"));

  cl.reset();
  loop.quit();
  loop_thread.join();
}

TEST_CASE("a slow client actor makes its loop stop reading, reading resumes when it catches up",
          "[actors][client][backpressure]") {
  actor_env env;
  // Shared with the actor by value: it may outlive this scope when a
  // REQUIRE fails, until the actor system shuts down.
  struct shared {
    gate slow;
    std::mutex mutex;
    std::string received;  // every frame, in delivery order
    gate closed;
  };
  auto st = std::make_shared<shared>();
  struct cleanup {  // on any exit: let the actor go, stop the loop
    shared& st;
    event_loop& loop;
    std::thread& thread;
    ~cleanup() {
      st.slow.open();
      loop.quit();
      if (thread.joinable()) thread.join();
    }
  };
  event_loop loop;
  std::thread loop_thread([&] { loop.run(); });
  cleanup on_exit{*st, loop, loop_thread};
  test_listener peer;
  actors::client_options copts;
  copts.net.address = peer.address();
  copts.net.codec = *make_codec_factory("raw", 1 << 20);
  copts.max_inbound_bytes = 256 * 1024;
  auto cl = std::make_unique<actors::client>(
      env.sys, loop, copts, [st](caf::event_based_actor*, client_handle) -> caf::behavior {
        return {
            [st](received_atom, std::string& frame) {
              st->slow.wait();  // blocks until the test opens the gate
              std::lock_guard lock(st->mutex);
              st->received += frame;
            },
            [st](closed_atom, close_reason) { st->closed.open(); },
        };
      });
  auto conn = peer.accept();
  REQUIRE(conn.has_value());
  std::string chunk = random_bytes(64 * 1024, 9);
  size_t sent = 0;
  // The peer's writes stall once the budget is used up and kernel buffers
  // fill: the client stopped reading. Had it kept reading, this would not end.
  while (conn->write_all(chunk, 2s)) {
    sent += chunk.size();
    REQUIRE(sent < (256u << 20));
  }
  {
    std::lock_guard lock(st->mutex);
    CHECK(st->received.empty());
  }
  st->slow.open();
  // Caught up, the client reads again: one more chunk goes through, then the
  // peer closes. Every byte arrives, in order, before `closed`.
  CHECK(conn->write_all(chunk, 10s));
  conn->close();
  REQUIRE(st->closed.wait_for(30s));
  std::lock_guard lock(st->mutex);
  const std::string& got = st->received;
  // n whole chunks, the part of one the stalled write got out, one more chunk.
  REQUIRE(got.size() >= sent + chunk.size());
  const size_t partial = got.size() - sent - chunk.size();
  REQUIRE(partial < chunk.size());
  for (size_t off = 0; off < sent; off += chunk.size())
    REQUIRE(got.compare(off, chunk.size(), chunk) == 0);
  CHECK(got.compare(sent, partial, chunk, 0, partial) == 0);
  CHECK(got.compare(sent + partial, chunk.size(), chunk) == 0);
  cl.reset();
}
