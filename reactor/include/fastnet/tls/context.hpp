// fastnet::tls — TLS for servers and clients (OpenSSL 3): configuration,
// the shared context, and what a connection negotiated.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include "fastnet/connection.hpp"
#include "fastnet/transport.hpp"

namespace fastnet::tls {

/// A TLS configuration that cannot be used (a missing or bad certificate or
/// key, a key that does not match, an unknown cipher): what() says which
/// and why, with OpenSSL's reason.
class config_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The oldest protocol version accepted.
enum class version : uint8_t {
  tls1_2,  ///< TLS 1.2 and 1.3
  tls1_3   ///< TLS 1.3 only
};

/// Whether a server asks for a client certificate.
enum class client_auth : uint8_t {
  none,      ///< not asked for
  optional,  ///< asked for and verified when sent; a client without one is accepted
  required,  ///< a client without a valid certificate fails the handshake
};

/// Settings both sides share. Defaults follow current practice (Mozilla's
/// "intermediate"): TLS 1.2 and 1.3, forward-secret AEAD ciphers only.
struct common_config {
  /// Our certificate chain (leaf first) as a PEM file...
  std::string cert_file;
  /// ...and our private key as a PEM file...
  std::string key_file;
  /// ...or the chain as PEM text (used when both file names are empty)...
  std::string cert_pem;
  /// ...and the key as PEM text.
  std::string key_pem;
  /// Trusted CAs for verifying the peer: a PEM file and/or a hashed
  /// directory (ca_dir). Both empty: the system's default trust store.
  std::string ca_file;
  /// A directory of CA certificates named by their hashes (OpenSSL's
  /// c_rehash layout), beside or instead of ca_file.
  std::string ca_dir;
  /// ALPN protocols, most preferred first (a server picks the first of its
  /// own that the client offers). Empty: no ALPN.
  std::vector<std::string> alpn;
  /// The oldest protocol version accepted.
  version min_version = version::tls1_2;
  /// TLS 1.2 cipher list (OpenSSL syntax). Empty: OpenSSL's defaults.
  std::string ciphers = "ECDHE+AESGCM:ECDHE+CHACHA20";
  /// TLS 1.3 cipher suites (OpenSSL syntax). Empty: OpenSSL's defaults.
  std::string ciphersuites;
  /// Key exchange groups, most preferred first. Empty: OpenSSL's defaults.
  std::string groups = "X25519:P-256:P-384";
  /// Session resumption (tickets on a server, a session cache per client
  /// context).
  bool session_resumption = true;
  /// The peer must complete the handshake within this, or the connection
  /// closes with close_reason::handshake_failed. 0 = no deadline.
  std::chrono::milliseconds handshake_timeout{10000};
};

/// A certificate a server presents to clients that ask for `name` (SNI).
struct named_certificate {
  /// A DNS name ("mail.example.org"), or "*.example.org" for the names
  /// one label below it; compared without regard to case.
  std::string name;
  std::string cert_file;  ///< as common_config's: PEM files...
  std::string key_file;   ///< ...certificate chain and key...
  std::string cert_pem;   ///< ...or PEM text
  std::string key_pem;    ///< ...of both
};

/// A TLS server's configuration. A certificate and key are required.
struct server_config : common_config {
  /// Whether to ask clients for a certificate, verified against the
  /// trusted CAs (ca_file, ca_dir).
  client_auth verify_client = client_auth::none;
  /// Other certificates, picked by the name a client sends (SNI): the first
  /// entry that matches wins; a client that sends no name or another one
  /// gets the default (cert_file/key_file). Every other setting is shared.
  std::vector<named_certificate> by_name;
};

/// A TLS client's configuration.
struct client_config : common_config {
  /// Sent as SNI and verified against the server's certificate (a DNS name,
  /// or an IP address literal). Empty: no SNI and no name check.
  std::string server_name;
  /// Verify the server's certificate chain (and server_name). Turn off for
  /// tests against self-signed servers only.
  bool verify_peer = true;
};

/// One SSL_CTX, built once from a configuration and shared by every
/// connection of a server or client. Make one per listener or client
/// configuration and pass transports() to the options' `transport`.
/// Thread safety: every method may be called from any thread.
class context {
 public:
  /// Builds a server context; throws config_error.
  static std::shared_ptr<context> server(server_config cfg);
  /// Builds a client context; throws config_error.
  static std::shared_ptr<context> client(client_config cfg);
  /// The factories and transports made from the context keep what they
  /// use: it may go before them.
  ~context();
  context(const context&) = delete;
  context& operator=(const context&) = delete;

  /// The factory for tcp_server_options::transport or
  /// tcp_client_options::transport: one TLS transport per connection.
  transport_factory transports();
  /// One TLS transport, for STARTTLS: conn->upgrade_transport(ctx->make_transport())
  /// once the plaintext protocol has agreed to it.
  std::unique_ptr<transport> make_transport();

  /// Reads the certificate, key and CA files again and builds a new
  /// SSL_CTX: connections made from now on use it, open ones keep theirs.
  /// On failure throws config_error and the old one stays in use.
  void reload();

  /// Handshakes that failed (bad input, wrong certificate, timeout) so far.
  uint64_t handshake_failures() const;

  struct impl;
  /// Only server() and client() make one (the constructor is public for
  /// std::make_shared, and this key keeps it theirs).
  class token {
    token() = default;
    friend class context;
  };
  /// For server() and client() only, through std::make_shared: nothing
  /// else can make a token.
  context(token, std::unique_ptr<impl> p);

 private:
  static std::shared_ptr<context> make(std::variant<server_config, client_config> config);
  std::shared_ptr<impl> impl_;
};

/// What a TLS connection negotiated.
struct session_info {
  std::string version;       ///< "TLSv1.3", "TLSv1.2"
  std::string cipher;        ///< OpenSSL's name of the cipher suite
  std::string alpn;          ///< the selected ALPN protocol, empty if none
  std::string server_name;   ///< the SNI the client sent (server side), empty if none
  std::string peer_subject;  ///< the verified peer certificate's subject, empty if none
  bool resumed = false;      ///< the session was resumed (no full handshake)
};

/// The TLS details of `c`, or nullopt when it does not run over TLS. Valid
/// from on_connect on (the handshake is done by then). Loop thread only.
std::optional<session_info> info(const connection& c);

}  // namespace fastnet::tls
