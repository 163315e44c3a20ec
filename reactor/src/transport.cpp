#include "transport.hpp"

#include <sys/socket.h>

namespace fastnet::detail {

// One buffer goes through recv/send rather than readv/sendmsg: the kernel
// then skips copying and checking an iovec array (and a msghdr), which perf
// put at 3 % of a small-message echo server's time (import_iovec,
// copy_msghdr_from_user). Most reads and writes are a single buffer.
ssize_t tcp_transport::read(int fd, const iovec* iov, int count) {
  if (count == 1) return ::recv(fd, iov[0].iov_base, iov[0].iov_len, 0);
  return ::readv(fd, iov, count);
}

ssize_t tcp_transport::write(int fd, const iovec* iov, size_t count) {
  if (count == 1) return ::send(fd, iov[0].iov_base, iov[0].iov_len, MSG_NOSIGNAL);
  msghdr msg{};
  msg.msg_iov = const_cast<iovec*>(iov);
  msg.msg_iovlen = count;
  return ::sendmsg(fd, &msg, MSG_NOSIGNAL);
}

void tcp_transport::shutdown_write(int fd) {
  ::shutdown(fd, SHUT_WR);
}

tcp_transport& tcp_transport::instance() {
  static tcp_transport shared;  // stateless: safe to share between loops
  return shared;
}

}  // namespace fastnet::detail
