// reconnecting_client — an outbound connection that survives its server:
// it sends a numbered line every second, prints the replies, and when the
// connection drops it connects again with exponential back-off.
//
//   reconnecting_client [--host 127.0.0.1] [--port 1833] [--every-ms 1000]
//   try: examples/echo_server in one shell, this in another, then stop and
//   restart the server.
#include <fastnet/fastnet.hpp>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <string>
#include "listen_flags.hpp"

// Callbacks run on the client's loop thread: here, the main thread.
class printer final : public fastnet::tcp_handler {
 public:
  void on_connect(const fastnet::connection_ptr& conn) override {
    std::printf("connected to %s\n", conn->peer_address().to_string().c_str());
    std::fflush(stdout);
  }
  void on_message(const fastnet::connection_ptr&, std::span<const std::byte> line) override {
    std::printf("reply: %.*s\n", int(line.size()), reinterpret_cast<const char*>(line.data()));
    std::fflush(stdout);
  }
  void on_close(const fastnet::connection_ptr&, fastnet::close_reason why) override {
    std::printf("disconnected (%s), reconnecting\n", fastnet::to_string(why));
    std::fflush(stdout);
  }
};

int main(int argc, char** argv) try {
  fastnet::stop_signals stop;
  listen_flags server;  // where the server listens
  unsigned every_ms = 1000;
  CLI::App app{"a line client that reconnects"};
  server.add_to(app);
  app.add_option("--every-ms", every_ms, "send a line this often")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  fastnet::event_loop loop;  // one loop, run by this thread below
  printer handler;
  fastnet::tcp_client_options opts;
  opts.address = server.address();
  opts.codec = *fastnet::make_codec_factory("line", 64 << 10);
  opts.reconnect = true;  // connect again when an established connection closes
  opts.max_attempts = 0;  // and never give up (back-off: 100 ms doubling to 5 s)
  fastnet::tcp_client client(loop, opts, handler);
  client.connect();

  unsigned long n = 0;
  loop.run_every(std::chrono::milliseconds(every_ms), [&] {
    if (auto conn = client.connection()) conn->send("hello " + std::to_string(++n) + "\n");
  });
  stop.on_loop(loop, [&](int sig) {
    std::printf("%s, stopping\n", fastnet::stop_signals::name(sig));
    client.disconnect();
    loop.quit();
  });
  loop.run();
} catch (const std::exception& e) {
  std::fprintf(stderr, "reconnecting_client: %s\n", e.what());
  return 1;
}
