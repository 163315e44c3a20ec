// fastnet::ws — a connection's layers by name: the built-in codecs plus the
// WebSocket protocol.
#pragma once

#include <optional>
#include <string_view>

#include "fastnet/codecs.hpp"
#include "fastnet/protocol.hpp"

namespace fastnet::ws {

/// What a server or client speaks: a framing codec, or a protocol that
/// brings its own framing (then `codec` is empty). Copy the two fields into
/// tcp_server_options or tcp_client_options.
struct named_layers {
  codec_factory codec;        ///< the framing codec; empty when `protocol` is set
  protocol_factory protocol;  ///< the protocol; empty for a bare codec
};

/// fastnet::make_codec_factory's names plus one that needs fastnet::ws:
///   "websocket"           RFC 6455 server on any path (ws::server_protocol;
///                         max_frame bounds frames and messages)
/// Any other name is the codec fastnet::make_codec_factory(name, max_frame)
/// makes. It lives here, not in the reactor, so that fastnet::reactor does
/// not depend on fastnet::ws (and its users do not link OpenSSL). Returns
/// nullopt for an unknown or malformed name. Any thread.
std::optional<named_layers> make_layers(std::string_view name, size_t max_frame);

}  // namespace fastnet::ws
