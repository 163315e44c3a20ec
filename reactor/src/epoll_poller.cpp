// fastnet — the epoll backend: a level-triggered epoll set.
#include <sys/epoll.h>

#include <cerrno>
#include <system_error>
#include <vector>

#include "fastnet/socket.hpp"
#include "poller.hpp"

namespace fastnet::detail {
namespace {

// Events taken per epoll_wait; more wait for the next call (a larger batch
// measured no better: bench/RESULTS.md, issue 15).
constexpr int max_events = 256;

class epoll_poller final : public poller {
 public:
  epoll_poller() : fd_(::epoll_create1(EPOLL_CLOEXEC)), events_(max_events) {
    if (!fd_) throw std::system_error(errno, std::generic_category(), "epoll_create1");
  }

  void watch(int fd, uint32_t events, io_handler* h) override {
    control(EPOLL_CTL_ADD, fd, events, h);
  }
  void modify(int fd, uint32_t events, io_handler* h) override {
    control(EPOLL_CTL_MOD, fd, events, h);
  }
  void unwatch(int fd) override {
    epoll_event ev{};
    (void)::epoll_ctl(fd_.get(), EPOLL_CTL_DEL, fd, &ev);
  }

  int wait(int timeout_ms) override {
    ready_ = ::epoll_wait(fd_.get(), events_.data(), max_events, timeout_ms);
    return ready_;
  }

  void dispatch() override {
    for (int i = 0; i < ready_; ++i)
      static_cast<io_handler*>(events_[i].data.ptr)->handle_events(events_[i].events);
    ready_ = 0;
  }

  backend kind() const override { return backend::epoll; }

 private:
  void control(int op, int fd, uint32_t events, io_handler* h) {
    epoll_event ev{};
    ev.events = events;
    ev.data.ptr = h;
    if (::epoll_ctl(fd_.get(), op, fd, &ev) != 0)
      throw std::system_error(errno, std::generic_category(),
                              op == EPOLL_CTL_ADD ? "epoll_ctl(ADD)" : "epoll_ctl(MOD)");
  }

  unique_fd fd_;
  std::vector<epoll_event> events_;
  int ready_ = 0;  // events the last wait() returned
};

}  // namespace

std::unique_ptr<poller> make_epoll_poller() {
  return std::make_unique<epoll_poller>();
}

}  // namespace fastnet::detail
