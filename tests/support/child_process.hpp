// Test support: a program run as a child process with its stdout on a pipe,
// so tests wait on what a process prints or on its exit instead of sleeping.
#pragma once

#include <fastnet/socket.hpp>

#include "line_reader.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace fastnet::test {

/// A program run as a child process, its stdout on a pipe (stderr too when
/// asked). Killed (SIGKILL) and reaped on destruction if still running; it
/// also dies with the test process (PR_SET_PDEATHSIG), so none is left
/// behind. Thread safety: one thread.
class child_process {
 public:
  child_process(const std::string& program, const std::vector<std::string>& args,
                bool merge_stderr = false) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2");
    // argv is built before fork: the child only calls async-signal-safe functions.
    std::vector<std::string> strings{program};
    strings.insert(strings.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& s : strings)
      argv.push_back(s.data());
    argv.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork");
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      ::dup2(fds[1], STDOUT_FILENO);
      if (merge_stderr) ::dup2(fds[1], STDERR_FILENO);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(fds[1]);
    out_.reset(fds[0]);
    reader_ = std::make_unique<line_reader>(out_.get());
  }
  ~child_process() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  /// The next line the process printed; nullopt on EOF or timeout.
  std::optional<std::string> read_line(
      std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    return reader_->read_line(timeout);
  }

  void signal(int sig) const { ::kill(pid_, sig); }

  /// After signal(SIGSTOP): waits until the process has really stopped
  /// (kill() returns before it does, and it may answer one more request).
  bool wait_stopped() const {
    int status = 0;
    return ::waitpid(pid_, &status, WUNTRACED) == pid_ && WIFSTOPPED(status);
  }

  /// Waits until the process has exited (its output reaches EOF, then it is
  /// reaped), keeping every line it printed meanwhile in `output`; returns
  /// its exit code, -signal when killed, nullopt on timeout.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout = std::chrono::seconds(15)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      auto line = reader_->read_line(left);
      if (!line) break;
      output.append(*line).append("\n");
    }
    int status = 0;
    if (::waitpid(pid_, &status, 0) != pid_) return std::nullopt;
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  }

  pid_t pid() const { return pid_; }
  /// What wait_exit() collected.
  std::string output;

 private:
  pid_t pid_ = -1;
  unique_fd out_;
  std::unique_ptr<line_reader> reader_;
};

}  // namespace fastnet::test
