// fastnet::tls — what a context shares with its connections (internal).
#pragma once

#include <openssl/ssl.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "fastnet/tls/context.hpp"

namespace fastnet::tls {

struct ssl_ctx_free {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
using ssl_ctx_ptr = std::unique_ptr<SSL_CTX, ssl_ctx_free>;

struct bio_method_free {
  void operator()(BIO_METHOD* m) const { BIO_meth_free(m); }
};

struct ssl_session_free {
  void operator()(SSL_SESSION* s) const { SSL_SESSION_free(s); }
};
using ssl_session_ptr = std::unique_ptr<SSL_SESSION, ssl_session_free>;

/// A context's shared state: its configuration, the current SSL_CTX (which
/// reload() replaces; connections hold a reference to theirs through their
/// SSL object), the BIO method that moves ciphertext through the socket,
/// a client's last session (for resumption), and the failure counter with
/// its log rate limit.
/// Thread safety: any thread.
struct context::impl {
  std::variant<server_config, client_config> config;
  std::unique_ptr<BIO_METHOD, bio_method_free> bio;
  std::string alpn_wire;  // common_config::alpn in ALPN's wire format

  /// The SSL_CTX new connections use (reference counted by OpenSSL).
  SSL_CTX* acquire();
  /// Installs a new generation: the default SSL_CTX and one per
  /// server_config::by_name entry, in its order.
  void replace(ssl_ctx_ptr next, std::vector<ssl_ctx_ptr> named = {});
  /// Switches `ssl` to the certificate for SNI name `name`, if one matches.
  void pick_certificate(SSL* ssl, std::string_view name);

  /// A client's session to resume with the next connection (up-referenced;
  /// null if none), and the callback's way to store a new one.
  SSL_SESSION* take_session();
  void keep_session(SSL_SESSION* s);

  /// Counts a failed handshake and logs `why` at warning level, at most
  /// once a second (with the number left out in between).
  void handshake_failed(const std::string& why);

  bool is_server() const { return std::holds_alternative<server_config>(config); }
  const common_config& common() const;

  std::atomic<uint64_t> failures{0};

 private:
  std::mutex mutex_;
  ssl_ctx_ptr ctx_;
  std::vector<ssl_ctx_ptr> named_;  // server_config::by_name's, in order
  ssl_session_ptr session_;
  std::atomic<int64_t> last_log_second_{0};
  std::atomic<uint64_t> unlogged_{0};
};

/// Builds an SSL_CTX from `cfg`; throws config_error.
ssl_ctx_ptr build_ctx(const std::variant<server_config, client_config>& cfg, context::impl& owner);
/// Builds the SSL_CTXs of a server's by_name certificates; throws config_error.
std::vector<ssl_ctx_ptr> build_named(const std::variant<server_config, client_config>& cfg,
                                     context::impl& owner);

/// OpenSSL's queued errors as one line (and clears the queue); `fallback`
/// when there are none.
std::string openssl_errors(const char* fallback);

}  // namespace fastnet::tls
