// fastnet — the built-in codecs and a factory by name.
#pragma once

#include <optional>
#include <string_view>

#include "fastnet/codec.hpp"
#include "fastnet/codecs/length_prefix_codec.hpp"
#include "fastnet/codecs/line_codec.hpp"
#include "fastnet/codecs/raw_codec.hpp"

namespace fastnet {

/// A factory for a built-in codec by name: "raw", "line" or "len32" (4-byte
/// big-endian payload length). `max_frame` bounds a frame (raw: a chunk; line:
/// a line). Returns nullopt for an unknown name. Any thread.
std::optional<codec_factory> make_codec_factory(std::string_view name, size_t max_frame);

}  // namespace fastnet
