// tls_echo_server — echo over TLS. TLS is a transport: the handler is the
// plain echo's, and the connection opens (on_connect) once the handshake is
// done. scripts/make_test_certs.sh DIR makes a throwaway CA and certificate.
//
//   tls_echo_server --cert DIR/server.pem --key DIR/server.key [--port 1833]
//   then: openssl s_client -connect 127.0.0.1:1833 -CAfile DIR/ca.pem -alpn echo
#include <fastnet/fastnet.hpp>
#include <fastnet/tls/context.hpp>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>
#include "listen_flags.hpp"

class echo final : public fastnet::tcp_handler {
 public:
  void on_connect(const fastnet::connection_ptr& conn) override {
    auto tls = fastnet::tls::info(*conn);  // what the handshake agreed on
    std::printf("%s: %s %s alpn=%s\n", conn->peer_address().to_string().c_str(),
                tls->version.c_str(), tls->cipher.c_str(), tls->alpn.c_str());
    std::fflush(stdout);
  }
  void on_message(const fastnet::connection_ptr& conn, std::span<const std::byte> data) override {
    conn->send(data);  // encrypted on the way out, by the transport
  }
};

int main(int argc, char** argv) try {
  fastnet::stop_signals stop;
  listen_flags listen;
  std::string cert, key;
  CLI::App app{"echo over TLS"};
  listen.add_to(app);
  app.add_option("--cert", cert, "PEM certificate chain, leaf first")->required();
  app.add_option("--key", key, "PEM private key")->required();
  CLI11_PARSE(app, argc, argv);

  fastnet::tcp_server_options opts;
  opts.address = listen.address();

  fastnet::tls::server_config cfg;
  cfg.cert_file = cert;  // chain, leaf first (or cert_pem/key_pem in memory)
  cfg.key_file = key;
  cfg.alpn = {"echo"};                            // optional
  auto tls = fastnet::tls::context::server(cfg);  // throws tls::config_error with OpenSSL's reason
  opts.transport = tls->transports();             // tcp_server_options (or actors: opts.net)

  echo handler;
  fastnet::tcp_server server(opts, handler);
  server.start();
  std::printf("tls_echo_server listening on %s\n", server.local_address().to_string().c_str());
  std::fflush(stdout);
  int sig = stop.wait();
  std::printf("tls_echo_server: %s, stopping\n", fastnet::stop_signals::name(sig));
  server.stop();  // close_notify, then the FIN, on every connection
} catch (const std::exception& e) {
  std::fprintf(stderr, "tls_echo_server: %s\n", e.what());
  return 1;
}
