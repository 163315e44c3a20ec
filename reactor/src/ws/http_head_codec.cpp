#include "http_head_codec.hpp"

#include <algorithm>
#include <string>
#include <string_view>

namespace fastnet::ws {

decode_result http_head_codec::decode(std::span<const std::byte> input) {
  decode_result r;
  const std::string_view text(reinterpret_cast<const char*>(input.data()),
                              std::min(input.size(), max_head_));
  // The blank line may straddle two reads: look again from 3 bytes back.
  const size_t from = std::min(scanned_, text.size());
  const size_t at = text.find("\r\n\r\n", from >= 3 ? from - 3 : 0);
  if (at == std::string_view::npos) {
    scanned_ = text.size();
    if (input.size() >= max_head_) {
      too_long_ = true;
      r.state = decode_result::status::error;
      r.error = "head of " + std::to_string(max_head_) + " bytes or more";
    }
    return r;
  }
  scanned_ = 0;
  r.state = decode_result::status::frame;
  r.consumed = at + 4;
  r.frame = input.first(r.consumed);
  return r;
}

}  // namespace fastnet::ws
