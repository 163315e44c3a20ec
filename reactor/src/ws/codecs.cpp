#include "fastnet/ws/codecs.hpp"

#include <utility>

#include "fastnet/ws/server_codec.hpp"

namespace fastnet::ws {

std::optional<codec_factory> make_codec_factory(std::string_view name, size_t max_frame) {
  if (name == "websocket") {
    server_codec_options o;
    o.max_frame = max_frame;
    o.max_message = max_frame;
    return server_codec_factory(std::move(o));
  }
  return fastnet::make_codec_factory(name, max_frame);
}

}  // namespace fastnet::ws
