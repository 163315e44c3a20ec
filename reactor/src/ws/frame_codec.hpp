// fastnet::ws — RFC 6455 framing, the codec under the server and client
// protocols (internal).
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

/// Decodes frames into whole messages and control frames, and encodes
/// messages into frames, for one endpoint. Frames only: what a ping or a
/// Close calls for is the protocol's (session). Streaming: a data frame's
/// payload is unmasked into the message buffer as it arrives and its input
/// consumed at once, so the connection never holds more than a frame header
/// (or a control frame of at most 125 bytes) besides the message itself,
/// which max_message bounds. Text is validated as it arrives, so bad UTF-8
/// fails before the message is complete. After a Close frame nothing more
/// is decoded (RFC 6455 5.5.1: it is the last frame).
/// Thread safety: loop thread only.
class frame_codec final : public codec {
 public:
  enum class role : uint8_t { server, client };

  frame_codec(role r, size_t max_frame, size_t max_message, frame_kind default_kind);

  /// One step of decoding: a whole message (text, binary) or a control
  /// frame (ping, pong, close), or an error whose Close payload failure()
  /// then holds.
  decode_result decode(std::span<const std::byte> input) override;
  void encode(std::span<const std::byte> payload, encoded_frame& out) override;
  /// Throws std::invalid_argument for a kind WebSocket does not send and
  /// std::length_error for an oversized control frame.
  void encode_as(std::span<const std::byte> payload, frame_kind kind, fragment frag,
                 encoded_frame& out) override;
  bool mid_frame() const override { return in_frame_; }
  const char* name() const override { return "websocket"; }

  /// Once decode() failed: the payload of the Close that tells the peer why
  /// (1002, 1007 or 1009 and the reason); empty before.
  const std::string& failure() const { return fail_payload_; }
  /// A whole control frame of `kind` (masked for a client), in storage
  /// valid until the next call. `payload` is at most 125 bytes.
  std::span<const std::byte> control_frame(frame_kind kind, std::span<const std::byte> payload);

 private:
  decode_result fail(uint16_t code, std::string why);
  decode_result control(uint8_t opcode, std::span<const std::byte> payload, size_t consumed);
  decode_result stream(std::span<const std::byte> input, size_t offset);
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

  bool ended_ = false;            // a Close was decoded or decoding failed: read nothing more
  std::string fail_payload_;      // why decoding failed, as a Close payload
  bool out_fragmenting_ = false;  // a fragmented message is being sent

  std::array<std::byte, 125> control_{};  // an unmasked control payload
  std::vector<std::byte> reply_;          // a whole control frame
  std::vector<std::byte> masked_;         // a client's masked outgoing payload
  std::array<unsigned char, 256> random_{};
  size_t random_pos_ = sizeof random_;
};

}  // namespace fastnet::ws
