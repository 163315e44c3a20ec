// fastnet::ws — incremental UTF-8 validation for WebSocket text messages.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace fastnet::ws {

/// Validates UTF-8 that arrives in pieces (fragments, partial reads) and
/// reports an error at the first byte that cannot start or continue a valid
/// sequence (overlongs, surrogates and code points above U+10FFFF
/// included), so a bad text message is rejected before it is complete.
/// A DFA in the style of Bjoern Hoehrmann's decoder: one table lookup per
/// byte, state carried between calls.
/// Thread safety: one object per stream; no shared state.
class utf8_validator {
 public:
  /// Feeds bytes; false once the stream is invalid (and from then on).
  bool feed(std::span<const std::byte> bytes) {
    uint8_t s = state_;
    for (std::byte b : bytes) {
      s = next(s, static_cast<uint8_t>(b));
      if (s == reject) break;
    }
    state_ = s;
    return s != reject;
  }
  /// True when everything fed so far is valid and ends on a whole character.
  bool complete() const { return state_ == accept; }
  /// False once an invalid byte was seen.
  bool ok() const { return state_ != reject; }
  /// Starts over for a new stream, forgetting an error too.
  void reset() { state_ = accept; }

 private:
  static constexpr uint8_t accept = 0;
  static constexpr uint8_t reject = 1;
  // States: 0 accept, 1 reject, 2 need 1 more, 3 need 2, 4 need 3,
  // 5 after E0 (A0..BF next), 6 after ED (80..9F), 7 after F0 (90..BF),
  // 8 after F4 (80..8F).
  static uint8_t next(uint8_t s, uint8_t b) {
    switch (s) {
      case accept:
        if (b < 0x80) return accept;
        if (b < 0xC2) return reject;
        if (b < 0xE0) return 2;
        if (b == 0xE0) return 5;
        if (b == 0xED) return 6;
        if (b < 0xF0) return 3;
        if (b == 0xF0) return 7;
        if (b < 0xF4) return 4;
        if (b == 0xF4) return 8;
        return reject;
      case 2:
        return (b & 0xC0) == 0x80 ? accept : reject;
      case 3:
        return (b & 0xC0) == 0x80 ? 2 : reject;
      case 4:
        return (b & 0xC0) == 0x80 ? 3 : reject;
      case 5:
        return b >= 0xA0 && b <= 0xBF ? 2 : reject;
      case 6:
        return b >= 0x80 && b <= 0x9F ? 2 : reject;
      case 7:
        return b >= 0x90 && b <= 0xBF ? 3 : reject;
      case 8:
        return b >= 0x80 && b <= 0x8F ? 3 : reject;
      default:
        return reject;
    }
  }
  uint8_t state_ = accept;
};

}  // namespace fastnet::ws
