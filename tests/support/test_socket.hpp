// Test support: a blocking client socket with deadline-bounded IO, a plain
// listener for the peer side of fastnet's clients, a waitable counter, and a
// bounded poll for counters without a notification, so tests wait on events
// instead of sleeping.
#pragma once

#include <fastnet/connection.hpp>
#include <fastnet/handler.hpp>
#include <fastnet/socket.hpp>
#include <fastnet/socket_address.hpp>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>

namespace fastnet::test {

using namespace std::chrono_literals;

/// Waits until `fd` is ready for `events` (poll), retrying on EINTR; false
/// at the deadline or on a poll error.
inline bool wait_ready(int fd, short events, std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, events, 0};
    int r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r > 0) return true;
    if (r < 0 && errno != EINTR) return false;
  }
}

/// Waits until `done()` holds, checking every 2 ms (for counters that have
/// no notification, such as handshake_failures() or stats()); false at the timeout.
template <class Pred>
bool eventually(Pred done, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return done();
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

/// How a read that runs to the end of the stream finished.
enum class end_kind { eof, reset, timeout };

/// A client socket for tests. Every wait is bounded by a deadline, so a bug
/// makes a test fail instead of hang. Thread safety: one thread at a time.
class client_socket {
 public:
  /// Connects (blocking) to `addr`, optionally from a chosen local address.
  static client_socket connect(const socket_address& addr,
                               const std::optional<socket_address>& from = std::nullopt) {
    client_socket s;
    s.fd_.reset(::socket(addr.family(), SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!s.fd_) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    if (from && ::bind(s.fd_.get(), from->data(), from->size()) != 0)
      throw std::runtime_error(std::string("bind: ") + std::strerror(errno));
    if (::connect(s.fd_.get(), addr.data(), addr.size()) != 0)
      throw std::runtime_error(std::string("connect: ") + std::strerror(errno));
    if (addr.is_ip()) {
      int one = 1;
      ::setsockopt(s.fd_.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    return s;
  }

  /// Wraps an already connected socket (see test_listener).
  static client_socket adopt(unique_fd fd) {
    client_socket s;
    s.fd_ = std::move(fd);
    return s;
  }

  int fd() const { return fd_.get(); }

  /// Writes everything; false on error or when the deadline passes.
  bool write_all(std::string_view data, std::chrono::milliseconds timeout = 10s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    size_t off = 0;
    while (off < data.size()) {
      if (!wait_ready(fd_.get(), POLLOUT, deadline)) return false;
      ssize_t n = ::send(fd_.get(), data.data() + off, data.size() - off, MSG_NOSIGNAL);
      if (n < 0 && errno != EINTR && errno != EAGAIN) return false;
      if (n > 0) off += static_cast<size_t>(n);
    }
    return true;
  }

  /// Reads exactly n bytes; nullopt on EOF, error or deadline.
  std::optional<std::string> read_exact(size_t n, std::chrono::milliseconds timeout = 10s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string out(n, '\0');
    size_t off = 0;
    while (off < n) {
      if (!wait_ready(fd_.get(), POLLIN, deadline)) return std::nullopt;
      ssize_t r = ::recv(fd_.get(), out.data() + off, n - off, 0);
      if (r == 0) return std::nullopt;
      if (r < 0 && errno != EINTR && errno != EAGAIN) return std::nullopt;
      if (r > 0) off += static_cast<size_t>(r);
    }
    return out;
  }

  /// Reads until EOF, reset or the deadline; appends what arrived to `out`.
  end_kind read_to_end(std::string& out, std::chrono::milliseconds timeout = 10s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    char buf[65536];
    for (;;) {
      if (!wait_ready(fd_.get(), POLLIN, deadline)) return end_kind::timeout;
      ssize_t r = ::recv(fd_.get(), buf, sizeof buf, 0);
      if (r == 0) return end_kind::eof;
      if (r < 0) {
        if (errno == EINTR || errno == EAGAIN) continue;
        return end_kind::reset;
      }
      out.append(buf, static_cast<size_t>(r));
    }
  }

  void shutdown_write() { ::shutdown(fd_.get(), SHUT_WR); }
  /// Makes close() send RST.
  void set_linger_zero() { sockets::set_linger_zero(fd_.get()); }
  void set_recv_buffer(int bytes) {
    ::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
  }
  void close() { fd_.reset(); }

 private:
  unique_fd fd_;
};

/// A listening socket on 127.0.0.1 (an ephemeral port), for tests that drive
/// one of fastnet's clients from a plain peer. Thread safety: one thread.
class test_listener {
 public:
  test_listener() : fd_(sockets::listen(*socket_address::ip("127.0.0.1", 0), {}, 16)) {}
  socket_address address() const { return sockets::local_address(fd_.get()); }
  /// The next connection; nullopt when none arrives before the deadline.
  std::optional<client_socket> accept(std::chrono::milliseconds timeout = 10s) {
    if (!wait_ready(fd_.get(), POLLIN, std::chrono::steady_clock::now() + timeout))
      return std::nullopt;
    unique_fd conn(::accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!conn) return std::nullopt;
    return client_socket::adopt(std::move(conn));
  }

 private:
  unique_fd fd_;
};

/// Raises the soft descriptor limit to the hard one (large tests need it).
inline void raise_nofile() {
  rlimit rl{};
  ::getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &rl);
}

/// Deterministic pseudo-random bytes.
inline std::string random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s)
    c = static_cast<char>(rng());
  return s;
}

/// A counter that threads can wait on.
class waitable_counter {
 public:
  void add(long n = 1) {
    std::lock_guard lock(mutex_);
    value_ += n;
    cv_.notify_all();
  }
  long value() const {
    std::lock_guard lock(mutex_);
    return value_;
  }
  /// Waits until value() >= target; false after the timeout.
  bool wait_for_at_least(long target, std::chrono::milliseconds timeout = 10s) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] { return value_ >= target; });
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  long value_ = 0;
};

/// An echo handler that records what it saw, for assertions.
class recording_echo : public tcp_handler {
 public:
  void on_connect(const connection_ptr&) override { connects.add(); }
  void on_message(const connection_ptr& c, std::span<const std::byte> frame) override {
    frames.fetch_add(1);
    if (c->send(frame)) echoed_bytes.fetch_add(frame.size());
  }
  void on_close(const connection_ptr&, close_reason why) override {
    {
      std::lock_guard lock(mutex);
      reasons.push_back(why);
    }
    closes.add();
  }
  std::vector<close_reason> close_reasons() {
    std::lock_guard lock(mutex);
    return reasons;
  }

  waitable_counter connects;
  waitable_counter closes;
  std::atomic<size_t> frames{0};
  std::atomic<size_t> echoed_bytes{0};
  std::mutex mutex;
  std::vector<close_reason> reasons;
};

}  // namespace fastnet::test
