// fastnet — the framing layer: bytes to frames on input, frames to bytes on
// output, and nothing else. Handshakes, automatic replies and closing
// handshakes belong to the protocol layer above (fastnet/protocol.hpp).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "fastnet/frame_kind.hpp"

namespace fastnet {

/// Outcome of one decode() call: a frame, or how far the codec got.
struct decode_result {
  /// What a decode() call found.
  enum class status : uint8_t {
    need_more,  ///< no complete frame yet; call again when more bytes arrive
    frame,      ///< `frame` is complete; drop `consumed` input bytes after using it
    error,      ///< the input breaks the framing: `error` says why; the connection closes
    consumed,   ///< `consumed` bytes were used but there is no frame yet (a streamed payload)
  };
  /// What this call found; need_more unless the codec sets another.
  status state = status::need_more;
  size_t consumed = 0;  ///< input bytes this result used (header + payload)
  /// Payload view into the input, or into storage the codec owns (a
  /// reassembled or unmasked message). Valid until the next decode() call.
  std::span<const std::byte> frame;
  /// Why the input breaks the framing, for status::error (logged with the
  /// connection).
  std::string error;
  /// The frame's kind for framings that have several (WebSocket: text,
  /// binary, ping, pong, close); `data` for codecs that have one. A handler
  /// reads it with connection::frame_kind().
  frame_kind kind = frame_kind::data;
};

/// One outgoing frame as up to three pieces written in order: a small header,
/// the caller's payload (never copied by the codec) and a small trailer. The
/// connection writes the pieces with one writev, copying only what the socket
/// did not take. A codec that must transform the payload (a WebSocket client
/// masks it) may point `body` at its own storage, valid until the next encode().
struct encoded_frame {
  /// Header bytes written before the payload: the first head_len of them.
  std::array<std::byte, 16> head{};
  /// How many bytes of `head` the frame has (0: no header).
  uint8_t head_len = 0;
  /// The payload: the caller's bytes, or the codec's transformed copy.
  std::span<const std::byte> body;
  /// Trailer bytes written after the payload (a delimiter): the first
  /// tail_len of them.
  std::array<std::byte, 8> tail{};
  /// How many bytes of `tail` the frame has (0: no trailer).
  uint8_t tail_len = 0;
  /// Written after `tail`: a longer trailer the codec keeps (valid until its
  /// next encode), such as a delimiter over 8 bytes.
  std::span<const std::byte> trailer;
};

/// Turns a connection's byte stream into complete frames and back. One codec
/// object per connection (it may keep state between calls).
/// Thread safety: used by the owning loop thread only.
class codec {
 public:
  virtual ~codec() = default;

  /// Looks for one complete frame at the start of `input` (everything read
  /// and not yet consumed). Must check any announced length against its limit
  /// before asking for more bytes, so a hostile peer cannot make the
  /// connection buffer past the limit.
  virtual decode_result decode(std::span<const std::byte> input) = 0;

  /// Frames `payload` for sending. The default sends it as is.
  virtual void encode(std::span<const std::byte> payload, encoded_frame& out) {
    out.body = payload;
  }

  /// Frames `payload` as a frame of `kind` (`data`: the codec's default),
  /// ending its message or, with fragment::more, continued by the next
  /// sends. Codecs with one kind of frame need not override it: the default
  /// ignores both and calls encode(payload, out). (A distinct name, so
  /// overriding one does not hide the other.)
  virtual void encode_as(std::span<const std::byte> payload, frame_kind kind, fragment frag,
                         encoded_frame& out) {
    (void)kind;
    (void)frag;
    encode(payload, out);
  }

  /// True while the codec is inside a frame whose bytes it has already
  /// taken (a codec that streams a payload as it arrives and so leaves no
  /// input buffered). With input left over after decode(), the connection
  /// knows a frame has begun without asking. Drives the frame deadline
  /// (connection_options::frame_timeout). Default: false.
  virtual bool mid_frame() const { return false; }

  /// True when the codec keeps no state between calls (only its
  /// configuration): one object can then serve every connection of a loop,
  /// and tcp_server and tcp_client make one per loop with the factory and
  /// lend it to each new connection instead of making one per connection
  /// (an allocation less per connection). Its calls must then not depend on
  /// which connection makes them. raw, fixed_size and length_prefix are
  /// shareable; codecs that scan, reassemble or hold a handshake (line,
  /// delimiter, WebSocket) are not. Default: false.
  virtual bool shareable() const { return false; }

  /// Short name for logs ("raw", "line", "length_prefix").
  virtual const char* name() const = 0;
};

/// Makes one codec per connection (one per loop when it is shareable).
using codec_factory = std::function<std::unique_ptr<codec>()>;

}  // namespace fastnet
