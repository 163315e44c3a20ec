#include "fastnet/codecs/raw_codec.hpp"

#include <algorithm>

namespace fastnet {

decode_result raw_codec::decode(std::span<const std::byte> input) {
  decode_result r;
  if (input.empty()) return r;
  size_t n = std::min(input.size(), max_chunk_);
  r.state = decode_result::status::frame;
  r.consumed = n;
  r.frame = input.first(n);
  return r;
}

}  // namespace fastnet
