// fastnet — fixed-size codec: every frame has the same length.
#pragma once

#include "fastnet/codec.hpp"

namespace fastnet {

/// Frames of exactly `size` bytes with no header (fixed records, sensor
/// samples). send() writes the payload unchanged; a payload of another size
/// throws std::length_error (a local programming error, not a peer's), so
/// the stream can never lose its alignment.
/// Thread safety: loop thread only.
class fixed_size_codec final : public codec {
 public:
  /// Throws std::invalid_argument for size 0.
  explicit fixed_size_codec(size_t size);
  decode_result decode(std::span<const std::byte> input) override;
  void encode(std::span<const std::byte> payload, encoded_frame& out) override;
  /// Keeps no state between calls: one object serves a whole loop.
  bool shareable() const override { return true; }
  const char* name() const override { return "fixed_size"; }

 private:
  size_t size_;
};

}  // namespace fastnet
