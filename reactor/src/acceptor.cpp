#include "acceptor.hpp"

#include <fcntl.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "log.hpp"

namespace fastnet::detail {
namespace {
// Attempts per readiness event when an accept fails transiently (EINTR,
// ECONNABORTED): bounded so a storm of aborted handshakes cannot hold the loop.
constexpr int attempts_per_event = 8;
constexpr auto emfile_backoff = std::chrono::milliseconds(100);

unique_fd open_spare() {
  return unique_fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
}
}  // namespace

acceptor::acceptor(event_loop& loop, unique_fd listen_fd, accept_fn on_accept,
                   std::atomic<uint64_t>* resource_errors)
    : loop_(loop),
      listen_fd_(std::move(listen_fd)),
      spare_fd_(open_spare()),
      on_accept_(std::move(on_accept)),
      resource_errors_(resource_errors) {
  loop_.assert_in_loop_thread();
  loop_.watch(listen_fd_.get(), EPOLLIN, this);
  watching_ = true;
}

acceptor::~acceptor() {
  if (retry_timer_) loop_.cancel(retry_timer_);
  if (watching_) loop_.unwatch(listen_fd_.get());
}

void acceptor::handle_events(uint32_t) {
  // One connection per readiness event. Draining the queue until EAGAIN cost
  // a failed accept4 per event, nearly one per connection when short
  // connections arrive a few at a time (measured: 1.86 accept4 calls per
  // connection). The listener is level-triggered, so while connections wait
  // the next pass reports it again: a burst is still drained, one per pass,
  // between the IO of this loop's connections (nginx's multi_accept off).
  for (int i = 0; i < attempts_per_event; ++i) {
    socket_address peer;
    socklen_t len = socket_address::capacity();
    int fd = ::accept4(listen_fd_.get(), peer.data(), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      peer.set_size(len);
      on_accept_(unique_fd(fd), peer);
      return;
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
  if (resource_errors_ != nullptr) resource_errors_->fetch_add(1, std::memory_order_relaxed);
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
