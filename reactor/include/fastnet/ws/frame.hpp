// fastnet::ws — WebSocket (RFC 6455) frame kinds, close codes and helpers.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "fastnet/frame_kind.hpp"

namespace fastnet::ws {

/// The frame kinds of WebSocket, as handlers see them
/// (connection::frame_kind()) and as connection::send(payload, kind, frag)
/// takes them: short names for fastnet::frame_kind's. A fragmented message
/// is sent as `send(part, kind::text, fragment::more)` ... and a last
/// `send(part, kind::text)`; control frames may go in between.
namespace kind {
inline constexpr frame_kind text = frame_kind::text;      ///< a whole text message (valid UTF-8)
inline constexpr frame_kind binary = frame_kind::binary;  ///< a whole binary message
inline constexpr frame_kind close = frame_kind::close;  ///< the peer's close frame (code + reason)
inline constexpr frame_kind ping = frame_kind::ping;    ///< send only: pings are answered for you
inline constexpr frame_kind pong = frame_kind::pong;    ///< send only (an unsolicited pong)
/// Delivered once when the opening handshake completes; the payload is the
/// request head (server) or the response head (client). Never sent.
inline constexpr frame_kind open = frame_kind::open;
}  // namespace kind

/// Close status codes (RFC 6455 section 7.4.1).
namespace close_code {
inline constexpr uint16_t normal = 1000;            ///< the connection did what it was for
inline constexpr uint16_t going_away = 1001;        ///< a server stopping, a page left
inline constexpr uint16_t protocol_error = 1002;    ///< the peer broke the protocol
inline constexpr uint16_t unsupported_data = 1003;  ///< a kind of message the endpoint cannot take
inline constexpr uint16_t no_status = 1005;         ///< never on the wire: a close without a code
inline constexpr uint16_t invalid_payload = 1007;   ///< a text message that is not UTF-8
inline constexpr uint16_t policy_violation = 1008;  ///< a broken policy (fastnet: a frame timeout)
inline constexpr uint16_t message_too_big = 1009;   ///< a frame or message over the limit
inline constexpr uint16_t internal_error = 1011;    ///< the endpoint failed unexpectedly
}  // namespace close_code

/// True for codes a peer may put in a close frame (1000-1003, 1007-1014,
/// 3000-4999). Any thread.
bool is_valid_close_code(uint16_t code);

/// The payload of a close frame: the code in network order, then `reason`
/// (cut to the 123 bytes a control frame leaves for it). Any thread.
std::string close_payload(uint16_t code, std::string_view reason = {});

/// A close frame's payload taken apart: code (no_status when empty) and reason.
struct close_info {
  uint16_t code = close_code::no_status;  ///< the close code, no_status when there is none
  std::string_view reason;                ///< the reason text: a view into the payload
};
/// Takes a close frame's payload apart; under 2 bytes it has no code and no
/// reason. Checks nothing (see is_valid_close_code). Any thread.
close_info parse_close_payload(std::span<const std::byte> payload);

}  // namespace fastnet::ws
