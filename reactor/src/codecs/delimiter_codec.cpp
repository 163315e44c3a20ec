#include "fastnet/codecs/delimiter_codec.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace fastnet {

delimiter_codec::delimiter_codec(std::string delimiter, size_t max_frame)
    : delimiter_(std::move(delimiter)), max_frame_(max_frame) {
  if (delimiter_.empty()) throw std::invalid_argument("delimiter_codec: the delimiter is empty");
}

decode_result delimiter_codec::decode(std::span<const std::byte> input) {
  decode_result r;
  const size_t d = delimiter_.size();
  // Only the first max_frame + d bytes can hold a legal frame's delimiter.
  const size_t limit = std::min(input.size(), max_frame_ + d);
  // Resume where the previous call stopped, so a long frame that trickles in
  // is searched once, not once per read.
  const size_t from = std::min(scanned_, limit);
  const void* hit = limit - from >= d
                        ? ::memmem(input.data() + from, limit - from, delimiter_.data(), d)
                        : nullptr;
  if (hit == nullptr) {
    // A delimiter may start in the last d - 1 bytes and end in the next read.
    scanned_ = limit >= d - 1 ? limit - (d - 1) : 0;
    if (input.size() >= max_frame_ + d) {
      r.state = decode_result::status::error;
      r.error = "frame longer than " + std::to_string(max_frame_) + " bytes without a delimiter";
    }
    return r;
  }
  size_t end = static_cast<size_t>(static_cast<const std::byte*>(hit) - input.data());
  scanned_ = 0;
  r.state = decode_result::status::frame;
  r.consumed = end + d;
  r.frame = input.first(end);
  return r;
}

void delimiter_codec::encode(std::span<const std::byte> payload, encoded_frame& out) {
  out.body = payload;
  if (delimiter_.size() <= out.tail.size()) {
    std::memcpy(out.tail.data(), delimiter_.data(), delimiter_.size());
    out.tail_len = static_cast<uint8_t>(delimiter_.size());
  } else {
    out.trailer = std::as_bytes(std::span(delimiter_));
  }
}

}  // namespace fastnet
