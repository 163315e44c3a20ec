// fastnet — plain TCP, the default transport, and how a connection holds
// its transport (internal).
#pragma once

#include <cerrno>
#include <cstdint>
#include <memory>
#include <utility>

#include "fastnet/transport.hpp"

namespace fastnet::detail {

/// True for a read or write error that only means "not now" (try again
/// when the socket is ready), as opposed to a failed connection.
inline bool would_block(int err) {
  return err == EAGAIN || err == EWOULDBLOCK || err == EINTR;
}

/// Plain TCP (or a Unix domain stream): the system calls themselves. It
/// keeps no state, so every plain connection shares one.
class tcp_transport final : public transport {
 public:
  ssize_t read(int fd, const iovec* iov, int count) override;
  ssize_t write(int fd, const iovec* iov, size_t count) override;
  void shutdown_write(int fd) override;
  const char* name() const override { return "tcp"; }

  /// The shared instance. Any thread (it has no state).
  static tcp_transport& instance();
};

/// A connection's transport: its own (TLS), or the shared plain one. One
/// word: a transport is pointer-aligned, so the lowest bit says "owned".
/// Thread safety: none; the connection's loop thread.
class transport_ref {
 public:
  /// Owns `own`; null: the shared tcp_transport.
  explicit transport_ref(std::unique_ptr<transport> own) noexcept
      : bits_(own ? reinterpret_cast<uintptr_t>(own.release()) | owned_bit
                  : reinterpret_cast<uintptr_t>(&tcp_transport::instance())) {}
  transport_ref(const transport_ref&) = delete;
  transport_ref& operator=(const transport_ref&) = delete;
  ~transport_ref() {
    if ((bits_ & owned_bit) != 0) std::unique_ptr<transport> owned(get());
  }

  /// Switches to `next` (null: the shared tcp_transport), freeing an owned one.
  void reset(std::unique_ptr<transport> next) noexcept {
    transport_ref fresh(std::move(next));
    std::swap(bits_, fresh.bits_);
  }

  transport* get() const noexcept { return reinterpret_cast<transport*>(bits_ & ~owned_bit); }
  transport* operator->() const noexcept { return get(); }

 private:
  static constexpr uintptr_t owned_bit = 1;
  static_assert(alignof(transport) > owned_bit, "the owned bit must be free in the address");

  uintptr_t bits_;
};

}  // namespace fastnet::detail
