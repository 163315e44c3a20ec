// metrics_server — a line server that counts its own work and serves it,
// with the server's statistics, at GET /metrics in Prometheus's text format.
// The endpoint is answered by the server's control loop: no thread of its own.
//
//   metrics_server [--port 1833] [--metrics-port 9100] [--host 127.0.0.1]
//   then: printf 'hello\n' | nc -N 127.0.0.1 1833
//         curl -s http://127.0.0.1:9100/metrics | grep -e app_ -e frames
#include <fastnet/fastnet.hpp>
#include <fastnet/metrics/registry.hpp>

#include <CLI/CLI.hpp>
#include <cctype>
#include <cstdio>
#include <memory>
#include <string>
#include "listen_flags.hpp"

// Upper-cases each line; counts lines and bytes in metrics of its own.
class shout final : public fastnet::tcp_handler {
 public:
  explicit shout(fastnet::metrics::registry& r)
      : lines_(r.make_counter("app_lines_total", "Lines answered.")),
        bytes_(r.make_counter("app_line_bytes_total", "Bytes of the lines answered.")) {}
  void on_message(const fastnet::connection_ptr& conn, std::span<const std::byte> line) override {
    std::string out(reinterpret_cast<const char*>(line.data()), line.size());
    for (char& c : out)
      c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    conn->send(std::move(out));
    lines_.add();  // a relaxed atomic add: cheap, safe from every loop
    bytes_.add(static_cast<double>(line.size()));
  }

 private:
  fastnet::metrics::counter& lines_;
  fastnet::metrics::counter& bytes_;
};

int main(int argc, char** argv) try {
  fastnet::stop_signals stop;
  listen_flags listen;
  uint16_t metrics_port = 9100;
  CLI::App app{"a line server with Prometheus metrics"};
  listen.add_to(app);
  app.add_option("--metrics-port", metrics_port, "port of GET /metrics (0: any)")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  fastnet::tcp_server_options opts;
  opts.address = listen.address();
  opts.codec = *fastnet::make_codec_factory("line", 4096);

  auto registry = std::make_shared<fastnet::metrics::registry>();
  shout handler(*registry);
  opts.metrics.address = *fastnet::socket_address::ip(listen.host, metrics_port);
  opts.metrics.registry = registry;  // the app's own, beside the server's
  opts.metrics.name = "shout";       // the server="..." label

  fastnet::tcp_server server(opts, handler);
  server.start();
  std::printf("metrics_server listening on %s, metrics on http://%s/metrics\n",
              server.local_address().to_string().c_str(),
              server.metrics_address().to_string().c_str());
  std::fflush(stdout);
  int sig = stop.wait();
  std::printf("metrics_server: %s, stopping\n", fastnet::stop_signals::name(sig));
  server.stop();
} catch (const std::exception& e) {
  std::fprintf(stderr, "metrics_server: %s\n", e.what());
  return 1;
}
