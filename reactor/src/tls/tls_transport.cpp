#include "tls_transport.hpp"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "socket_bio.hpp"

namespace fastnet::tls {
namespace {

// The most plaintext one SSL_write takes: one full record. A write that
// OpenSSL could not finish must be retried with at least the bytes it was
// given, so every call gets min(remaining, this) contiguous bytes.
constexpr size_t write_chunk = 16 * 1024;

/// The failure an OpenSSL reason code (of library SSL) stands for.
tls_transport::failure_kind classify(int reason) {
  switch (reason) {
    case SSL_R_CERTIFICATE_VERIFY_FAILED:
    case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
    case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
    case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED:
    case SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE:
    case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
      return tls_transport::failure_kind::certificate;
    case SSL_R_WRONG_VERSION_NUMBER:
    case SSL_R_HTTP_REQUEST:
    case SSL_R_HTTPS_PROXY_REQUEST:
    case SSL_R_PACKET_LENGTH_TOO_LONG:
    case SSL_R_UNKNOWN_PROTOCOL:
      return tls_transport::failure_kind::not_tls;
    case SSL_R_UNSUPPORTED_PROTOCOL:
    case SSL_R_VERSION_TOO_LOW:
    case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
    case SSL_R_NO_PROTOCOLS_AVAILABLE:
      return tls_transport::failure_kind::version;
    default:
      return tls_transport::failure_kind::protocol;
  }
}

bool is_ip_literal(const std::string& name) {
  unsigned char buf[16];
  return inet_pton(AF_INET, name.c_str(), buf) == 1 || inet_pton(AF_INET6, name.c_str(), buf) == 1;
}

constexpr const char* handshakes_family = "fastnet_tls_handshakes_total";
constexpr const char* handshakes_help =
    "TLS handshakes completed, full or resumed (no full handshake).";
constexpr const char* failures_family = "fastnet_tls_handshake_failures_total";
constexpr const char* failures_help =
    "TLS handshakes failed, by reason: unfinished (timed out or closed first), peer_left, "
    "certificate, not_tls (plaintext or garbage), version, protocol (anything else).";
constexpr std::array<layer_event, 8> event_table{{
    {handshakes_family, handshakes_help, "kind", "full"},
    {handshakes_family, handshakes_help, "kind", "resumed"},
    {failures_family, failures_help, "reason", "unfinished"},
    {failures_family, failures_help, "reason", "peer_left"},
    {failures_family, failures_help, "reason", "certificate"},
    {failures_family, failures_help, "reason", "not_tls"},
    {failures_family, failures_help, "reason", "version"},
    {failures_family, failures_help, "reason", "protocol"},
}};
constexpr size_t full_index = 0;
constexpr size_t resumed_index = 1;
constexpr size_t first_failure_index = 2;

}  // namespace

tls_transport::~tls_transport() {
  // A connection still handshaking was never handed to a handler or actor,
  // so nothing but its loop holds it: this runs on the loop thread (or
  // after the loops have stopped), the tally's one writer.
  if (ssl_ && phase_ == phase::handshaking) {
    ctx_->handshake_failed("handshake not completed in time (or the server stopped first)");
    count(first_failure_index + static_cast<size_t>(failure_kind::unfinished));
  }
}

std::span<const layer_event> tls_transport::events() const {
  return event_table;
}

std::chrono::milliseconds tls_transport::handshake_timeout() const {
  return ctx_->common().handshake_timeout;
}

void tls_transport::start(int fd, std::span<const std::byte> already_read) {
  bio_state_.fd = fd;
  started_ = clock::now();
  bio_state_.pending.assign(reinterpret_cast<const char*>(already_read.data()),
                            already_read.size());
  SSL_CTX* ctx = ctx_->acquire();
  ssl_.reset(SSL_new(ctx));
  SSL_CTX_free(ctx);  // the SSL holds its own reference
  BIO* bio = ssl_ ? new_socket_bio(ctx_->bio.get(), bio_state_) : nullptr;
  if (!bio) {
    phase_ = phase::failed;
    failure_ = openssl_errors("cannot make a TLS session");
    return;
  }
  SSL_set_bio(ssl_.get(), bio, bio);
  if (ctx_->is_server()) {
    SSL_set_accept_state(ssl_.get());
    return;
  }
  const auto& cfg = std::get<client_config>(ctx_->config);
  SSL_set_connect_state(ssl_.get());
  if (!cfg.server_name.empty()) {
    if (is_ip_literal(cfg.server_name)) {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_.get()), cfg.server_name.c_str());
    } else {
      SSL_set_tlsext_host_name(ssl_.get(), cfg.server_name.c_str());
      SSL_set1_host(ssl_.get(), cfg.server_name.c_str());
    }
  }
  if (SSL_SESSION* s = ctx_->take_session()) {
    SSL_set_session(ssl_.get(), s);
    SSL_SESSION_free(s);
  }
  handshake();  // the ClientHello goes out now
}

