#include "socket_bio.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace fastnet::tls {
namespace {

socket_bio_state& state_of(BIO* b) {
  return *static_cast<socket_bio_state*>(BIO_get_data(b));
}

bool retryable(int err) {
  return err == EAGAIN || err == EWOULDBLOCK || err == EINTR;
}

int bio_write(BIO* b, const char* data, int len) {
  BIO_clear_retry_flags(b);
  ssize_t n = ::send(state_of(b).fd, data, static_cast<size_t>(len), MSG_NOSIGNAL);
  if (n < 0 && retryable(errno)) BIO_set_retry_write(b);
  return static_cast<int>(n);
}

int bio_read(BIO* b, char* data, int len) {
  BIO_clear_retry_flags(b);
  socket_bio_state& s = state_of(b);
  if (s.at < s.pending.size()) {  // what the connection read before us comes first
    const size_t n = std::min(static_cast<size_t>(len), s.pending.size() - s.at);
    std::memcpy(data, s.pending.data() + s.at, n);
    s.at += n;
    if (s.at == s.pending.size()) s.pending = {};
    return static_cast<int>(n);
  }
  ssize_t n = ::recv(s.fd, data, static_cast<size_t>(len), 0);
  if (n < 0 && retryable(errno)) BIO_set_retry_read(b);
  return static_cast<int>(n);
}

long bio_ctrl(BIO* b, int cmd, long num, void* ptr) {
  (void)b;
  (void)num;
  (void)ptr;
  // A flush has nothing to do: every write went to the socket at once.
  return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

}  // namespace

BIO_METHOD* make_socket_bio_method() {
  BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "fastnet socket");
  if (m == nullptr) return nullptr;
  BIO_meth_set_write(m, bio_write);
  BIO_meth_set_read(m, bio_read);
  BIO_meth_set_ctrl(m, bio_ctrl);
  return m;
}

BIO* new_socket_bio(const BIO_METHOD* method, socket_bio_state& state) {
  BIO* b = BIO_new(method);
  if (b == nullptr) return nullptr;
  BIO_set_data(b, &state);
  BIO_set_init(b, 1);
  return b;
}

}  // namespace fastnet::tls
