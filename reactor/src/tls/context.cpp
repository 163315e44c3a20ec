#include "fastnet/tls/context.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <utility>

#include "../log.hpp"
#include "context_impl.hpp"
#include "socket_bio.hpp"
#include "tls_transport.hpp"

namespace fastnet::tls {
namespace {

struct bio_free {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct x509_free {
  void operator()(X509* x) const { X509_free(x); }
};
struct pkey_free {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};

[[noreturn]] void fail(const std::string& what) {
  throw config_error("tls: " + what + ": " + openssl_errors("no detail from OpenSSL"));
}

// ALPN's wire format: each name prefixed by its length.
std::string alpn_wire(const std::vector<std::string>& names) {
  std::string wire;
  for (const auto& n : names) {
    if (n.empty() || n.size() > 255) throw config_error("tls: ALPN name of length 0 or over 255");
    wire.push_back(static_cast<char>(n.size()));
    wire.append(n);
  }
  return wire;
}

// The server's choice: its most preferred protocol the client offers. No
// overlap: the handshake goes on without ALPN (the application decides),
// as most servers do for clients that offer only what they do not speak.
int select_alpn(SSL* ssl, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                unsigned int inlen, void* arg) {
  (void)ssl;
  const auto* wire = static_cast<const std::string*>(arg);
  unsigned char* chosen = nullptr;
  if (SSL_select_next_proto(&chosen, outlen, reinterpret_cast<const unsigned char*>(wire->data()),
                            static_cast<unsigned int>(wire->size()), in,
                            inlen) != OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_NOACK;
  *out = chosen;
  return SSL_TLSEXT_ERR_OK;
}

// A server with by_name certificates picks one by the client's SNI.
int on_server_name(SSL* ssl, int* alert, void* arg) {
  (void)alert;
  if (const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name))
    static_cast<context::impl*>(arg)->pick_certificate(ssl, name);
  return SSL_TLSEXT_ERR_OK;
}

// A client context keeps the newest session for the next connection.
int new_session(SSL* ssl, SSL_SESSION* session) {
  auto* owner = static_cast<context::impl*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
  owner->keep_session(session);
  return 1;  // the reference is ours now
}

void use_certificate(SSL_CTX* ctx, const common_config& c) {
  if (!c.cert_file.empty() || !c.key_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx, c.cert_file.c_str()) != 1)
      fail("certificate chain " + c.cert_file);
    if (SSL_CTX_use_PrivateKey_file(ctx, c.key_file.c_str(), SSL_FILETYPE_PEM) != 1)
      fail("private key " + c.key_file);
  } else {
    std::unique_ptr<BIO, bio_free> certs(
        BIO_new_mem_buf(c.cert_pem.data(), static_cast<int>(c.cert_pem.size())));
    std::unique_ptr<X509, x509_free> leaf(
        PEM_read_bio_X509(certs.get(), nullptr, nullptr, nullptr));
    if (!leaf || SSL_CTX_use_certificate(ctx, leaf.get()) != 1) fail("certificate PEM");
    // The rest of the PEM text is the chain.
    while (X509* extra = PEM_read_bio_X509(certs.get(), nullptr, nullptr, nullptr)) {
      if (SSL_CTX_add0_chain_cert(ctx, extra) != 1) {
        X509_free(extra);
        fail("certificate chain PEM");
      }
    }
    ERR_clear_error();  // the end of the PEM text
    std::unique_ptr<BIO, bio_free> keys(
        BIO_new_mem_buf(c.key_pem.data(), static_cast<int>(c.key_pem.size())));
    std::unique_ptr<EVP_PKEY, pkey_free> key(
        PEM_read_bio_PrivateKey(keys.get(), nullptr, nullptr, nullptr));
    if (!key || SSL_CTX_use_PrivateKey(ctx, key.get()) != 1) fail("private key PEM");
  }
  if (SSL_CTX_check_private_key(ctx) != 1) fail("the private key does not match the certificate");
}

bool has_certificate(const common_config& c) {
  return !c.cert_file.empty() || !c.key_file.empty() || !c.cert_pem.empty() || !c.key_pem.empty();
}

void use_trust(SSL_CTX* ctx, const common_config& c) {
  if (c.ca_file.empty() && c.ca_dir.empty()) {
    if (SSL_CTX_set_default_verify_paths(ctx) != 1) fail("the system's trust store");
    return;
  }
  if (SSL_CTX_load_verify_locations(ctx, c.ca_file.empty() ? nullptr : c.ca_file.c_str(),
                                    c.ca_dir.empty() ? nullptr : c.ca_dir.c_str()) != 1)
    fail("trusted CAs " + c.ca_file + (c.ca_dir.empty() ? "" : " " + c.ca_dir));
}

}  // namespace

std::string openssl_errors(const char* fallback) {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? fallback : out;
}

const common_config& context::impl::common() const {
  return std::visit([](const auto& c) -> const common_config& { return c; }, config);
}

