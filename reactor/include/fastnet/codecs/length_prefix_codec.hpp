// fastnet — length-prefixed frames (the "len32" codec and its relatives).
#pragma once

#include "fastnet/codec.hpp"

namespace fastnet {

/// Frames carrying a 1-, 2-, 4- or 8-byte length header, big or little
/// endian, counting either the payload alone or the whole frame. The length
/// is checked against `max_frame` (payload bytes) as soon as the header is
/// read, before anything is buffered for it. The default is the classic
/// 4-byte big-endian payload length ("len32").
/// Thread safety: loop thread only.
class length_prefix_codec final : public codec {
 public:
  /// The byte order of the length header.
  enum class byte_order : uint8_t {
    big,    ///< most significant byte first (network order)
    little  ///< least significant byte first
  };

  /// What the frames look like; the defaults are "len32".
  struct options {
    uint8_t header_bytes = 4;            ///< 1, 2, 4 or 8
    byte_order order = byte_order::big;  ///< of the length header
    /// The length counts the header too (a frame announcing n carries
    /// n - header_bytes payload bytes; less than the header is an error).
    bool length_includes_header = false;
    size_t max_frame = 16 << 20;  ///< payload bytes
  };

  /// The "len32" codec: 4-byte big-endian payload lengths up to 16 MiB.
  length_prefix_codec() : length_prefix_codec(options{}) {}
  /// The codec `opts` describes. Throws std::invalid_argument for a header
  /// size other than 1, 2, 4, 8.
  explicit length_prefix_codec(options opts);

  decode_result decode(std::span<const std::byte> input) override;
  /// The payload must fit in the header and in max_frame; otherwise throws
  /// std::length_error (a local programming error, not a peer's).
  void encode(std::span<const std::byte> payload, encoded_frame& out) override;
  /// Keeps no state between calls: one object serves a whole loop.
  bool shareable() const override { return true; }
  const char* name() const override { return "length_prefix"; }

 private:
  options opts_;
};

}  // namespace fastnet
