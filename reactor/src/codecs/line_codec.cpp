#include "fastnet/codecs/line_codec.hpp"

#include <algorithm>
#include <cstring>

namespace fastnet {

decode_result line_codec::decode(std::span<const std::byte> input) {
  decode_result r;
  // Resume the search where the previous call stopped, so a long line that
  // trickles in is scanned once, not once per read.
  size_t from = std::min(scanned_, input.size());
  size_t limit = std::min(input.size(), max_line_ + 1);  // the '\n' may follow max_line bytes
  const void* hit = from < limit ? std::memchr(input.data() + from, '\n', limit - from) : nullptr;
  if (hit == nullptr) {
    scanned_ = limit;
    if (input.size() > max_line_) {
      r.state = decode_result::status::error;
      r.error = "line longer than " + std::to_string(max_line_) + " bytes";
    }
    return r;
  }
  size_t end = static_cast<size_t>(static_cast<const std::byte*>(hit) - input.data());
  size_t len = end;
  if (strip_cr_ && len > 0 && input[len - 1] == std::byte{'\r'}) --len;
  scanned_ = 0;
  r.state = decode_result::status::frame;
  r.consumed = end + 1;
  r.frame = input.first(len);
  return r;
}

void line_codec::encode(std::span<const std::byte> payload, encoded_frame& out) {
  out.body = payload;
  out.tail[0] = std::byte{'\n'};
  out.tail_len = 1;
}

}  // namespace fastnet