SSL_CTX* context::impl::acquire() {
  std::lock_guard lock(mutex_);
  SSL_CTX_up_ref(ctx_.get());
  return ctx_.get();
}

void context::impl::replace(ssl_ctx_ptr next, std::vector<ssl_ctx_ptr> named) {
  std::lock_guard lock(mutex_);
  ctx_ = std::move(next);
  named_ = std::move(named);
  session_.reset();  // a session of the old context may not fit the new one
}

namespace {

bool iequal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// "*.example.org" matches "a.example.org", not "example.org" or "a.b.example.org".
bool name_matches(std::string_view pattern, std::string_view name) {
  if (!pattern.starts_with("*.")) return iequal(pattern, name);
  const size_t dot = name.find('.');
  return dot != std::string_view::npos && dot > 0 && iequal(pattern.substr(1), name.substr(dot));
}

}  // namespace

void context::impl::pick_certificate(SSL* ssl, std::string_view name) {
  const auto& entries = std::get<server_config>(config).by_name;
  std::lock_guard lock(mutex_);  // reload() must not free the one picked meanwhile
  for (size_t i = 0; i < entries.size() && i < named_.size(); ++i) {
    if (name_matches(entries[i].name, name)) {
      SSL_set_SSL_CTX(ssl, named_[i].get());  // takes its own reference
      return;
    }
  }
}

SSL_SESSION* context::impl::take_session() {
  std::lock_guard lock(mutex_);
  if (!session_) return nullptr;
  SSL_SESSION_up_ref(session_.get());
  return session_.get();
}

void context::impl::keep_session(SSL_SESSION* s) {
  std::lock_guard lock(mutex_);
  session_.reset(s);
}

void context::impl::handshake_failed(const std::string& why) {
  failures.fetch_add(1, std::memory_order_relaxed);
  // At most one line a second: a flood of bad handshakes must not become a
  // flood of log lines.
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::steady_clock::now().time_since_epoch())
                          .count();
  int64_t last = last_log_second_.load(std::memory_order_relaxed);
  if (now == last || !last_log_second_.compare_exchange_strong(last, now)) {
    unlogged_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const uint64_t skipped = unlogged_.exchange(0, std::memory_order_relaxed);
  if (skipped > 0)
    fastnet::detail::log().warn("tls: handshake failed: {} ({} more failures not logged)", why,
                                skipped);
  else
    fastnet::detail::log().warn("tls: handshake failed: {}", why);
}

