// fastnet — a connection's codec: its own, or one its owner lends it.
#pragma once

#include <cstdint>
#include <memory>
#include <utility>

#include "fastnet/codec.hpp"

namespace fastnet::detail {

/// Points at a connection's codec and owns it unless it is lent (a
/// shareable codec that the connection's owner keeps for a whole loop).
/// One word instead of a pointer plus a std::unique_ptr: every idle
/// connection holds one. A codec object is at least pointer-aligned (it has
/// a vtable), so the pointer's lowest bit is free to say "owned".
/// Thread safety: none; the connection's loop thread.
class codec_ref {
 public:
  codec_ref() = default;
  /// Owns `own` (null: points at nothing).
  explicit codec_ref(std::unique_ptr<codec> own) noexcept
      : bits_(own ? reinterpret_cast<uintptr_t>(own.release()) | owned_bit : 0) {}
  /// Borrows `c`, which must outlive this reference.
  static codec_ref lent(codec& c) noexcept {
    codec_ref r;
    r.bits_ = reinterpret_cast<uintptr_t>(&c);
    return r;
  }
  codec_ref(codec_ref&& o) noexcept : bits_(std::exchange(o.bits_, 0)) {}
  codec_ref& operator=(codec_ref&& o) noexcept {
    if (this != &o) {
      codec_ref old(std::move(*this));  // destroyed on return: frees an owned codec
      bits_ = std::exchange(o.bits_, 0);
    }
    return *this;
  }
  codec_ref(const codec_ref&) = delete;
  codec_ref& operator=(const codec_ref&) = delete;
  ~codec_ref() { std::unique_ptr<codec> owned(release_owned()); }

  codec* get() const noexcept { return reinterpret_cast<codec*>(bits_ & ~owned_bit); }
  codec* operator->() const noexcept { return get(); }
  codec& operator*() const noexcept { return *get(); }

  /// Hands over an owned codec (this then points at nothing); null, and
  /// nothing changes, when the codec is lent.
  std::unique_ptr<codec> release_owned() noexcept {
    if ((bits_ & owned_bit) == 0) return nullptr;
    return std::unique_ptr<codec>(reinterpret_cast<codec*>(std::exchange(bits_, 0) & ~owned_bit));
  }

 private:
  static constexpr uintptr_t owned_bit = 1;
  static_assert(alignof(codec) > owned_bit, "the owned bit must be free in a codec's address");

  uintptr_t bits_ = 0;
};

}  // namespace fastnet::detail
