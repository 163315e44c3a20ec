// fastnet::tls — TLS as a connection's transport (internal).
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <span>
#include <string>

#include "context_impl.hpp"
#include "fastnet/timer_queue.hpp"
#include "fastnet/transport.hpp"
#include "socket_bio.hpp"

namespace fastnet::tls {

struct ssl_free {
  void operator()(SSL* s) const { SSL_free(s); }
};

/// One connection's TLS session. Plaintext is read straight into the
/// connection's buffers and written from them; ciphertext goes through the
/// socket BIO with no buffer of its own. The handshake runs inside read()
/// and write() until ready().
/// Thread safety: the connection's loop thread only.
class tls_transport final : public transport {
 public:
  /// Why a handshake failed, as counted (indexes into events() after the
  /// two completed kinds). A bounded set: the peer picks what goes wrong.
  enum class failure_kind : uint8_t {
    unfinished,
    peer_left,
    certificate,
    not_tls,
    version,
    protocol
  };

  explicit tls_transport(std::shared_ptr<context::impl> ctx) : ctx_(std::move(ctx)) {}
  /// A handshake begun and never finished (its deadline passed, or the
  /// server stopped) counts as a failed one.
  ~tls_transport() override;

  void start(int fd, std::span<const std::byte> already_read) override;
  ssize_t read(int fd, const iovec* iov, int count) override;
  ssize_t write(int fd, const iovec* iov, size_t count) override;
  void shutdown_write(int fd) override;
  bool ready() const override { return phase_ == phase::open; }
  bool wants_write() const override { return wants_write_; }
  bool has_buffered_input() const override;
  std::chrono::milliseconds handshake_timeout() const override;
  std::string failure() const override { return failure_; }
  const char* name() const override { return "tls"; }
  /// Handshakes completed (full or resumed), failed handshakes by reason,
  /// and handshake times (fastnet_tls_* and fastnet_handshake_seconds).
  std::span<const layer_event> events() const override;

  /// The session, for tls::info (null before start).
  const SSL* ssl() const { return ssl_.get(); }

 private:
  enum class phase : uint8_t { handshaking, open, failed };

  /// One step of the handshake; true once it is done. Otherwise errno is
  /// EAGAIN (waiting for the socket) or EPROTO (failed).
  bool handshake();
  /// Classifies a failed SSL call `ret`: sets errno (EAGAIN, ECONNRESET,
  /// EPROTO) and wants_write_; returns 0 for the peer's close_notify.
  int failed_call(int ret, const char* what);
  /// Ends the session with `why` (counted as `reason` when the handshake
  /// was running); errno = EPROTO, returns -1.
  int fail(std::string why, failure_kind reason);

  std::shared_ptr<context::impl> ctx_;
  socket_bio_state bio_state_;  // before ssl_: its BIO points here
  std::unique_ptr<SSL, ssl_free> ssl_;
  std::string failure_;
  clock::time_point started_{};  // start(): the handshake's clock
  phase phase_ = phase::handshaking;
  bool wants_write_ = false;
};

}  // namespace fastnet::tls
