// Test support: lines read from a descriptor (a pipe or a socket), each wait
// bounded by a deadline, so tests wait on what a peer sends instead of sleeping.
#pragma once

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <optional>
#include <string>

namespace fastnet::test {

/// Lines read from a descriptor (a pipe or a socket), each wait bounded.
/// Thread safety: one thread.
class line_reader {
 public:
  explicit line_reader(int fd) : fd_(fd) {}

  /// The next line without its '\n'; nullopt on EOF, error or timeout.
  std::optional<std::string> read_line(
      std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto nl = buf_.find('\n', pos_);
      if (nl != std::string::npos) {
        std::string line = buf_.substr(pos_, nl - pos_);
        pos_ = nl + 1;
        // Drop what was read once it is all consumed, or once it is large
        // (a long stream of lines that always leaves a partial one behind).
        if (pos_ == buf_.size() || pos_ > (1 << 16)) {
          buf_.erase(0, pos_);
          pos_ = 0;
        }
        return line;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      pollfd p{fd_, POLLIN, 0};
      int r = ::poll(&p, 1, static_cast<int>(left.count()));
      if (r < 0 && errno != EINTR) return std::nullopt;
      if (r <= 0) continue;
      char chunk[65536];
      ssize_t n = ::read(fd_, chunk, sizeof chunk);  // read(): pipes and sockets alike
      if (n == 0) return std::nullopt;
      if (n < 0) {
        if (errno == EINTR || errno == EAGAIN) continue;
        return std::nullopt;
      }
      buf_.append(chunk, static_cast<size_t>(n));
    }
  }

  /// The bytes received but not yet returned as lines; the reader is empty after.
  std::string take_buffered() {
    std::string rest = buf_.substr(pos_);
    buf_.clear();
    pos_ = 0;
    return rest;
  }

 private:
  int fd_;
  std::string buf_;
  size_t pos_ = 0;
};

}  // namespace fastnet::test
