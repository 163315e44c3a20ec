// Builds against an installed fastnet::actors: one actor per connection
// echoes one line. Prints "consumer actors ok" on success.
#include <fastnet/actors/scheduler.hpp>
#include <fastnet/actors/server.hpp>
#include <fastnet/codecs.hpp>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <cstdio>
#include <string>

int main() {
  caf::actor_system_config cfg;
  fastnet::actors::apply(cfg);
  caf::actor_system sys{cfg};
  fastnet::actors::server_options opts;
  opts.net.address = *fastnet::socket_address::ip("127.0.0.1", 0);
  opts.net.loops = 1;
  opts.net.codec = *fastnet::make_codec_factory("line", 1024);
  fastnet::actors::server server(sys, opts);
  server.spawn_per_connection([](caf::event_based_actor*, fastnet::actors::connection_handle c) {
    return caf::behavior{
        [c](fastnet::actors::received_atom, std::string& line) { c.send(std::move(line)); }};
  });
  server.start();
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  auto addr = server.local_address();
  if (::connect(fd, addr.data(), addr.size()) != 0) return 1;
  std::string msg = "hello actors\n";
  if (::write(fd, msg.data(), msg.size()) != static_cast<ssize_t>(msg.size())) return 1;
  std::string got;
  char ch = 0;
  while (got.size() < msg.size() && ::read(fd, &ch, 1) == 1)
    got.push_back(ch);
  ::close(fd);
  server.stop();
  if (got != msg) return 1;
  std::puts("consumer actors ok");
  return 0;
}
