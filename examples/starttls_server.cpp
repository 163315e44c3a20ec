// starttls_server — a tiny SMTP-like line protocol that turns TLS on in the
// middle of a connection (STARTTLS), as mail and chat protocols do.
//
//   starttls_server --port 2525 --tls-cert FILE --tls-key FILE [--host 127.0.0.1]
//                   [--metrics-port P [--metrics-host 127.0.0.1]]
//
// Lines (each answered with one line; the line codec adds the newline):
//   HELO name    250 hello name
//   STARTTLS     220 go ahead   — then the client starts its TLS handshake on
//                the same connection (454 if TLS is already on, or not set up)
//   SECURE?      250 plain / 250 TLSv1.3 TLS_AES_256_GCM_SHA384
//   QUIT         221 bye, and the connection closes
// The protocol is in starttls_session.hpp, shared with tests/starttls_test.cpp
// (whose Python clients show both halves; `nc` shows the plaintext one).
// Stops on SIGINT or SIGTERM.
#include <fastnet/fastnet.hpp>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <string>

#include "metrics_flags.hpp"
#include "starttls_session.hpp"
#include "tls_flags.hpp"

int main(int argc, char** argv) {
  CLI::App app{"fastnet STARTTLS example"};
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  app.add_option("--host", host, "address to listen on")->capture_default_str();
  app.add_option("--port", port, "port to listen on")->required();
  tls_flags tls;
  tls.add_to(app);
  metrics_flags metrics;
  metrics.add_to(app);
  CLI11_PARSE(app, argc, argv);
  std::shared_ptr<fastnet::tls::context> ctx;
  if (!tls.make(ctx)) return 2;
  auto addr = fastnet::socket_address::ip(host, port);
  if (!addr) {
    std::cerr << "bad address: " << host << "\n";
    return 2;
  }

  fastnet::stop_signals stop;  // before the server's threads, which inherit the blocked signals

  fastnet::tcp_server_options opts;
  opts.address = *addr;
  opts.loops = 1;
  opts.codec = *fastnet::make_codec_factory("line", 1024);
  if (!metrics.apply(opts, nullptr, "starttls")) return 2;
  starttls::session_handler handler(ctx);
  fastnet::tcp_server server(opts, handler);
  try {
    server.start();
  } catch (const std::exception& e) {
    std::cerr << "starttls_server: " << e.what() << "\n";
    return 1;
  }
  std::printf("starttls_server listening on %s (STARTTLS %s)\n",
              server.local_address().to_string().c_str(), ctx ? "on" : "off: no --tls-cert");
  if (auto m = metrics_flags::listening_line(server); !m.empty())
    std::printf("starttls_server %s\n", m.c_str());
  std::fflush(stdout);
  std::printf("starttls_server: %s, stopping\n", fastnet::stop_signals::name(stop.wait()));
  server.stop();
  return 0;
}
