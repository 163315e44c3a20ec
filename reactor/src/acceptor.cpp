#include "acceptor.hpp"

#include <fcntl.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "log.hpp"

namespace fastnet::detail {
namespace {
// Accepts per readiness event: enough to drain bursts of short connections,
// few enough that IO on the same loop is not starved.
constexpr int accepts_per_event = 64;
constexpr auto emfile_backoff = std::chrono::milliseconds(100);

unique_fd open_spare() {
  return unique_fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
}
}  // namespace

acceptor::acceptor(event_loop& loop, unique_fd listen_fd, accept_fn on_accept)
    : loop_(loop),
      listen_fd_(std::move(listen_fd)),
      spare_fd_(open_spare()),
      on_accept_(std::move(on_accept)) {
  loop_.assert_in_loop_thread();
  loop_.watch(listen_fd_.get(), EPOLLIN, this);
  watching_ = true;
}

acceptor::~acceptor() {
  if (retry_timer_) loop_.cancel(retry_timer_);
  if (watching_) loop_.unwatch(listen_fd_.get());
}

void acceptor::handle_events(uint32_t) {
  for (int i = 0; i < accepts_per_event; ++i) {
    socket_address peer;
    socklen_t len = socket_address::capacity();
    int fd = ::accept4(listen_fd_.get(), peer.data(), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      peer.set_size(len);
      on_accept_(unique_fd(fd), peer);
      continue;
    }
    int err = errno;
    if (err == EAGAIN || err == EWOULDBLOCK) return;
    if (err == EINTR || err == ECONNABORTED || err == EPROTO) continue;
    if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
      out_of_descriptors(err);
      return;
    }
    detail::log().error("accept: {}", std::strerror(err));
    return;
  }
}

void acceptor::out_of_descriptors(int err) {
  ++refused_emfile_;
  if (refused_emfile_ == 1 || refused_emfile_ % 1000 == 0)
    detail::log().warn("accept: {} ({} refused so far); closing waiting connections",
                       std::strerror(err), refused_emfile_);
  if (spare_fd_) {
    // Free one descriptor, take the waiting connection and close it at once.
    spare_fd_.reset();
    int fd = ::accept4(listen_fd_.get(), nullptr, nullptr, SOCK_CLOEXEC);
    if (fd >= 0) ::close(fd);
    spare_fd_ = open_spare();
    if (fd >= 0) return;
  }
  // No spare (another thread took the slot): stop watching the listener for
  // a moment instead of spinning on a readiness we cannot serve.
  if (!watching_) return;
  loop_.unwatch(listen_fd_.get());
  watching_ = false;
  retry_timer_ = loop_.run_after(emfile_backoff, [this] {
    retry_timer_ = {};
    if (!spare_fd_) spare_fd_ = open_spare();
    loop_.watch(listen_fd_.get(), EPOLLIN, this);
    watching_ = true;
  });
}

}  // namespace fastnet::detail
