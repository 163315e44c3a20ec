// fastnet::ws — WebSocket (RFC 6455) frame kinds, close codes and helpers.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace fastnet::ws {

/// Frame kinds as handlers see them (connection::frame_kind()) and as
/// connection::send(payload, kind) takes them. The values are the RFC's
/// opcodes; `open` and `more` are fastnet's.
namespace kind {
inline constexpr uint8_t text = 1;    ///< a whole text message (valid UTF-8)
inline constexpr uint8_t binary = 2;  ///< a whole binary message
inline constexpr uint8_t close = 8;   ///< the peer's close frame (payload: code + reason)
inline constexpr uint8_t ping = 9;    ///< send only: pings are answered automatically
inline constexpr uint8_t pong = 10;   ///< send only (an unsolicited pong)
/// Delivered once when the opening handshake completes; the payload is the
/// request head (server) or the response head (client). Never sent.
inline constexpr uint8_t open = 0x40;
/// Send flag: `text | more` / `binary | more` sends a fragment; the message
/// continues with the next sends (their data kind is ignored) up to one
/// without `more`. Control frames may be sent in between.
inline constexpr uint8_t more = 0x80;
}  // namespace kind

/// Close status codes (RFC 6455 section 7.4.1).
namespace close_code {
inline constexpr uint16_t normal = 1000;
inline constexpr uint16_t going_away = 1001;
inline constexpr uint16_t protocol_error = 1002;
inline constexpr uint16_t unsupported_data = 1003;
inline constexpr uint16_t no_status = 1005;  ///< never on the wire: a close without a code
inline constexpr uint16_t invalid_payload = 1007;
inline constexpr uint16_t policy_violation = 1008;
inline constexpr uint16_t message_too_big = 1009;
inline constexpr uint16_t internal_error = 1011;
}  // namespace close_code

/// True for codes a peer may put in a close frame (1000-1003, 1007-1014,
/// 3000-4999). Any thread.
bool is_valid_close_code(uint16_t code);

/// The payload of a close frame: the code in network order, then `reason`
/// (cut to the 123 bytes a control frame leaves for it). Any thread.
std::string close_payload(uint16_t code, std::string_view reason = {});

/// A close frame's payload taken apart: code (no_status when empty) and reason.
struct close_info {
  uint16_t code = close_code::no_status;
  std::string_view reason;
};
close_info parse_close_payload(std::span<const std::byte> payload);

}  // namespace fastnet::ws
