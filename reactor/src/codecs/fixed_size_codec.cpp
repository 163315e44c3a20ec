#include "fastnet/codecs/fixed_size_codec.hpp"

#include <stdexcept>
#include <string>

namespace fastnet {

fixed_size_codec::fixed_size_codec(size_t size) : size_(size) {
  if (size_ == 0) throw std::invalid_argument("fixed_size_codec: size must be positive");
}

decode_result fixed_size_codec::decode(std::span<const std::byte> input) {
  decode_result r;
  if (input.size() < size_) return r;
  r.state = decode_result::status::frame;
  r.consumed = size_;
  r.frame = input.first(size_);
  return r;
}

void fixed_size_codec::encode(std::span<const std::byte> payload, encoded_frame& out) {
  if (payload.size() != size_)
    throw std::length_error("fixed_size_codec: payload of " + std::to_string(payload.size()) +
                            " bytes, frames are " + std::to_string(size_));
  out.body = payload;
}

}  // namespace fastnet
