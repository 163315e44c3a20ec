// load_client's TLS client end over OpenSSL 3 (see tls.hpp).
// Built without LOAD_CLIENT_TLS (no OpenSSL found at configure time), only
// client::make exists in earnest: it refuses, so --tls is refused.
#include "tls.hpp"

#if LOAD_CLIENT_TLS

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <cerrno>

namespace load_client::tls {

void ssl_free::operator()(ssl_st* s) const {
  SSL_free(s);
}
void ssl_ctx_free::operator()(ssl_ctx_st* c) const {
  SSL_CTX_free(c);
}
void ssl_session_free::operator()(ssl_session_st* s) const {
  SSL_SESSION_free(s);
}

namespace {

/// What a failed SSL call means for the caller. The error queue is emptied
/// on the way: OpenSSL reads it to classify the next call's failure.
status classify(SSL* ssl, int rc) {
  const int err = SSL_get_error(ssl, rc);
  switch (err) {
    case SSL_ERROR_WANT_READ:
      return status::want_read;
    case SSL_ERROR_WANT_WRITE:
      return status::want_write;
    case SSL_ERROR_ZERO_RETURN:
      return status::eof;
    default:
      break;
  }
  // SYSCALL with an empty queue is the socket: errno says whether it was a
  // reset or (errno 0) a FIN. OpenSSL 3 reports a FIN without close_notify
  // as an SSL error unless told otherwise (SSL_OP_IGNORE_UNEXPECTED_EOF,
  // set below), so a server that just closes counts as eof, not as failed.
  const bool socket = err == SSL_ERROR_SYSCALL && ERR_peek_error() == 0;
  ERR_clear_error();
  if (socket) return errno == 0 ? status::eof : status::reset;
  return status::failed;
}

}  // namespace

status stream::handshake() {
  const int rc = SSL_do_handshake(ssl_.get());
  return rc == 1 ? status::ok : classify(ssl_.get(), rc);
}

io_result stream::read(char* out, size_t n) {
  size_t got = 0;
  errno = 0;
  if (SSL_read_ex(ssl_.get(), out, n, &got) == 1) return {status::ok, got};
  return {classify(ssl_.get(), 0), 0};
}

bool stream::has_pending() const {
  return SSL_has_pending(ssl_.get()) == 1;
}

io_result stream::write(const char* data, size_t n) {
  size_t put = 0;
  errno = 0;
  if (SSL_write_ex(ssl_.get(), data, n, &put) == 1) return {status::ok, put};
  return {classify(ssl_.get(), 0), 0};
}

void stream::close_notify() {
  if (ssl_ && SSL_is_init_finished(ssl_.get()) == 1) SSL_shutdown(ssl_.get());
  ERR_clear_error();
}

bool stream::resumed() const {
  return SSL_session_reused(ssl_.get()) == 1;
}

std::string stream::describe() const {
  std::string out = SSL_get_version(ssl_.get());
  out.append(" ");
  out.append(SSL_get_cipher_name(ssl_.get()));
  return out;
}

std::unique_ptr<client> client::make(const settings& s, std::string& error) {
  auto c = std::make_unique<client>(token{});
  c->resume_ = s.resume;
  c->ctx_.reset(SSL_CTX_new(TLS_client_method()));
  SSL_CTX* ctx = c->ctx_.get();
  if (ctx == nullptr) {
    error = "SSL_CTX_new failed";
    return nullptr;
  }
  const int version = s.version == "1.2" ? TLS1_2_VERSION : TLS1_3_VERSION;
  SSL_CTX_set_min_proto_version(ctx, version);
  SSL_CTX_set_max_proto_version(ctx, version);
  if (!s.ciphers.empty() &&
      (version == TLS1_3_VERSION ? SSL_CTX_set_ciphersuites(ctx, s.ciphers.c_str())
                                 : SSL_CTX_set_cipher_list(ctx, s.ciphers.c_str())) != 1) {
    error = "OpenSSL refuses --tls-ciphers " + s.ciphers;
    return nullptr;
  }
  // Like the servers under test: no renegotiation, idle connections give
  // their record buffers back (the idle case holds thousands), writes may
  // be partial and retried from a moved buffer, and whole socket reads go
  // into the record buffer (fewer recv calls for this client's one core).
  SSL_CTX_set_options(
      ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_IGNORE_UNEXPECTED_EOF);
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                            SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_read_ahead(ctx, 1);
  // Sessions are kept by hand (remember), one per client, not in a cache.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  if (!s.ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, s.ca_file.c_str(), nullptr) != 1) {
      error = "cannot load --tls-ca " + s.ca_file;
      return nullptr;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    // The certificate must name the address connected to (it has no DNS name to check).
    if (X509_VERIFY_PARAM_set1_ip_asc(SSL_CTX_get0_param(ctx), s.server_ip.c_str()) != 1) {
      error = "cannot check the certificate against " + s.server_ip;
      return nullptr;
    }
  }
  ERR_clear_error();
  return c;
}

bool client::start(stream& out, int fd) {
  out.ssl_.reset(SSL_new(ctx_.get()));
  if (!out.ssl_ || SSL_set_fd(out.ssl_.get(), fd) != 1) {
    out.reset();
    ERR_clear_error();
    return false;
  }
  SSL_set_connect_state(out.ssl_.get());
  if (resume_ && session_) SSL_set_session(out.ssl_.get(), session_.get());
  return true;
}

void client::remember(const stream& s) {
  if (!resume_ || !s) return;
  SSL_SESSION* session = SSL_get1_session(s.ssl_.get());
  if (session != nullptr && SSL_SESSION_is_resumable(session) == 1) {
    session_.reset(session);
  } else {
    SSL_SESSION_free(session);
  }
}

}  // namespace load_client::tls

#else  // built without OpenSSL

namespace load_client::tls {

void ssl_free::operator()(ssl_st*) const {}
void ssl_ctx_free::operator()(ssl_ctx_st*) const {}
void ssl_session_free::operator()(ssl_session_st*) const {}

status stream::handshake() {
  return status::failed;
}
io_result stream::read(char*, size_t) {
  return {status::failed, 0};
}
bool stream::has_pending() const {
  return false;
}
io_result stream::write(const char*, size_t) {
  return {status::failed, 0};
}
void stream::close_notify() {}
bool stream::resumed() const {
  return false;
}
std::string stream::describe() const {
  return {};
}

std::unique_ptr<client> client::make(const settings&, std::string& error) {
  error = "load_client was built without OpenSSL (libssl-dev): --tls is not available";
  return nullptr;
}
bool client::start(stream&, int) {
  return false;
}
void client::remember(const stream&) {}

}  // namespace load_client::tls

#endif
