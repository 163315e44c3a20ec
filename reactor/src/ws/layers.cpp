#include "fastnet/ws/layers.hpp"

#include <utility>

#include "fastnet/ws/server_protocol.hpp"

namespace fastnet::ws {

std::optional<named_layers> make_layers(std::string_view name, size_t max_frame) {
  if (name == "websocket") {
    server_protocol_options o;
    o.max_frame = max_frame;
    o.max_message = max_frame;
    return named_layers{{}, server_protocol_factory(std::move(o))};
  }
  auto codec = fastnet::make_codec_factory(name, max_frame);
  if (!codec) return std::nullopt;
  return named_layers{std::move(*codec), {}};
}

}  // namespace fastnet::ws
