// actor_echo_server — echo with one CAF actor per connection: the loop
// thread reads and frames, the connection's actor answers through its
// handle, and the reply goes out on the loop that owns the socket.
//
//   actor_echo_server [--host 127.0.0.1] [--port 1833]
#include <fastnet/actors/scheduler.hpp>
#include <fastnet/actors/server.hpp>
#include <fastnet/stop_signals.hpp>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>
#include "listen_flags.hpp"

using namespace fastnet::actors;

caf::behavior echo(caf::event_based_actor*, connection_handle conn) {
  return {
      [conn](received_atom, std::string& frame) { conn.send(std::move(frame)); },  // moved
      [conn](peer_closed_atom) { conn.close(); },  // the peer sent all it will send
      [](closed_atom, fastnet::close_reason) {},   // the last message: the actor quits after it
  };
}

int main(int argc, char** argv) try {
  fastnet::stop_signals stop;  // first: CAF's threads and the loops inherit the blocked signals
  listen_flags listen;
  CLI::App app{"echo, one actor per connection"};
  listen.add_to(app);
  CLI11_PARSE(app, argc, argv);

  caf::actor_system_config cfg;
  apply(cfg);  // fastnet's scheduler settings: work sharing, one worker per core
  caf::actor_system sys{cfg};
  server_options opts;  // opts.net: address, loops, codec, limits (a tcp_server's options)
  opts.net.address = listen.address();
  server srv{sys, opts};
  srv.spawn_per_connection(echo);
  srv.start();
  std::printf("actor_echo_server listening on %s\n", srv.local_address().to_string().c_str());
  std::fflush(stdout);
  int sig = stop.wait();
  std::printf("actor_echo_server: %s, stopping\n", fastnet::stop_signals::name(sig));
  srv.stop();  // closes every connection, so every connection actor exits
} catch (const std::exception& e) {
  std::fprintf(stderr, "actor_echo_server: %s\n", e.what());
  return 1;
}
