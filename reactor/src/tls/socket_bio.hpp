// fastnet::tls — a BIO that moves ciphertext straight between OpenSSL and
// the socket (internal).
#pragma once

#include <openssl/bio.h>

namespace fastnet::tls {

/// A BIO method reading with recv() and writing with send(MSG_NOSIGNAL) on
/// the descriptor set with BIO_set_fd-like set_socket_bio_fd(). OpenSSL's
/// own socket BIO writes with write(), which raises SIGPIPE on a closed
/// peer; a library must not change a process's signal dispositions, and
/// fastnet's plain TCP path uses MSG_NOSIGNAL for the same reason. There is
/// no buffering here: the only ciphertext buffers are OpenSSL's record
/// buffers, released while a connection is idle (SSL_MODE_RELEASE_BUFFERS).
/// Returns null if OpenSSL cannot make one. Any thread.
BIO_METHOD* make_socket_bio_method();

/// A BIO of `method` on socket `fd` (not owned). Null on failure.
BIO* new_socket_bio(const BIO_METHOD* method, int fd);

}  // namespace fastnet::tls
