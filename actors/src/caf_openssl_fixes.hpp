// Fixes for two bugs of CAF 0.17.6's OpenSSL module (see the .cpp).
#pragma once

namespace fastnet::actors::detail {

/// Does nothing. node_tls.cpp calls it so that a static link that pulls in
/// node_tls.o also pulls in caf_openssl_fixes.o, whose SSL_* definitions
/// then sit in the executable, ahead of libssl's in symbol lookup.
void link_caf_openssl_fixes();

}  // namespace fastnet::actors::detail
