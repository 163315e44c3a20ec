// ws_echo_server — a WebSocket (RFC 6455) echo server: text comes back as
// text, binary as binary, on any path. GET /echo.html serves a small page
// that opens a WebSocket to the same port, for a browser.
//
//   ws_echo_server --port 9001 [--loops N] [--mode reactor|actors] [--backend epoll|io_uring|auto]
//                  [--max-message BYTES] [--frame-timeout SECONDS] [--log-level LEVEL]
//                  [--tls-cert FILE --tls-key FILE [--tls-ca FILE --tls-verify-client]]
//                  [--metrics-port P [--metrics-host 127.0.0.1]]
//
// With --tls-cert and --tls-key it serves wss:// (and the page over https);
// --metrics-port also answers GET /metrics with the server's statistics (in
// actor mode with the connection actors' too, fastnet_actor_*).
//
// Prints a line containing "listening" once it accepts; stops gracefully
// on SIGINT or SIGTERM.
#include <fastnet/actors/scheduler.hpp>
#include <fastnet/actors/server.hpp>
#include <fastnet/fastnet.hpp>
#include <fastnet/ws.hpp>

#include <caf/all.hpp>

#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <type_traits>

#include "backend_flag.hpp"
#include "log_flags.hpp"
#include "metrics_flags.hpp"
#include "tls_flags.hpp"

namespace {

constexpr const char* page = R"(<!doctype html>
<meta charset="utf-8"><title>fastnet ws echo</title>
<pre id="log"></pre>
<script>
const log = (s) => document.getElementById('log').textContent += s + '\n';
const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/`);
ws.onopen = () => { log('open'); ws.send('hello from the page'); };
ws.onmessage = (e) => log('echo: ' + e.data);
ws.onclose = (e) => log('closed ' + e.code);
</script>
)";

/// Echoes each message with its kind; the codec answers pings and closes.
class ws_echo final : public fastnet::tcp_handler {
 public:
  void on_message(const fastnet::connection_ptr& conn, std::span<const std::byte> frame) override {
    fastnet::frame_kind kind = conn->frame_kind();
    if (kind == fastnet::ws::kind::text || kind == fastnet::ws::kind::binary)
      conn->send(frame, kind);
  }
};

/// The same echo as a connection actor: frames of a WebSocket codec arrive
/// as (message_atom, kind, payload) and go back with their kind.
caf::behavior ws_echo_actor(caf::event_based_actor*, fastnet::actors::connection_handle conn) {
  return {[conn](fastnet::actors::message_atom, fastnet::frame_kind kind, std::string& payload) {
    if (kind == fastnet::ws::kind::text || kind == fastnet::ws::kind::binary)
      conn.send(std::move(payload), kind);
  }};
}

/// Starts `server`, prints the ready line, waits for SIGINT/SIGTERM, stops.
template <typename Server>
int serve(Server& server, const std::string& mode, size_t loops, size_t max_message,
          fastnet::stop_signals& stop) {
  try {
    server.start();
  } catch (const std::exception& e) {
    std::cerr << "ws_echo_server: " << e.what() << "\n";
    return 1;
  }
  std::printf("ws_echo_server listening on %s (mode=%s loops=%zu max-message=%zu)\n",
              server.local_address().to_string().c_str(), mode.c_str(), loops, max_message);
  const fastnet::tcp_server* reactor = nullptr;
  if constexpr (std::is_same_v<Server, fastnet::tcp_server>)
    reactor = &server;
  else
    reactor = &server.reactor();
  if (auto m = metrics_flags::listening_line(*reactor); !m.empty())
    std::printf("ws_echo_server %s\n", m.c_str());
  std::fflush(stdout);
  std::printf("ws_echo_server: %s, stopping\n", fastnet::stop_signals::name(stop.wait()));
  std::fflush(stdout);
  server.stop();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"fastnet WebSocket echo server"};
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  size_t loops = 0;
  std::string mode = "reactor";
  size_t max_message = 16 << 20;
  double frame_timeout = 60;
  app.add_option("--host", host, "address to listen on")->capture_default_str();
  app.add_option("--port", port, "port to listen on")->required();
  app.add_option("--loops", loops, "IO loop threads (0 = one per core)")->capture_default_str();
  fastnet::backend backend = fastnet::backend::automatic;
  add_backend_flag(app, backend);
  app.add_option("--mode", mode, "reactor: callbacks on the loops; actors: an actor per connection")
      ->check(CLI::IsMember({"reactor", "actors"}))
      ->capture_default_str();
  app.add_option("--max-message", max_message, "largest frame and message in bytes")
      ->capture_default_str();
  app.add_option("--frame-timeout", frame_timeout,
                 "close a connection whose frame or handshake, once begun, is not complete "
                 "after SECONDS (0 = never)")
      ->check(CLI::Range(0.0, 1e8))
      ->capture_default_str();
  add_log_level_flag(app);
  tls_flags tls;
  tls.add_to(app);
  metrics_flags metrics;
  metrics.add_to(app);
  CLI11_PARSE(app, argc, argv);

  auto addr = fastnet::socket_address::ip(host, port);
  if (!addr) {
    std::cerr << "bad address: " << host << "\n";
    return 2;
  }

  fastnet::ws::server_protocol_options ws;
  ws.path = "";  // any path
  ws.max_frame = max_message;
  ws.max_message = max_message;
  ws.page_path = "/echo.html";
  ws.page = page;
  fastnet::tcp_server_options opts;
  opts.address = *addr;
  opts.loops = loops;
  opts.backend = backend;
  opts.protocol = fastnet::ws::server_protocol_factory(std::move(ws));
  if (!tls.make(opts.transport)) return 2;
  if (!metrics.apply(opts, nullptr, "ws_echo")) return 2;
  opts.connection.frame_timeout =
      std::chrono::milliseconds(static_cast<long long>(std::ceil(frame_timeout * 1000)));
  // An echo of a 16 MiB message is queued whole when the peer reads slowly.
  opts.connection.max_output_bytes =
      std::max<size_t>(opts.connection.max_output_bytes, 4 * max_message + (1 << 20));

  fastnet::stop_signals stop;  // first: the threads started below inherit the blocked signals

  if (mode == "actors") {
    caf::actor_system_config cfg;
    fastnet::actors::apply(cfg);
    caf::actor_system sys{cfg};
    fastnet::actors::server_options aopts;
    aopts.net = opts;
    // A whole 16 MiB message is one frame: let the inbound budget hold it.
    aopts.max_inbound_bytes = std::max(aopts.max_inbound_bytes, 2 * max_message);
    fastnet::actors::server server(sys, aopts);
    server.spawn_per_connection(ws_echo_actor);
    return serve(server, mode, server.reactor().loops().size(), max_message, stop);
  }
  ws_echo handler;
  fastnet::tcp_server server(opts, handler);
  return serve(server, mode, server.loops().size(), max_message, stop);
}