int tls_transport::failed_call(int ret, const char* what) {
  const int err = SSL_get_error(ssl_.get(), ret);
  wants_write_ = err == SSL_ERROR_WANT_WRITE;
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
    errno = EAGAIN;
    return -1;
  }
  if (err == SSL_ERROR_ZERO_RETURN) return 0;  // the peer's close_notify
  const unsigned long code = ERR_peek_error();
  // The peer's TCP ended without close_notify, or it reset: a truncated
  // stream, which the caller must not take as complete.
  if ((err == SSL_ERROR_SYSCALL && code == 0) ||
      (err == SSL_ERROR_SSL && ERR_GET_REASON(code) == SSL_R_UNEXPECTED_EOF_WHILE_READING)) {
    ERR_clear_error();
    // After our close_notify the stream is complete whatever the peer
    // does: its plain FIN is the answer (RFC 8446 6.1 lets it skip its own).
    if ((SSL_get_shutdown(ssl_.get()) & SSL_SENT_SHUTDOWN) != 0) return 0;
    if (phase_ == phase::handshaking)
      return fail(std::string(what).append(": the peer left during the handshake"),
                  failure_kind::peer_left);
    errno = ECONNRESET;
    return -1;
  }
  if (err == SSL_ERROR_SYSCALL) {
    const int sys = errno;
    ERR_clear_error();
    if (phase_ == phase::handshaking)
      return fail(std::string(what).append(": ").append(std::strerror(sys)),
                  failure_kind::peer_left);
    errno = sys != 0 ? sys : ECONNRESET;
    return -1;
  }
  failure_kind reason = classify(ERR_GET_LIB(code) == ERR_LIB_SSL ? ERR_GET_REASON(code) : 0);
  std::string why = std::string(what).append(": ").append(openssl_errors("TLS error"));
  if (phase_ == phase::handshaking) {
    const long verify = SSL_get_verify_result(ssl_.get());
    if (verify != X509_V_OK) {
      why.append(" (certificate: ").append(X509_verify_cert_error_string(verify)).append(")");
      reason = failure_kind::certificate;
    }
  }
  return fail(std::move(why), reason);
}

int tls_transport::fail(std::string why, failure_kind reason) {
  // Counted (and logged, rate-limited) once per session: only a handshake
  // failure; an open session's error is the connection's close reason.
  if (phase_ == phase::handshaking) {
    ctx_->handshake_failed(why);
    count(first_failure_index + static_cast<size_t>(reason));
  }
  phase_ = phase::failed;
  failure_ = std::move(why);
  errno = EPROTO;
  return -1;
}

bool tls_transport::handshake() {
  if (phase_ == phase::open) return true;
  if (phase_ == phase::failed || !ssl_) {
    errno = EPROTO;
    return false;
  }
  const int r = SSL_do_handshake(ssl_.get());
  if (r == 1) {
    phase_ = phase::open;
    wants_write_ = false;
    count(SSL_session_reused(ssl_.get()) == 1 ? resumed_index : full_index);
    count_handshake(std::chrono::duration<double>(clock::now() - started_).count());
    return true;
  }
  failed_call(r, "handshake");
  return false;
}

