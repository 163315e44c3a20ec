#include "fastnet/socket.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

namespace fastnet {

unique_fd& unique_fd::operator=(unique_fd&& other) noexcept {
  if (this != &other) reset(other.release());
  return *this;
}

void unique_fd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

namespace sockets {
namespace {

[[noreturn]] void throw_errno(int err, const std::string& what) {
  throw std::system_error(err, std::generic_category(), what);
}

void set_int(int fd, int level, int name, int value) {
  // Options are best effort on an already-open socket; a failure here is
  // not worth losing the connection for.
  (void)::setsockopt(fd, level, name, &value, sizeof value);
}

}  // namespace

unique_fd create_stream(int family) {
  int fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw_errno(errno, "socket()");
  return unique_fd(fd);
}

void apply(int fd, int family, const socket_options& opts) {
  if (family == AF_INET || family == AF_INET6) {
    set_int(fd, IPPROTO_TCP, TCP_NODELAY, opts.tcp_nodelay ? 1 : 0);
    if (opts.keepalive) set_int(fd, SOL_SOCKET, SO_KEEPALIVE, 1);
  }
  if (opts.recv_buffer) set_int(fd, SOL_SOCKET, SO_RCVBUF, *opts.recv_buffer);
  if (opts.send_buffer) set_int(fd, SOL_SOCKET, SO_SNDBUF, *opts.send_buffer);
}

unique_fd listen(const socket_address& addr, const socket_options& opts, int backlog) {
  unique_fd fd = create_stream(addr.family());
  if (addr.family() == AF_UNIX) {
    // A leftover socket file from an earlier run would make bind fail; only
    // remove it when it really is a socket, never a regular file.
    struct stat st {};
    std::string path = addr.host();
    if (::stat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) ::unlink(path.c_str());
  } else {
    if (opts.reuse_addr) set_int(fd.get(), SOL_SOCKET, SO_REUSEADDR, 1);
    if (opts.reuse_port) set_int(fd.get(), SOL_SOCKET, SO_REUSEPORT, 1);
    if (addr.family() == AF_INET6) set_int(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, 0);
  }
  apply(fd.get(), addr.family(), opts);
  if (::bind(fd.get(), addr.data(), addr.size()) != 0)
    throw_errno(errno, "bind(" + addr.to_string() + ")");
  if (::listen(fd.get(), backlog) != 0) throw_errno(errno, "listen(" + addr.to_string() + ")");
  return fd;
}

socket_address local_address(int fd) {
  socket_address a;
  socklen_t len = socket_address::capacity();
  if (::getsockname(fd, a.data(), &len) == 0) a.set_size(len);
  return a;
}

socket_address peer_address(int fd) {
  socket_address a;
  socklen_t len = socket_address::capacity();
  if (::getpeername(fd, a.data(), &len) == 0) a.set_size(len);
  return a;
}

int pending_error(int fd) {
  int err = 0;
  socklen_t len = sizeof err;
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return errno;
  return err;
}

void set_linger_zero(int fd) {
  linger l{1, 0};
  (void)::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
}

}  // namespace sockets
}  // namespace fastnet
