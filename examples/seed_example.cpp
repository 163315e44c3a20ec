// seed_example — the example of the Go library fastnet grew from, carried
// over line for line: an echo server whose handler counts its connections,
// printed every two seconds by a server timer (the seed's RunEvery).
//
//   seed_example [--port 1833] [--loops N] [--host 127.0.0.1]
#include <fastnet/fastnet.hpp>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cstdio>
#include "listen_flags.hpp"

// example implements the handler's callbacks.
class example final : public fastnet::tcp_handler {
 public:
  std::atomic<long> count{0};

  void on_connect(const fastnet::connection_ptr&) override { count.fetch_add(1); }
  void on_message(const fastnet::connection_ptr& conn, std::span<const std::byte> data) override {
    conn->send(data);  // out = data
  }
  void on_close(const fastnet::connection_ptr&, fastnet::close_reason) override {
    count.fetch_sub(1);
  }
};

int main(int argc, char** argv) try {
  fastnet::stop_signals stop;  // first: the server's threads inherit the blocked signals
  example handler;
  listen_flags listen;
  size_t loops = 0;

  CLI::App app{"the seed's example: echo, and the connection count every 2 s"};
  listen.add_to(app);
  app.add_option("--loops", loops, "num loops (0: one per core)")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  // A server whose loops share the connections.
  fastnet::tcp_server_options opts;
  opts.address = listen.address();
  opts.loops = loops;
  fastnet::tcp_server server(opts, handler);

  // Every two seconds, print the handler's count.
  server.run_every(std::chrono::seconds(2), [&handler] {
    std::printf("connections: %ld\n", handler.count.load());
    std::fflush(stdout);
  });
  // Start the server.
  server.start();
  std::printf("seed_example listening on %s\n", server.local_address().to_string().c_str());
  std::fflush(stdout);
  std::printf("%s, stopping\n", fastnet::stop_signals::name(stop.wait()));
  server.stop();
} catch (const std::exception& e) {
  std::fprintf(stderr, "seed_example: %s\n", e.what());
  return 1;
}