ssize_t tls_transport::read(int fd, const iovec* iov, int count) {
  (void)fd;
  if (!handshake()) return -1;
  size_t total = 0;
  for (int i = 0; i < count; ++i) {
    auto* p = static_cast<char*>(iov[i].iov_base);
    size_t left = iov[i].iov_len;
    while (left > 0) {
      size_t n = 0;
      const int r = SSL_read_ex(ssl_.get(), p, left, &n);
      if (r != 1) {
        if (total > 0) return static_cast<ssize_t>(total);  // the rest next time
        return failed_call(r, "read");
      }
      wants_write_ = false;
      total += n;
      p += n;
      left -= n;
      // Without more records already read from the socket, stop here: the
      // next recv would most likely block, and epoll says when it will not.
      if (!SSL_has_pending(ssl_.get())) return static_cast<ssize_t>(total);
    }
  }
  return static_cast<ssize_t>(total);
}

ssize_t tls_transport::write(int fd, const iovec* iov, size_t count) {
  (void)fd;
  if (!handshake()) return -1;
  if (count == 0) {
    // Only our own bytes: a post-handshake message (a session ticket) that
    // the socket did not take at once goes on where it stopped.
    if (wants_write_ && SSL_in_init(ssl_.get())) {
      const int r = SSL_do_handshake(ssl_.get());
      if (r != 1) return failed_call(r, "write");
    }
    wants_write_ = false;
    return 0;
  }
  size_t total = 0;
  size_t piece = 0;
  size_t offset = 0;  // into iov[piece]
  char staging[write_chunk];
  for (;;) {
    while (piece < count && offset == iov[piece].iov_len) {
      ++piece;
      offset = 0;
    }
    if (piece == count) break;
    // The next chunk: in place when one piece holds it, else gathered.
    const char* data = static_cast<const char*>(iov[piece].iov_base) + offset;
    size_t len = std::min(iov[piece].iov_len - offset, write_chunk);
    if (len < write_chunk && piece + 1 < count) {
      len = 0;
      for (size_t i = piece, off = offset; i < count && len < write_chunk; ++i, off = 0) {
        const size_t take = std::min(iov[i].iov_len - off, write_chunk - len);
        std::memcpy(staging + len, static_cast<const char*>(iov[i].iov_base) + off, take);
        len += take;
      }
      data = staging;
    }
    size_t n = 0;
    const int r = SSL_write_ex(ssl_.get(), data, len, &n);
    if (r != 1) {
      if (total == 0) return failed_call(r, "write");
      // Progress first; what OpenSSL holds back is offered again by the
      // caller, which keeps it queued, and an error shows on that call.
      wants_write_ = SSL_get_error(ssl_.get(), r) == SSL_ERROR_WANT_WRITE;
      return static_cast<ssize_t>(total);
    }
    wants_write_ = false;
    total += n;
    // Advance over n bytes of the pieces.
    for (size_t left = n; left > 0;) {
      const size_t step = std::min(left, iov[piece].iov_len - offset);
      offset += step;
      left -= step;
      if (offset == iov[piece].iov_len && left > 0) {
        ++piece;
        offset = 0;
      }
    }
  }
  return static_cast<ssize_t>(total);
}

void tls_transport::shutdown_write(int fd) {
  // close_notify first, so the peer can tell our end from a cut stream.
  if (phase_ == phase::open) {
    ERR_clear_error();
    (void)SSL_shutdown(ssl_.get());
    ERR_clear_error();
  }
  ::shutdown(fd, SHUT_WR);
}

bool tls_transport::has_buffered_input() const {
  return phase_ == phase::open &&
         (SSL_has_pending(ssl_.get()) == 1 || bio_state_.at < bio_state_.pending.size());
}

}  // namespace fastnet::tls
