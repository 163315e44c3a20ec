// Test support: a program found on PATH (python3, openssl) run as a child
// process with stdin, stdout and stderr on pipes, every wait bounded, and the
// process group it leads killed by its PID when the test is done with it.
// child_process.hpp is the simpler sibling for programs whose stdout alone
// matters; this one is for tools that need input and print to both streams.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace fastnet::test {

/// `name` as an executable path: itself when it has a '/', else the first
/// match on PATH; empty when there is none.
inline std::string find_program(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* path = std::getenv("PATH");
  std::string_view dirs = path ? path : "/usr/bin:/bin";
  for (;;) {
    size_t end = dirs.find(':');
    std::string_view dir = dirs.substr(0, end);
    // Built piece by piece: GCC 12 reports a false -Wrestrict for
    // string(dir).append("/") at -O2.
    std::string candidate;
    candidate.reserve(dir.size() + 1 + name.size());
    candidate.append(dir.empty() ? std::string_view(".") : dir);
    candidate.push_back('/');
    candidate.append(name);
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        ::access(candidate.c_str(), X_OK) == 0)
      return candidate;
    if (end == std::string_view::npos) return {};
    dirs.remove_prefix(end + 1);
  }
}

/// A child process running `argv` (argv[0] looked up on PATH) in a process
/// group of its own. `input` is in its stdin before it starts, followed by
/// EOF (at most a pipe's capacity, 64 KiB). Its stdout and stderr are
/// collected into `out` and `err` while the test waits on it. The
/// destructor kills the group (SIGKILL to -pid) and reaps the child; the
/// child also dies with the test process (PR_SET_PDEATHSIG).
/// Thread safety: one thread.
class subprocess {
 public:
  explicit subprocess(std::vector<std::string> argv, std::string_view input = {}) {
    if (argv.empty()) throw std::invalid_argument("subprocess: no program");
    std::string program = find_program(argv[0]);
    if (program.empty()) throw std::runtime_error("subprocess: " + argv[0] + " not found on PATH");
    int in[2], out[2], err[2];
    if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0)
      throw std::runtime_error("subprocess: pipe2");
    if (input.size() > 65536) throw std::invalid_argument("subprocess: input over 64 KiB");
    // Written before the child exists, so a child that dies early cannot
    // make this write raise SIGPIPE.
    if (!input.empty() &&
        ::write(in[1], input.data(), input.size()) != static_cast<ssize_t>(input.size()))
      throw std::runtime_error("subprocess: writing stdin");
    ::close(in[1]);
    // Everything the child needs is built before fork: it only calls
    // async-signal-safe functions.
    std::vector<char*> args;
    for (auto& a : argv)
      args.push_back(a.data());
    args.push_back(nullptr);
    pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("subprocess: fork");
    if (pid_ == 0) {
      ::setpgid(0, 0);
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);  // the test died before prctl
      ::dup2(in[0], STDIN_FILENO);
      ::dup2(out[1], STDOUT_FILENO);
      ::dup2(err[1], STDERR_FILENO);
      ::execv(program.c_str(), args.data());
      ::_exit(127);
    }
    ::setpgid(pid_, pid_);  // also from here, so kill(-pid) works at once
    ::close(in[0]);
    ::close(out[1]);
    ::close(err[1]);
    out_fd_ = out[0];
    err_fd_ = err[0];
  }
  ~subprocess() {
    kill();
    if (out_fd_ >= 0) ::close(out_fd_);
    if (err_fd_ >= 0) ::close(err_fd_);
  }
  subprocess(const subprocess&) = delete;
  subprocess& operator=(const subprocess&) = delete;

  pid_t pid() const { return pid_; }

  /// Collects output until stdout contains `needle` (searched from
  /// `from`); false on the child's EOF on both streams or at the timeout.
  bool wait_output(std::string_view needle, std::chrono::milliseconds timeout, size_t from = 0) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (out.find(needle, from) == std::string::npos) {
      if (!pump(deadline)) return out.find(needle, from) != std::string::npos;
    }
    return true;
  }

  /// Waits until the child has closed its output and exited; returns its
  /// exit code, -signal when killed, nullopt at the timeout (the child is
  /// then killed).
  std::optional<int> wait_exit(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (pump(deadline)) {
    }
    if (out_fd_ >= 0 || err_fd_ >= 0) {  // timed out with the output still open
      kill();
      return std::nullopt;
    }
    for (;;) {
      int status = 0;
      pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        pid_ = -1;
        ::kill(-r, SIGKILL);  // anything it left behind in its group
        return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
      }
      if (r < 0 && errno != EINTR) return std::nullopt;
      if (std::chrono::steady_clock::now() >= deadline) {
        kill();
        return std::nullopt;
      }
      // Output closed, exit imminent: wait for it in short steps.
      ::poll(nullptr, 0, 5);
    }
  }

  /// Kills the process group by the child's PID and reaps the child.
  void kill() {
    if (pid_ <= 0) return;
    ::kill(-pid_, SIGKILL);
    ::kill(pid_, SIGKILL);
    while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }

  /// What the child wrote so far.
  std::string out, err;

 private:
  /// One poll over the open streams, appending what arrived. False when
  /// both are closed or the deadline passed.
  bool pump(std::chrono::steady_clock::time_point deadline) {
    if (out_fd_ < 0 && err_fd_ < 0) return false;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p[2] = {{out_fd_, POLLIN, 0}, {err_fd_, POLLIN, 0}};
    int r = ::poll(p, 2, static_cast<int>(left.count()));
    if (r < 0) return errno == EINTR;
    if (r == 0) return false;
    drain(p[0], out_fd_, out);
    drain(p[1], err_fd_, err);
    return true;
  }
  static void drain(const pollfd& p, int& fd, std::string& into) {
    if (fd < 0 || p.revents == 0) return;
    char buf[65536];
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      into.append(buf, static_cast<size_t>(n));
    } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
      ::close(fd);
      fd = -1;
    }
  }

  pid_t pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
};

/// What a finished program printed, and how it ended.
struct run_result {
  std::optional<int> exit_code;  ///< nullopt: killed at the timeout
  std::string out, err;
};

/// Runs `argv` to completion (bounded by `timeout`, then killed).
inline run_result run_program(std::vector<std::string> argv, std::chrono::milliseconds timeout,
                              std::string_view input = {}) {
  subprocess p(std::move(argv), input);
  run_result r;
  r.exit_code = p.wait_exit(timeout);
  r.out = std::move(p.out);
  r.err = std::move(p.err);
  return r;
}

}  // namespace fastnet::test
