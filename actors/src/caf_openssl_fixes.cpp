// Fixes for two bugs of CAF 0.17.6's OpenSSL module, by interposition.
//
// 1. OpenSSL keeps an error queue per thread and SSL_get_error() consults it:
// a queue left non-empty by an earlier failure turns a harmless WANT_READ
// into SSL_ERROR_SSL. CAF 0.17's caf::openssl::session never clears the
// queue (only its logging would drain it; Debian builds CAF with
// CAF_LOG_LEVEL QUIET), and all sessions of a node run on the middleman's one
// thread. So one failed handshake (a peer with a wrong certificate, a
// plaintext node, a port scanner) left errors behind, and the next read of a
// *good* link that found no data was taken as fatal: the link dropped with
// what was in flight (measured with the cluster example: a reply lost per
// refused attempt, and now and then a good worker reported down). OpenSSL's
// documented rule is to clear the queue before each I/O call; these
// definitions do that, then call libssl's own. A static library's object
// lands in the executable, which comes first in symbol lookup, so
// libcaf_openssl's calls land here. Only the four calls 0.17's session makes.
//
// 2. SSL_accept also bounds a second bug of 0.17 (fixed upstream in 0.18.4):
// a node queues its BASP handshake on every accepted connection, and while
// the TLS handshake waits for the peer's first bytes each write attempt
// returns "success, 0 bytes", so the middleman's thread spins at 100 % CPU
// until the peer speaks or leaves (measured: 4.3 s of CPU in 5 s for one
// silent TCP connection). A handshake still unfinished after
// node_tls_handshake_deadline is failed instead, and CAF closes the
// connection.
#include "caf_openssl_fixes.hpp"

#include <dlfcn.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <bit>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "fastnet/actors/node_tls.hpp"

namespace fastnet::actors::detail {

void link_caf_openssl_fixes() {}

namespace {
/// libssl's definition of `name`: the next one after the executable's.
template <class F>
F next_definition(const char* name) {
  void* f = ::dlsym(RTLD_NEXT, name);
  if (f == nullptr) {
    std::fprintf(stderr, "fastnet: %s not found after the executable\n", name);
    std::abort();
  }
  return std::bit_cast<F>(f);
}

/// Milliseconds on the steady clock, plus one (so that 0 means "not set").
uintptr_t now_ms() {
  using namespace std::chrono;
  return static_cast<uintptr_t>(
      duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count() + 1);
}
}  // namespace

}  // namespace fastnet::actors::detail

extern "C" {
int SSL_read(SSL* ssl, void* buf, int num) {
  using fastnet::actors::detail::next_definition;
  static const auto real = next_definition<int (*)(SSL*, void*, int)>("SSL_read");
  ERR_clear_error();
  return real(ssl, buf, num);
}

int SSL_write(SSL* ssl, const void* buf, int num) {
  using fastnet::actors::detail::next_definition;
  static const auto real = next_definition<int (*)(SSL*, const void*, int)>("SSL_write");
  ERR_clear_error();
  return real(ssl, buf, num);
}

int SSL_connect(SSL* ssl) {
  using fastnet::actors::detail::next_definition;
  static const auto real = next_definition<int (*)(SSL*)>("SSL_connect");
  ERR_clear_error();
  return real(ssl);
}

int SSL_accept(SSL* ssl) {
  using fastnet::actors::detail::next_definition;
  static const auto real = next_definition<int (*)(SSL*)>("SSL_accept");
  // The first attempt's time (now_ms()) in the SSL object's ex data.
  static const int started_index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  ERR_clear_error();
  int r = real(ssl);
  if (r == 1 || started_index < 0) return r;
  int err = SSL_get_error(ssl, r);
  if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) return r;
  auto now = fastnet::actors::detail::now_ms();
  auto started = reinterpret_cast<uintptr_t>(SSL_get_ex_data(ssl, started_index));
  if (started == 0) {
    SSL_set_ex_data(ssl, started_index, reinterpret_cast<void*>(now));
  } else if (now - started >
             static_cast<uintptr_t>(fastnet::actors::node_tls_handshake_deadline.count())) {
    ERR_raise(ERR_LIB_SYS, ETIMEDOUT);  // SSL_get_error() now says: fatal
    return -1;
  }
  return r;
}
}  // extern "C"
