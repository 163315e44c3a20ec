// fastnet::tls — a BIO that moves ciphertext straight between OpenSSL and
// the socket (internal).
#pragma once

#include <openssl/bio.h>

#include <cstddef>
#include <string>

namespace fastnet::tls {

/// What a socket BIO reads from and writes to: the socket, and before it
/// the bytes the connection had already read (`pending`, from `at` on).
struct socket_bio_state {
  int fd = -1;
  std::string pending;
  size_t at = 0;
};

/// A BIO method reading with recv() and writing with send(MSG_NOSIGNAL) on
/// a socket_bio_state's socket. OpenSSL's
/// own socket BIO writes with write(), which raises SIGPIPE on a closed
/// peer; a library must not change a process's signal dispositions, and
/// fastnet's plain TCP path uses MSG_NOSIGNAL for the same reason. There is
/// no buffering here: the only ciphertext buffers are OpenSSL's record
/// buffers, released while a connection is idle (SSL_MODE_RELEASE_BUFFERS).
/// Returns null if OpenSSL cannot make one. Any thread.
BIO_METHOD* make_socket_bio_method();

/// A BIO of `method` on `state`, which must outlive it. Null on failure.
BIO* new_socket_bio(const BIO_METHOD* method, socket_bio_state& state);

}  // namespace fastnet::tls
