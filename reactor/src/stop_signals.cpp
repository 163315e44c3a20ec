#include "fastnet/stop_signals.hpp"

#include <pthread.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "fastnet/event_loop.hpp"

namespace fastnet {

/// Reads the signalfd when the loop reports it readable. Loop thread only.
class stop_signals::loop_watch final : public io_handler {
 public:
  loop_watch(int fd, std::function<void(int)> fn) : fd_(fd), fn_(std::move(fn)) {}
  void handle_events(uint32_t) override {
    signalfd_siginfo info{};
    while (::read(fd_, &info, sizeof info) == static_cast<ssize_t>(sizeof info))
      fn_(static_cast<int>(info.ssi_signo));
  }

 private:
  int fd_;
  std::function<void(int)> fn_;
};

stop_signals::stop_signals() : stop_signals({SIGINT, SIGTERM}) {}

stop_signals::stop_signals(std::initializer_list<int> signals) {
  sigemptyset(&set_);
  for (int s : signals)
    sigaddset(&set_, s);
  if (int err = ::pthread_sigmask(SIG_BLOCK, &set_, &previous_); err != 0)
    throw std::system_error(err, std::generic_category(), "pthread_sigmask");
  fd_.reset(::signalfd(-1, &set_, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!fd_) {
    const int err = errno;
    ::pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
    throw std::system_error(err, std::generic_category(), "signalfd");
  }
}

stop_signals::~stop_signals() {
  // Closing the signalfd also takes it out of a loop's epoll set (it has no
  // other descriptor), so the loop need not be alive for this.
  fd_.reset();
  watch_.reset();
  ::pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
}

int stop_signals::wait() {
  for (;;) {
    int sig = 0;
    if (::sigwait(&set_, &sig) == 0) return sig;
  }
}

void stop_signals::on_loop(event_loop& loop, std::function<void(int)> fn) {
  watch_ = std::make_unique<loop_watch>(fd_.get(), std::move(fn));
  // Before run() this waits in the loop's queue for its first iteration.
  loop.run_in_loop([&loop, fd = fd_.get(), h = watch_.get()] { loop.watch(fd, EPOLLIN, h); });
}

const char* stop_signals::name(int signal) {
  switch (signal) {
    case SIGINT:
      return "SIGINT";
    case SIGTERM:
      return "SIGTERM";
    case SIGHUP:
      return "SIGHUP";
    case SIGQUIT:
      return "SIGQUIT";
    default:
      return "signal";
  }
}

}  // namespace fastnet
