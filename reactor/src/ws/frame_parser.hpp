// fastnet::ws — the RFC 6455 framing layer shared by the server and client
// codecs (internal).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "fastnet/codec.hpp"
#include "fastnet/ws/utf8_validator.hpp"

namespace fastnet::ws {

/// Decodes frames into whole messages and encodes messages into frames for
/// one endpoint. Streaming: a data frame's payload is unmasked into the
/// message buffer as it arrives and its input consumed at once, so the
/// connection never holds more than a frame header (or a control frame of at
/// most 125 bytes) besides the message itself, which max_message bounds.
/// Text is validated as it arrives, so bad UTF-8 fails before the message
/// is complete.
/// Thread safety: loop thread only.
class frame_parser {
 public:
  enum class role : uint8_t { server, client };

  frame_parser(role r, size_t max_frame, size_t max_message, frame_kind default_kind);

  /// One step of decoding (see codec::decode).
  decode_result decode(std::span<const std::byte> input);
  /// Frames one message or fragment (see server_codec::encode_as).
  void encode(std::span<const std::byte> payload, frame_kind kind, fragment frag,
              encoded_frame& out);
  /// True while a frame's payload is streaming in (see codec::mid_frame).
  bool mid_frame() const { return in_frame_; }
  /// The closing handshake for a graceful close (see codec::farewell): the
  /// Close that says why decoding failed, the echo of the peer's Close, or
  /// our own Close with a code for `why`;
  /// nothing once a Close was sent, or when the peer left without one.
  std::span<const std::byte> farewell(close_reason why);

 private:
  decode_result fail(uint16_t code, std::string why);
  decode_result control(uint8_t opcode, std::span<const std::byte> payload, size_t consumed);
  decode_result stream(std::span<const std::byte> input, size_t offset);
  /// Builds a whole control frame into reply_ (masked for a client).
  void build_reply(uint8_t opcode, std::span<const std::byte> payload);
  /// Writes a frame header; returns its length.
  size_t write_header(std::byte* out, bool fin, uint8_t opcode, uint64_t len,
                      const std::array<std::byte, 4>* mask);
  std::array<std::byte, 4> next_mask();

  const role role_;
  const size_t max_frame_;
  const size_t max_message_;
  const uint8_t default_kind_;

  // The frame whose payload is streaming in.
  bool in_frame_ = false;
  bool frame_fin_ = false;
  bool frame_masked_ = false;
  uint64_t remaining_ = 0;
  std::array<std::byte, 4> mask_{};
  size_t mask_pos_ = 0;

  // The message being reassembled.
  bool in_message_ = false;
  uint8_t message_kind_ = 0;
  std::vector<std::byte> message_;
  utf8_validator utf8_;

  bool close_sent_ = false;
  bool close_received_ = false;
  bool failed_ = false;                   // the peer broke the protocol: read nothing more
  std::string fail_payload_;              // the Close that tells it why (the farewell)
  bool out_fragmenting_ = false;          // a fragmented message is being sent
  std::array<std::byte, 2> peer_code_{};  // the code of the peer's Close, echoed
  uint8_t peer_code_len_ = 0;             // 0: its Close had no code

  std::array<std::byte, 125> control_{};  // an unmasked control payload
  std::vector<std::byte> reply_;          // a pong / close reply
  std::vector<std::byte> masked_;         // a client's masked outgoing payload
  std::array<unsigned char, 256> random_{};
  size_t random_pos_ = sizeof random_;
};

}  // namespace fastnet::ws
