// fastnet — choosing an event loop's backend.
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <string>
#include <system_error>

#include "log.hpp"
#include "poller.hpp"

namespace fastnet {

const char* to_string(backend b) {
  switch (b) {
    case backend::epoll:
      return "epoll";
    case backend::io_uring:
      return "io_uring";
    case backend::automatic:
      return "automatic";
  }
  return "?";
}

std::optional<backend> parse_backend(std::string_view name) {
  if (name == "epoll") return backend::epoll;
  if (name == "io_uring" || name == "uring") return backend::io_uring;
  if (name == "auto" || name == "automatic") return backend::automatic;
  return std::nullopt;
}

namespace detail {

std::unique_ptr<poller> make_epoll_poller();
#if FASTNET_HAVE_IO_URING
std::unique_ptr<poller> make_uring_poller(std::string& why);
#else
std::unique_ptr<poller> make_uring_poller(std::string& why) {
  why = "fastnet was built without liburing";
  return nullptr;
}
#endif

namespace {
// What `automatic` picks: the backend the benchmark matrix measured faster
// on this kind of machine. io_uring: less server CPU per message than epoll
// in every case of the 2026-12-04 matrix (3-30 %), for a fixed 4 MiB of
// receive buffers per loop (bench/RESULTS.md, issue 15).
constexpr backend preferred = backend::io_uring;
}  // namespace

std::unique_ptr<poller> make_poller(backend requested) {
  backend b = requested;
  if (b == backend::automatic) {
    b = preferred;
    if (const char* env = std::getenv("FASTNET_BACKEND"); env != nullptr && *env != '\0') {
      if (auto parsed = parse_backend(env)) b = *parsed == backend::automatic ? preferred : *parsed;
    }
  }
  if (b == backend::epoll) return make_epoll_poller();
  std::string why;
  if (auto p = make_uring_poller(why)) return p;
  if (requested == backend::io_uring)
    throw std::system_error(ENOSYS, std::generic_category(), "io_uring backend: " + why);
  // automatic (or FASTNET_BACKEND=io_uring under automatic): epoll, and why, once per process.
  static std::atomic<bool> told{false};
  if (!told.exchange(true)) log().warn("event loops use epoll: io_uring is unavailable ({})", why);
  return make_epoll_poller();
}

}  // namespace detail
}  // namespace fastnet
