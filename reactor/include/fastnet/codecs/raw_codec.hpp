// fastnet — raw codec: every chunk read from the socket is a frame.
#pragma once

#include "fastnet/codec.hpp"

namespace fastnet {

/// No framing: each decode hands over all available bytes (up to
/// `max_chunk`) as one frame, and sends go out unchanged. For byte-stream
/// protocols and proxies. Thread safety: loop thread only.
class raw_codec final : public codec {
 public:
  /// Frames of at most `max_chunk` bytes: more input is handed over in
  /// pieces of that size.
  explicit raw_codec(size_t max_chunk = 1 << 20) : max_chunk_(max_chunk) {}
  decode_result decode(std::span<const std::byte> input) override;
  /// Keeps no state between calls: one object serves a whole loop.
  bool shareable() const override { return true; }
  const char* name() const override { return "raw"; }

 private:
  size_t max_chunk_;
};

}  // namespace fastnet
