#include "fastnet/codecs.hpp"

namespace fastnet {

std::optional<codec_factory> make_codec_factory(std::string_view name, size_t max_frame) {
  if (name == "raw") return codec_factory([=] { return std::make_unique<raw_codec>(max_frame); });
  if (name == "line") return codec_factory([=] { return std::make_unique<line_codec>(max_frame); });
  if (name == "len32") {
    length_prefix_codec::options o;
    o.max_frame = max_frame;
    return codec_factory([=] { return std::make_unique<length_prefix_codec>(o); });
  }
  return std::nullopt;
}

}  // namespace fastnet
