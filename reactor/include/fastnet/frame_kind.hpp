// fastnet — what a frame is, for codecs that carry more than one kind.
#pragma once

#include <cstdint>

namespace fastnet {

/// The kind of a frame. Codecs with one kind of frame (raw, line, length
/// prefix) deliver and take `data` only; WebSocket delivers text, binary and
/// close messages and `open` once its handshake completes, and sends every
/// kind but `open`. The values of the WebSocket kinds are the RFC 6455
/// opcodes. A codec of your own with kinds of its own may use other values
/// of the underlying byte (`frame_kind{n}`); fastnet only passes them on.
enum class frame_kind : uint8_t {
  data = 0,     ///< the codec's one kind, or its default kind when sending
  text = 1,     ///< a whole text message (valid UTF-8)
  binary = 2,   ///< a whole binary message
  close = 8,    ///< the peer's close frame (payload: code + reason) / a close to send
  ping = 9,     ///< send only: the protocol answers pings itself
  pong = 10,    ///< send only (an unsolicited pong)
  open = 0x40,  ///< the opening handshake completed (payload: its head); never sent
};

/// Whether a send ends its message (`last`) or is a fragment that the next
/// sends continue (`more`; WebSocket only). Control frames may be sent
/// between the fragments of a message.
enum class fragment : uint8_t {
  last,  ///< the send ends its message (or is a whole message)
  more   ///< the send is a fragment: the next sends of the message continue it
};

/// Printable name of a frame kind ("text", ...). Any thread.
const char* to_string(frame_kind k);

}  // namespace fastnet
