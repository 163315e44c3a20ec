// fastnet::actors — links between nodes (BASP) over TLS with mutual
// authentication, on CAF 0.17's OpenSSL module (libcaf_openssl).
//
// Built when CAF's OpenSSL module is found (FASTNET_ACTORS_TLS). Linking a
// program that calls these functions also links fastnet's fixes for two bugs
// of the 0.17 module (see node_tls.cpp): definitions of SSL_read, SSL_write,
// SSL_connect and SSL_accept that clear OpenSSL's error queue before calling
// libssl's own, and a bound on a TLS handshake that an accepted peer leaves
// unfinished. They apply to every OpenSSL call in that program, which is
// harmless for other users of libssl: clearing the queue before each I/O call
// is OpenSSL's documented rule.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/expected.hpp>
#include <caf/io/middleman_actor.hpp>

namespace fastnet::actors {

/// The PEM files of a node's TLS links. All three empty: BASP in plaintext.
/// Every node of a cluster needs the same CA: a node whose certificate does
/// not chain to it (or a plaintext node) never joins. CAF 0.17 checks no host
/// name (any certificate from the CA is a member) and reads no encrypted key.
struct node_tls {
  std::string ca;    ///< the cluster's CA: peers must chain to it
  std::string cert;  ///< this node's certificate (chain), sent to every peer
  std::string key;   ///< its private key, unencrypted
  /// True when the links run over TLS (the CA is set). Any thread.
  bool enabled() const { return !ca.empty(); }
};

/// How long an accepted peer may take to finish its TLS handshake before the
/// connection is failed (CAF 0.17 spins the middleman's thread meanwhile).
inline constexpr std::chrono::milliseconds node_tls_handshake_deadline{1000};

/// Loads the files as CAF's module will, once, now: the module loads them
/// again for each connection inside the middleman's thread and throws there
/// when one is bad, which would end the process at its first peer instead of
/// at start-up. Returns what is wrong (with OpenSSL's reasons), or nullopt.
/// Any thread.
std::optional<std::string> check_node_tls(const node_tls& tls);

/// With `tls.enabled()`, loads CAF's OpenSSL module into `cfg` and gives it
/// the files: both ends then send a certificate and require the peer's,
/// verified against the CA. Call after configure_node (the module needs the
/// middleman) and before the actor_system is built. Without TLS it does
/// nothing. Any thread.
void configure_node_tls(caf::actor_system_config& cfg, const node_tls& tls);

/// publish() over TLS when `tls.enabled()` (the OpenSSL module's own
/// listener, SO_REUSEADDR as well), in plaintext otherwise. `sys` must have
/// been configured with the same `tls`. Returns the bound port. Blocks until
/// bound; call from a controlling thread, not from an actor.
caf::expected<uint16_t> publish(caf::actor_system& sys, const caf::actor& whom, uint16_t port,
                                const std::string& host, const node_tls& tls);

/// The middleman actor that connects to other nodes, for
/// worker_ring_options::middleman: the OpenSSL module's when
/// `tls.enabled()`, an unset handle (the plain middleman) otherwise. Any
/// thread, once `sys` exists.
caf::io::middleman_actor node_middleman(caf::actor_system& sys, const node_tls& tls);

}  // namespace fastnet::actors
