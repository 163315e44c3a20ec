// fastnet — a connection's layers above the transport: a codec of its own,
// a codec its owner lends it, or a protocol of its own with its framing.
#pragma once

#include <cstdint>
#include <memory>
#include <utility>

#include "fastnet/codec.hpp"
#include "fastnet/protocol.hpp"

namespace fastnet::detail {

/// Points at a connection's framing codec or protocol, owning it unless it
/// is a lent codec (a shareable one its owner keeps for a whole loop).
/// One word instead of two pointers plus ownership: every idle connection
/// holds one. Codecs and protocols are at least pointer-aligned (they have
/// a vtable), so the pointer's two lowest bits are free to say "owned" and
/// "a protocol".
/// Thread safety: none; the connection's loop thread.
class layer_ref {
 public:
  layer_ref() = default;
  /// Owns `own` (null: points at nothing).
  explicit layer_ref(std::unique_ptr<codec> own) noexcept
      : bits_(own ? reinterpret_cast<uintptr_t>(own.release()) | owned_bit : 0) {}
  /// Owns `own`, which brings its own framing (null: points at nothing).
  explicit layer_ref(std::unique_ptr<protocol> own) noexcept
      : bits_(own ? reinterpret_cast<uintptr_t>(own.release()) | owned_bit | protocol_bit : 0) {}
  /// Borrows `c`, which must outlive this reference.
  static layer_ref lent(codec& c) noexcept {
    layer_ref r;
    r.bits_ = reinterpret_cast<uintptr_t>(&c);
    return r;
  }
  layer_ref(layer_ref&& o) noexcept : bits_(std::exchange(o.bits_, 0)) {}
  layer_ref& operator=(layer_ref&& o) noexcept {
    if (this != &o) {
      layer_ref old(std::move(*this));  // destroyed on return: frees what it owned
      bits_ = std::exchange(o.bits_, 0);
    }
    return *this;
  }
  layer_ref(const layer_ref&) = delete;
  layer_ref& operator=(const layer_ref&) = delete;
  ~layer_ref() { destroy(std::exchange(bits_, 0)); }

  /// The protocol, or null when the codec's frames go straight to the handler.
  protocol* proto() const noexcept {
    return (bits_ & protocol_bit) != 0 ? reinterpret_cast<protocol*>(bits_ & ~tag_bits) : nullptr;
  }
  /// The codec framing the bytes now (the protocol's current one, if any).
  codec& framing() const noexcept {
    if (auto* p = proto()) return p->framing();
    return *reinterpret_cast<codec*>(bits_ & ~tag_bits);
  }

  /// Hands what this owns to a deleter the caller may run later (the frame
  /// being delivered may point into it) and points at nothing. Lent: an
  /// empty holder, and nothing changes.
  std::shared_ptr<void> release_owned() noexcept {
    if ((bits_ & owned_bit) == 0) return nullptr;
    const uintptr_t b = std::exchange(bits_, 0);
    return std::shared_ptr<void>(reinterpret_cast<void*>(b & ~tag_bits),
                                 [b](void*) { destroy(b); });
  }

 private:
  static constexpr uintptr_t owned_bit = 1;
  static constexpr uintptr_t protocol_bit = 2;
  static constexpr uintptr_t tag_bits = owned_bit | protocol_bit;
  static_assert(alignof(codec) > tag_bits && alignof(protocol) > tag_bits,
                "the tag bits must be free in a layer's address");

  static void destroy(uintptr_t b) noexcept {
    if ((b & owned_bit) == 0) return;
    if ((b & protocol_bit) != 0)
      std::unique_ptr<protocol>(reinterpret_cast<protocol*>(b & ~tag_bits));
    else
      std::unique_ptr<codec>(reinterpret_cast<codec*>(b & ~tag_bits));
  }

  uintptr_t bits_ = 0;
};

}  // namespace fastnet::detail
