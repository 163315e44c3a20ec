// fastnet::ws — an open WebSocket's semantics, shared by the server and
// client protocols (internal).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "fastnet/protocol.hpp"

namespace fastnet::ws {

class frame_codec;

/// What RFC 6455 asks of an endpoint once the handshake is done: pings are
/// answered with pongs (at once, between a message's fragments if need be),
/// a Close's payload is checked and the Close echoed, nothing is sent after
/// our own Close, and a graceful close ends with a Close frame that says
/// why (the farewell). Messages and Close frames go to the handler.
/// Thread safety: loop thread only.
class session {
 public:
  /// Frames through `frames`; counts its events (events.hpp) with `counts`.
  session(frame_codec& frames, protocol& counts) : frames_(frames), counts_(counts) {}

  /// Handles one frame the frame codec decoded.
  protocol_step on_frame(const decode_result& r);
  /// Frames a send; throws std::logic_error once our Close was sent.
  void encode(std::span<const std::byte> payload, frame_kind kind, fragment frag,
              encoded_frame& out);
  /// The Close frame for a graceful close: why decoding failed, the echo of
  /// the peer's Close, or ours (1001 when the server stops, 1008 at the
  /// frame timeout, else 1000). None once a Close was sent, or when the
  /// peer left without one.
  std::span<const std::byte> farewell(close_reason why);

 private:
  protocol_step fail(uint16_t code, std::string why);

  frame_codec& frames_;
  protocol& counts_;
  bool close_sent_ = false;
  bool close_received_ = false;
  std::string fail_payload_;              // a Close payload that broke the protocol: why
  std::array<std::byte, 2> peer_code_{};  // the code of the peer's Close, echoed
  uint8_t peer_code_len_ = 0;             // 0: its Close had no code
};

}  // namespace fastnet::ws
