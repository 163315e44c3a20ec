// libFuzzer target: the TLS transport's server side, fed through memory.
// The input is handed to a fresh server transport as bytes the connection
// "already read" (the STARTTLS path), so OpenSSL parses it before touching
// the socket; the socket is one end of a socketpair nobody writes to, so
// every read after the input says "would block". Whatever the input, the
// transport must end in "would block", EOF or a clean error, never crash,
// leak or loop. The server's certificate is made in memory at start (no key
// in the tree).
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <fastnet/tls/context.hpp>
#include <memory>
#include <span>
#include <string>

namespace {

std::string to_pem(int (*write)(BIO*, void*), void* object) {
  BIO* mem = BIO_new(BIO_s_mem());
  write(mem, object);
  char* data = nullptr;
  long len = BIO_get_mem_data(mem, &data);
  std::string out(data, static_cast<size_t>(len));
  BIO_free(mem);
  return out;
}

int write_cert(BIO* b, void* x) {
  return PEM_write_bio_X509(b, static_cast<X509*>(x));
}
int write_key(BIO* b, void* k) {
  return PEM_write_bio_PrivateKey(b, static_cast<EVP_PKEY*>(k), nullptr, nullptr, 0, nullptr,
                                  nullptr);
}

// A self-signed P-256 certificate for "localhost", made once.
std::shared_ptr<fastnet::tls::context> make_context() {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert), 86400);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  X509_sign(cert, key, EVP_sha256());
  fastnet::tls::server_config cfg;
  cfg.cert_pem = to_pem(write_cert, cert);
  cfg.key_pem = to_pem(write_key, key);
  cfg.alpn = {"fastnet/1"};
  X509_free(cert);
  EVP_PKEY_free(key);
  return fastnet::tls::context::server(cfg);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto ctx = make_context();
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds) != 0) std::abort();
  {
    auto t = ctx->make_transport();
    t->start(fds[0], std::as_bytes(std::span(data, size)));
    char buf[4096];
    iovec iov{buf, sizeof buf};
    // Each read consumes input or ends: bounded by the input's length.
    for (size_t rounds = 0;; ++rounds) {
      if (rounds > size + 16) std::abort();  // a read that makes no progress
      ssize_t n = t->read(fds[0], &iov, 1);
      if (n == 0) break;
      if (n < 0) {
        if (errno != EAGAIN && errno != EPROTO && errno != ECONNRESET) std::abort();
        if (errno != EAGAIN || !t->has_buffered_input()) break;
      }
    }
    (void)t->write(fds[0], nullptr, 0);
  }
  ::close(fds[0]);
  ::close(fds[1]);
  return 0;
}
