// TLS flags shared by the examples: --tls-cert FILE --tls-key FILE
// [--tls-ca FILE --tls-verify-client]. With a certificate and key the
// server speaks TLS (fastnet::tls), in either mode; without, plain TCP.
#pragma once

#include <fastnet/tls/context.hpp>

#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>
#include <string>

/// The flags' values, and the transport they ask for.
struct tls_flags {
  std::string cert;
  std::string key;
  std::string ca;
  bool verify_client = false;

  /// Adds the flags to `app`.
  void add_to(CLI::App& app) {
    auto* c = app.add_option("--tls-cert", cert, "serve TLS with this PEM certificate chain")
                  ->check(CLI::ExistingFile);
    auto* k = app.add_option("--tls-key", key, "the certificate's PEM private key")
                  ->check(CLI::ExistingFile);
    c->needs(k);
    k->needs(c);
    auto* a = app.add_option("--tls-ca", ca, "CA file for client certificates")
                  ->check(CLI::ExistingFile)
                  ->needs(c);
    app.add_flag("--tls-verify-client", verify_client, "require a client certificate from --tls-ca")
        ->needs(a);
  }

  /// The server's TLS context, or null when no certificate was given
  /// (plain TCP). Prints why and returns false when the files cannot be used.
  bool make(std::shared_ptr<fastnet::tls::context>& out) const {
    if (cert.empty()) return true;
    fastnet::tls::server_config cfg;
    cfg.cert_file = cert;
    cfg.key_file = key;
    cfg.ca_file = ca;
    cfg.verify_client =
        verify_client ? fastnet::tls::client_auth::required : fastnet::tls::client_auth::none;
    try {
      out = fastnet::tls::context::server(cfg);
    } catch (const fastnet::tls::config_error& e) {
      std::cerr << e.what() << "\n";
      return false;
    }
    return true;
  }

  /// The server's transport: TLS when a certificate was given, else plain
  /// TCP (an empty factory). Returns false as make(context) does.
  bool make(fastnet::transport_factory& out) const {
    std::shared_ptr<fastnet::tls::context> ctx;
    if (!make(ctx)) return false;
    if (ctx) out = ctx->transports();
    return true;
  }
};
