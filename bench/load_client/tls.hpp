// load_client's TLS: the client end of TLS over one nonblocking socket, with
// OpenSSL 3 called directly (no fastnet code, like the rest of load_client),
// so fastnet and its peers meet the same client. The header names no OpenSSL
// type beyond forward declarations: the rest of load_client compiles the same
// with or without OpenSSL (without it, client::make says so and --tls is
// refused).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

struct ssl_st;          // OpenSSL's SSL
struct ssl_ctx_st;      // SSL_CTX
struct ssl_session_st;  // SSL_SESSION

namespace load_client::tls {

/// What --tls-ca, --tls-version, --tls-ciphers and --tls-resume ask for.
struct settings {
  /// PEM CA file the server's certificate must chain to, and name
  /// `server_ip`; empty: the certificate is not checked (a benchmark
  /// client may trust its loopback server).
  std::string ca_file;
  std::string server_ip;
  /// The one TLS version offered: "1.2" or "1.3".
  std::string version = "1.3";
  /// What is offered, in OpenSSL's syntax: TLS 1.3 cipher suites
  /// ("TLS_AES_128_GCM_SHA256") or, with 1.2, a cipher list; empty:
  /// OpenSSL's default. Servers pick differently from the same offer (Go
  /// prefers AES-128, OpenSSL's default order AES-256), so a comparison
  /// offers one suite.
  std::string ciphers;
  /// Offer the session of this client's last connection (TLS 1.3 tickets,
  /// TLS 1.2 tickets or ids), so handshakes after the first are resumed.
  bool resume = false;
};

/// What a nonblocking TLS call came to. `eof` is the peer's close_notify or
/// its TCP FIN; `reset` a socket error; `failed` a TLS error (bad record,
/// alert, certificate refused).
enum class status : uint8_t { ok, want_read, want_write, eof, reset, failed };

/// A read's or write's outcome: its status and, when ok, the bytes moved.
struct io_result {
  status st;
  size_t bytes;  // with status::ok
};

/// Deleters for the OpenSSL objects held in unique_ptrs.
struct ssl_free {
  void operator()(ssl_st* s) const;
};
struct ssl_ctx_free {
  void operator()(ssl_ctx_st* c) const;
};
struct ssl_session_free {
  void operator()(ssl_session_st* s) const;
};

/// TLS on one connected socket. Empty until client::start. Used by the
/// connection's worker thread only.
class stream {
 public:
  explicit operator bool() const { return ssl_ != nullptr; }

  /// Drives the handshake; ok once it is complete.
  status handshake();
  /// Up to n bytes of plaintext. Call again while has_pending(): OpenSSL may
  /// hold bytes already read from the socket, which epoll does not signal.
  io_result read(char* out, size_t n);
  bool has_pending() const;
  /// Writes up to n bytes. After want_read/want_write the retry must pass the
  /// same bytes again (their address may change).
  io_result write(const char* data, size_t n);
  /// Sends close_notify, once, without waiting for the peer's.
  void close_notify();
  /// Forgets the connection (the socket stays open: it is the caller's).
  void reset() { ssl_.reset(); }

  bool resumed() const;
  /// "TLSv1.3 TLS_AES_256_GCM_SHA384", after the handshake.
  std::string describe() const;

 private:
  friend class client;
  std::unique_ptr<ssl_st, ssl_free> ssl_;
};

/// One worker's client side: its SSL_CTX, built once (OpenSSL 3 is slow at
/// fetching algorithms per handshake), and with resume, the session the
/// next connection offers. One thread.
class client {
 public:
  /// A client, or null with `error` set when OpenSSL refuses the settings
  /// or load_client was built without OpenSSL.
  static std::unique_ptr<client> make(const settings& s, std::string& error);

  /// Starts TLS on the connected socket `fd` into `out`; false if OpenSSL cannot.
  bool start(stream& out, int fd);
  /// Keeps `s`'s session for the next start(), with resume. Call after the
  /// first echo: a TLS 1.3 ticket comes after the handshake.
  void remember(const stream& s);

  /// Only make() can name this: a client is never left unconfigured.
  class token {
    friend class client;
    token() = default;
  };
  explicit client(token) {}

 private:
  std::unique_ptr<ssl_ctx_st, ssl_ctx_free> ctx_;
  std::unique_ptr<ssl_session_st, ssl_session_free> session_;
  bool resume_ = false;
};

}  // namespace load_client::tls
