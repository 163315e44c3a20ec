// echo_server — the smallest fastnet server: one handler whose callbacks run
// on the loop thread that owns each connection, replying with what came in.
//
//   echo_server [--host 127.0.0.1] [--port 1833]
//   then: nc 127.0.0.1 1833
#include <fastnet/fastnet.hpp>

#include <CLI/CLI.hpp>
#include <cstdio>
#include "listen_flags.hpp"

// One handler serves every connection; its callbacks run on each connection's loop thread.
class echo final : public fastnet::tcp_handler {
 public:
  void on_message(const fastnet::connection_ptr& conn, std::span<const std::byte> data) override {
    conn->send(data);  // copied into the connection's output ring: `data` is only lent
  }
};

int main(int argc, char** argv) try {
  fastnet::stop_signals stop;  // SIGINT/SIGTERM: blocked before any thread starts
  listen_flags listen;
  CLI::App app{"echo with callbacks"};
  listen.add_to(app);
  CLI11_PARSE(app, argc, argv);

  echo handler;
  fastnet::tcp_server_options opts;  // one loop per core, raw bytes (no framing)
  opts.address = listen.address();
  fastnet::tcp_server server(opts, handler);
  server.start();
  std::printf("echo_server listening on %s\n", server.local_address().to_string().c_str());
  std::fflush(stdout);
  int sig = stop.wait();
  std::printf("echo_server: %s, stopping\n", fastnet::stop_signals::name(sig));
  server.stop();  // stop accepting, flush what is queued, close, join the loops
} catch (const std::exception& e) {
  std::fprintf(stderr, "echo_server: %s\n", e.what());
  return 1;
}
