// fastnet — the built-in codecs and a factory by name.
#pragma once

#include <optional>
#include <string_view>

#include "fastnet/codec.hpp"
#include "fastnet/codecs/delimiter_codec.hpp"
#include "fastnet/codecs/fixed_size_codec.hpp"
#include "fastnet/codecs/length_prefix_codec.hpp"
#include "fastnet/codecs/line_codec.hpp"
#include "fastnet/codecs/raw_codec.hpp"

namespace fastnet {

/// A factory for a built-in codec by name. `max_frame` bounds a frame (raw:
/// a chunk; line and delimiter: a frame without its delimiter). Names:
///
///     "raw"                 every read is a frame
///     "line"                '\n'-terminated, a trailing '\r' stripped
///     "crlf"                "\r\n"-terminated
///     "delimiter:TEXT"      TEXT-terminated; TEXT takes C escapes \r \n \t \0 \\ \xHH
///     "fixed:N"             frames of exactly N bytes (max_frame unused)
///     "len8" "len16" "len32" "len64"   big-endian payload length header
///     "len16le" "len32le" "len64le"    the same, little-endian
///
/// "websocket" is a protocol: ws::make_layers (fastnet/ws/layers.hpp, fastnet::ws).
/// Returns nullopt for an unknown or malformed name. Any thread.
std::optional<codec_factory> make_codec_factory(std::string_view name, size_t max_frame);

}  // namespace fastnet
