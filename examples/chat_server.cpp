// chat_server — a line-based TCP chat with rooms, one actor per connection.
//
//   chat_server --port 9000 [--ws-port 9080] [--host 0.0.0.0] [--loops N]
//               [--backend epoll|io_uring|auto]
//               [--log-level LEVEL] [--tls-cert FILE --tls-key FILE [--tls-ca FILE
//               --tls-verify-client]] [--metrics-port P [--metrics-host 127.0.0.1]]
//
// Try it with two terminals running `nc 127.0.0.1 9000`:
//   hello            everyone in your room gets "guest1: hello" (you too)
//   /nick alice      rename ("* guest1 is now alice")
//   /join rust       move to room "rust" (made on demand)
//   /who             list the nicks in your room
//   /quit            "bye", and the connection closes
//
// With --ws-port, browsers join the same rooms: open http://127.0.0.1:9080/
// (a small page whose WebSocket sends and shows lines; commands work too).
// With --tls-cert and --tls-key both ports speak TLS: the page is served
// over https and connects with wss://, and the line chat takes
// `openssl s_client -quiet -connect 127.0.0.1:9000` instead of nc.
//
// The chat itself (rooms, directory, member actors, the protocol) is in
// chat_room.hpp, shared with tests/chat_test.cpp. This file is the program
// around it: flags, the actor system, the server, and a graceful stop on
// SIGINT or SIGTERM (connections flush and close, every actor exits).
#include <fastnet/actors/metrics.hpp>
#include <fastnet/actors/scheduler.hpp>
#include <fastnet/actors/server.hpp>
#include <fastnet/fastnet.hpp>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <optional>

#include "backend_flag.hpp"
#include "chat_room.hpp"
#include "log_flags.hpp"
#include "metrics_flags.hpp"
#include "tls_flags.hpp"

namespace {

/// The page served at GET / on the WebSocket port: one WebSocket to /chat on
/// the same host, a line per message both ways. body[data-state] tells a
/// test (or a curious reader) when the socket is open.
constexpr const char* chat_page = R"(<!doctype html>
<meta charset="utf-8"><title>fastnet chat</title>
<ul id="log"></ul>
<form id="form"><input id="line" autocomplete="off" autofocus> <button>send</button></form>
<script>
const log = document.getElementById('log');
const show = (text) => {
  const item = document.createElement('li');
  item.textContent = text;  // never parsed as HTML
  log.append(item);
};
const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/chat`);
ws.onopen = () => { document.body.dataset.state = 'open'; };
ws.onmessage = (e) => show(e.data);
ws.onclose = (e) => { show(`* disconnected (${e.code})`); document.body.dataset.state = 'closed'; };
document.getElementById('form').onsubmit = (e) => {
  e.preventDefault();
  const line = document.getElementById('line');
  if (line.value) ws.send(line.value);
  line.value = '';
};
</script>
)";

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"fastnet chat server"};
  std::string host = "0.0.0.0";
  uint16_t port = 0;
  std::optional<uint16_t> ws_port;
  size_t loops = 0;
  app.add_option("--host", host, "address to listen on")->capture_default_str();
  app.add_option("--port", port, "port to listen on")->required();
  app.add_option("--ws-port", ws_port, "also serve the chat over WebSocket (and its page) here");
  app.add_option("--loops", loops, "IO loop threads (0 = one per core)")->capture_default_str();
  fastnet::backend backend = fastnet::backend::automatic;
  add_backend_flag(app, backend);
  add_log_level_flag(app);
  tls_flags tls;
  tls.add_to(app);
  metrics_flags metrics;
  metrics.add_to(app);
  CLI11_PARSE(app, argc, argv);
  fastnet::transport_factory transport;
  if (!tls.make(transport)) return 2;

  auto addr = fastnet::socket_address::ip(host, port);
  if (!addr) {
    std::cerr << "bad address: " << host << "\n";
    return 2;
  }

  fastnet::stop_signals stop;  // first: CAF's threads and the loops inherit the blocked signals

  caf::actor_system_config cfg;
  fastnet::actors::apply(cfg);
  caf::actor_system sys{cfg};
  // Declared after `sys`, so both are gone before ~actor_system waits for actors.
  auto line_opts = chat::chat_server_options(*addr, loops);
  line_opts.net.transport = transport;
  line_opts.net.backend = backend;
  // One endpoint for both servers: the WebSocket server's statistics join
  // through the registry (label server="chat_ws").
  auto registry = std::make_shared<fastnet::metrics::registry>();
  if (!metrics.apply(line_opts.net, registry, "chat")) return 2;
  fastnet::actors::server server(sys, line_opts);
  chat::chat_service chat = chat::install_chat(server, sys);
  // Browsers: a second server whose member actors use the same directory,
  // so a tab and a TCP client in one room see each other's lines.
  std::optional<fastnet::actors::server> ws_server;
  if (ws_port) {
    auto ws_addr = fastnet::socket_address::ip(host, *ws_port);
    auto ws_opts = chat::chat_ws_server_options(*ws_addr, chat_page, loops);
    ws_opts.net.transport = transport;
    ws_opts.net.backend = backend;
    ws_server.emplace(sys, ws_opts);
    ws_server->spawn_per_connection(chat::ws_member_behavior(chat.directory()));
    fastnet::metrics::watch(*registry, *ws_server, "chat_ws");
  }
  try {
    server.start();
  } catch (const std::exception& e) {
    std::cerr << "chat_server: " << e.what() << "\n";
    return 1;  // no connection yet: ~chat_service ends the directory
  }
  try {
    if (ws_server) ws_server->start();
  } catch (const std::exception& e) {
    std::cerr << "chat_server: websocket: " << e.what() << "\n";
    server.stop();
    return 1;  // ~chat_service ends the directory
  }
  if (ws_server)
    std::printf("chat_server websocket on %s (page: %s://%s/)\n",
                ws_server->local_address().to_string().c_str(), transport ? "https" : "http",
                ws_server->local_address().to_string().c_str());
  // Last: the line a caller waits for means both ports accept.
  if (auto m = metrics_flags::listening_line(server.reactor()); !m.empty())
    std::printf("chat_server %s\n", m.c_str());
  std::printf("chat_server listening on %s (loops=%zu)\n",
              server.local_address().to_string().c_str(), server.reactor().loops().size());
  std::fflush(stdout);

  const int sig = stop.wait();
  std::printf("chat_server: %s, stopping (%zu connections)\n", fastnet::stop_signals::name(sig),
              server.connection_count());
  std::fflush(stdout);
  if (ws_server) ws_server->stop();
  server.stop();    // every connection flushes and closes; member actors exit
  chat.shutdown();  // the directory and every room exit (returns when they have)
  // No actor may still hold a connection handle when the server is
  // destroyed: wait until every actor has ended.
  sys.await_all_actors_done();
  std::printf("chat_server: stopped\n");
  return 0;
}
