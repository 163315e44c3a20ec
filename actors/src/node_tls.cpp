#include "fastnet/actors/node_tls.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <memory>

#include <caf/openssl/manager.hpp>
#include <caf/openssl/publish.hpp>

#include "caf_openssl_fixes.hpp"
#include "fastnet/actors/node.hpp"

namespace fastnet::actors {

namespace {
/// Appends OpenSSL's queued errors to `out`, each after ": ".
void append_ssl_errors(std::string& out) {
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    out.append(": ").append(buf);
  }
}
}  // namespace

std::optional<std::string> check_node_tls(const node_tls& tls) {
  if (tls.ca.empty() || tls.cert.empty() || tls.key.empty())
    return std::string("give the CA, the certificate and the key together (or none)");
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_method()), SSL_CTX_free);
  std::string err;
  auto fail = [&err](const char* what, const std::string& file) {
    err.append(what).append(file);
    append_ssl_errors(err);
    return err;
  };
  if (!ctx) return fail("cannot make an SSL_CTX", "");
  // An encrypted key must fail here, not prompt on the terminal.
  SSL_CTX_set_default_passwd_cb(ctx.get(), [](char*, int, int, void*) { return 0; });
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), tls.cert.c_str()) != 1)
    return fail("cannot load the certificate ", tls.cert);
  // Also fails ("key values mismatch") when it is not the certificate's key.
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), tls.key.c_str(), SSL_FILETYPE_PEM) != 1)
    return fail("cannot load the key (PEM, unencrypted, the certificate's) ", tls.key);
  if (SSL_CTX_load_verify_locations(ctx.get(), tls.ca.c_str(), nullptr) != 1)
    return fail("cannot load the CA ", tls.ca);
  return std::nullopt;
}

void configure_node_tls(caf::actor_system_config& cfg, const node_tls& tls) {
  detail::link_caf_openssl_fixes();
  if (!tls.enabled()) return;
  // Any openssl_* setting turns on the module's authentication: both ends
  // send a certificate and require the peer's (SSL_VERIFY_PEER |
  // SSL_VERIFY_FAIL_IF_NO_PEER_CERT). These fields are what 0.17.6 reads.
  cfg.load<caf::openssl::manager>();
  cfg.openssl_cafile = tls.ca;
  cfg.openssl_certificate = tls.cert;
  cfg.openssl_key = tls.key;
}

caf::expected<uint16_t> publish(caf::actor_system& sys, const caf::actor& whom, uint16_t port,
                                const std::string& host, const node_tls& tls) {
  if (!tls.enabled()) return publish(sys, whom, port, host);
  return caf::openssl::publish(whom, port, host.c_str(), true);
}

caf::io::middleman_actor node_middleman(caf::actor_system& sys, const node_tls& tls) {
  if (!tls.enabled()) return {};
  return sys.openssl_manager().actor_handle();
}

}  // namespace fastnet::actors
