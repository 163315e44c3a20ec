// fastnet — line codec: frames end with '\n'.
#pragma once

#include "fastnet/codec.hpp"

namespace fastnet {

/// Line-delimited frames. The frame handed to the handler excludes the `\n`
/// (and a preceding `\r` when strip_cr is set); send() appends `\n`. A line
/// longer than `max_line` bytes is a protocol error, detected as soon as
/// max_line + 1 bytes are buffered without a delimiter.
/// Thread safety: loop thread only.
class line_codec final : public codec {
 public:
  /// Lines of at most `max_line` bytes; `strip_cr` also drops a `\r`
  /// before the `\n` (CRLF input).
  explicit line_codec(size_t max_line = 64 * 1024, bool strip_cr = true)
      : max_line_(max_line), strip_cr_(strip_cr) {}
  decode_result decode(std::span<const std::byte> input) override;
  void encode(std::span<const std::byte> payload, encoded_frame& out) override;
  const char* name() const override { return "line"; }

 private:
  size_t max_line_;
  bool strip_cr_;
  size_t scanned_ = 0;  // bytes already searched for '\n' in the pending input
};

}  // namespace fastnet
