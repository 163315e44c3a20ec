// fastnet::ws — HTTP heads as frames: the framing of an opening handshake
// (internal).
#pragma once

#include <cstddef>

#include "fastnet/codec.hpp"

namespace fastnet::ws {

/// Frames one HTTP request or response head, up to and including the blank
/// line that ends it; anything after it is left for the next framing. A head
/// of `max_head` bytes or more without its end is an error. Sends are
/// written as they are.
/// Thread safety: loop thread only.
class http_head_codec final : public codec {
 public:
  explicit http_head_codec(size_t max_head) : max_head_(max_head) {}

  decode_result decode(std::span<const std::byte> input) override;
  const char* name() const override { return "http-head"; }

  /// True once decode() failed because the head was too long.
  bool too_long() const { return too_long_; }

 private:
  const size_t max_head_;
  size_t scanned_ = 0;  // input bytes known to hold no blank line
  bool too_long_ = false;
};

}  // namespace fastnet::ws
