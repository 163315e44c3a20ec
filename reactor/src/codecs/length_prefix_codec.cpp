#include "fastnet/codecs/length_prefix_codec.hpp"

#include <stdexcept>
#include <string>

namespace fastnet {

length_prefix_codec::length_prefix_codec(options opts) : opts_(opts) {
  switch (opts_.header_bytes) {
    case 1:
    case 2:
    case 4:
    case 8:
      break;
    default:
      throw std::invalid_argument("length_prefix_codec: header_bytes must be 1, 2, 4 or 8");
  }
}

decode_result length_prefix_codec::decode(std::span<const std::byte> input) {
  decode_result r;
  const size_t h = opts_.header_bytes;
  if (input.size() < h) return r;
  uint64_t len = 0;
  for (size_t i = 0; i < h; ++i) {
    size_t idx = opts_.order == byte_order::big ? i : h - 1 - i;
    len = (len << 8) | static_cast<uint8_t>(input[idx]);
  }
  uint64_t payload = len;
  if (opts_.length_includes_header) {
    if (len < h) {
      r.state = decode_result::status::error;
      r.error = "frame length " + std::to_string(len) + " smaller than its header";
      return r;
    }
    payload = len - h;
  }
  // Checked before waiting for the payload: nothing is buffered for an oversized frame.
  if (payload > opts_.max_frame) {
    r.state = decode_result::status::error;
    r.error = "frame of " + std::to_string(payload) + " bytes exceeds max " +
              std::to_string(opts_.max_frame);
    return r;
  }
  if (input.size() - h < payload) return r;
  r.state = decode_result::status::frame;
  r.consumed = h + payload;
  r.frame = input.subspan(h, payload);
  return r;
}

void length_prefix_codec::encode(std::span<const std::byte> payload, encoded_frame& out) {
  const size_t h = opts_.header_bytes;
  uint64_t len = payload.size() + (opts_.length_includes_header ? h : 0);
  bool fits = h == 8 || len < (uint64_t{1} << (8 * h));
  if (payload.size() > opts_.max_frame || !fits)
    throw std::length_error("length_prefix_codec: payload of " + std::to_string(payload.size()) +
                            " bytes does not fit the frame limits");
  for (size_t i = 0; i < h; ++i) {
    size_t idx = opts_.order == byte_order::big ? h - 1 - i : i;
    out.head[idx] = static_cast<std::byte>(len & 0xff);
    len >>= 8;
  }
  out.head_len = static_cast<uint8_t>(h);
  out.body = payload;
}

}  // namespace fastnet