ssl_ctx_ptr build_ctx(const std::variant<server_config, client_config>& config,
                      context::impl& owner) {
  const bool server = std::holds_alternative<server_config>(config);
  const common_config& c =
      std::visit([](const auto& v) -> const common_config& { return v; }, config);
  ERR_clear_error();
  ssl_ctx_ptr ctx(SSL_CTX_new(server ? TLS_server_method() : TLS_client_method()));
  if (!ctx) fail("cannot make an SSL_CTX");
  SSL_CTX* raw = ctx.get();
  SSL_CTX_set_app_data(raw, &owner);
  if (SSL_CTX_set_min_proto_version(
          raw, c.min_version == version::tls1_3 ? TLS1_3_VERSION : TLS1_2_VERSION) != 1)
    fail("minimum version");
  if (!c.ciphers.empty() && SSL_CTX_set_cipher_list(raw, c.ciphers.c_str()) != 1)
    fail("cipher list \"" + c.ciphers + "\"");
  if (!c.ciphersuites.empty() && SSL_CTX_set_ciphersuites(raw, c.ciphersuites.c_str()) != 1)
    fail("TLS 1.3 cipher suites \"" + c.ciphersuites + "\"");
  if (!c.groups.empty() && SSL_CTX_set1_groups_list(raw, c.groups.c_str()) != 1)
    fail("groups \"" + c.groups + "\"");
  // Renegotiation is refused (a DoS lever and a source of attacks), as is
  // compression (CRIME). Plaintext is written from the connection's ring,
  // which moves, in record-sized pieces; idle connections give their
  // record buffers back.
  SSL_CTX_set_options(raw, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                               (server ? SSL_OP_CIPHER_SERVER_PREFERENCE : 0) |
                               (c.session_resumption ? 0 : SSL_OP_NO_TICKET));
  SSL_CTX_set_mode(raw, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                            SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  // Read whole socket reads into the record buffer: fewer recv calls.
  SSL_CTX_set_read_ahead(raw, 1);
  if (server) {
    const auto& s = std::get<server_config>(config);
    if (!has_certificate(s)) throw config_error("tls: a server needs a certificate and a key");
    use_certificate(raw, s);
    if (s.verify_client != client_auth::none) {
      use_trust(raw, s);
      if (!s.ca_file.empty()) {
        // Tells clients which CAs their certificate may come from.
        if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(s.ca_file.c_str()))
          SSL_CTX_set_client_CA_list(raw, names);
      }
      SSL_CTX_set_verify(
          raw,
          SSL_VERIFY_PEER |
              (s.verify_client == client_auth::required ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0),
          nullptr);
    }
    if (!owner.alpn_wire.empty()) SSL_CTX_set_alpn_select_cb(raw, select_alpn, &owner.alpn_wire);
    if (!s.by_name.empty()) {
      SSL_CTX_set_tlsext_servername_callback(raw, on_server_name);
      SSL_CTX_set_tlsext_servername_arg(raw, &owner);
    }
    // Resumed sessions must come back to a context that verifies the same way.
    static constexpr unsigned char id[] = "fastnet";
    SSL_CTX_set_session_id_context(raw, id, sizeof id - 1);
    if (!c.session_resumption) SSL_CTX_set_session_cache_mode(raw, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(raw, c.session_resumption ? 1 : 0);
  } else {
    const auto& cl = std::get<client_config>(config);
    if (has_certificate(cl)) use_certificate(raw, cl);
    if (cl.verify_peer) {
      use_trust(raw, cl);
      SSL_CTX_set_verify(raw, SSL_VERIFY_PEER, nullptr);
    }
    // Note SSL_CTX_set_alpn_protos' inverted result: 0 is success.
    if (!owner.alpn_wire.empty() &&
        SSL_CTX_set_alpn_protos(raw, reinterpret_cast<const unsigned char*>(owner.alpn_wire.data()),
                                static_cast<unsigned int>(owner.alpn_wire.size())) != 0)
      fail("ALPN protocols");
    if (c.session_resumption) {
      SSL_CTX_set_session_cache_mode(raw, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
      SSL_CTX_sess_set_new_cb(raw, new_session);
    }
  }
  return ctx;
}

std::vector<ssl_ctx_ptr> build_named(const std::variant<server_config, client_config>& config,
                                     context::impl& owner) {
  std::vector<ssl_ctx_ptr> out;
  const auto* s = std::get_if<server_config>(&config);
  if (s == nullptr) return out;
  for (const auto& n : s->by_name) {
    // The same settings with this certificate; SSL_set_SSL_CTX takes only
    // the certificate (and session id context) from it.
    server_config one = *s;
    one.by_name.clear();
    one.cert_file = n.cert_file;
    one.key_file = n.key_file;
    one.cert_pem = n.cert_pem;
    one.key_pem = n.key_pem;
    try {
      out.push_back(build_ctx(one, owner));
    } catch (const config_error& e) {
      throw config_error(std::string(e.what()) + " (certificate for " + n.name + ")");
    }
  }
  return out;
}

context::context(token, std::unique_ptr<impl> p) : impl_(std::move(p)) {}
context::~context() = default;

std::shared_ptr<context> context::make(std::variant<server_config, client_config> config) {
  auto p = std::make_unique<impl>();
  p->config = std::move(config);
  p->alpn_wire = alpn_wire(p->common().alpn);
  p->bio.reset(make_socket_bio_method());
  if (!p->bio) fail("cannot make the socket BIO method");
  auto main = build_ctx(p->config, *p);
  p->replace(std::move(main), build_named(p->config, *p));
  return std::make_shared<context>(token{}, std::move(p));
}

std::shared_ptr<context> context::server(server_config cfg) {
  return make(std::move(cfg));
}

std::shared_ptr<context> context::client(client_config cfg) {
  return make(std::move(cfg));
}

transport_factory context::transports() {
  return [p = impl_] { return std::make_unique<tls_transport>(p); };
}

std::unique_ptr<transport> context::make_transport() {
  return std::make_unique<tls_transport>(impl_);
}

void context::reload() {
  auto main = build_ctx(impl_->config, *impl_);
  impl_->replace(std::move(main), build_named(impl_->config, *impl_));
}

uint64_t context::handshake_failures() const {
  return impl_->failures.load(std::memory_order_relaxed);
}

std::optional<session_info> info(const connection& c) {
  const auto* t = dynamic_cast<const tls_transport*>(&c.current_transport());
  if (t == nullptr || t->ssl() == nullptr) return std::nullopt;
  SSL* ssl = const_cast<SSL*>(t->ssl());  // OpenSSL's getters take non-const pointers
  session_info out;
  out.version = SSL_get_version(ssl);
  if (const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl))
    out.cipher = SSL_CIPHER_get_name(cipher);
  const unsigned char* alpn = nullptr;
  unsigned int alpn_len = 0;
  SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
  out.alpn.assign(reinterpret_cast<const char*>(alpn), alpn_len);
  if (const char* sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name)) out.server_name = sni;
  if (X509* peer = SSL_get0_peer_certificate(ssl);
      peer && SSL_get_verify_result(ssl) == X509_V_OK) {
    std::unique_ptr<BIO, bio_free> text(BIO_new(BIO_s_mem()));
    X509_NAME_print_ex(text.get(), X509_get_subject_name(peer), 0, XN_FLAG_RFC2253);
    char* data = nullptr;
    const long len = BIO_get_mem_data(text.get(), &data);
    out.peer_subject.assign(data, static_cast<size_t>(len));
  }
  out.resumed = SSL_session_reused(ssl) == 1;
  return out;
}

}  // namespace fastnet::tls
