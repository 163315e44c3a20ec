// fastnet — delimiter codec: frames end with a chosen byte string.
#pragma once

#include <string>

#include "fastnet/codec.hpp"

namespace fastnet {

/// Frames ended by `delimiter` (any non-empty byte string: `"\r\n"`, `"\0"`,
/// `"END"`...). The frame handed to the handler excludes the delimiter; send()
/// appends it without copying the payload. A frame
/// longer than `max_frame` bytes is a protocol error, detected as soon as
/// max_frame + delimiter bytes are buffered without a delimiter, so nothing
/// past the limit is ever buffered. line_codec is the `"\n"` case with an
/// optional `\r` strip.
/// Thread safety: loop thread only.
class delimiter_codec final : public codec {
 public:
  /// Throws std::invalid_argument for an empty delimiter.
  explicit delimiter_codec(std::string delimiter, size_t max_frame = 64 * 1024);
  decode_result decode(std::span<const std::byte> input) override;
  void encode(std::span<const std::byte> payload, encoded_frame& out) override;
  const char* name() const override { return "delimiter"; }

 private:
  std::string delimiter_;
  size_t max_frame_;
  size_t scanned_ = 0;  // the pending input's prefix known to hold no delimiter start
};

}  // namespace fastnet
