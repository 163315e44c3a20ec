// fastnet::ws — codec factories by name, the built-in names plus WebSocket.
#pragma once

#include <optional>
#include <string_view>

#include "fastnet/codecs.hpp"

namespace fastnet::ws {

/// fastnet::make_codec_factory's names plus one that needs fastnet::ws:
///   "websocket"           RFC 6455 server on any path (ws::server_codec;
///                         max_frame bounds frames and messages)
/// Any other name is fastnet::make_codec_factory(name, max_frame). It lives
/// here, not in the reactor, so that fastnet::reactor does not depend on
/// fastnet::ws (and its users do not link OpenSSL). Returns nullopt for an
/// unknown or malformed name. Any thread.
std::optional<codec_factory> make_codec_factory(std::string_view name, size_t max_frame);

}  // namespace fastnet::ws
