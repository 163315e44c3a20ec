// fastnet::ws — the WebSocket client codec: upgrade request, masked frames.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "fastnet/codec.hpp"
#include "fastnet/ws/handshake.hpp"

namespace fastnet::ws {

class frame_parser;

/// What a WebSocket client asks for.
struct client_codec_options {
  std::string host = "127.0.0.1";      ///< Host header (host[:port])
  std::string path = "/";              ///< request target
  std::string origin;                  ///< Origin header; empty = none
  std::vector<std::string> protocols;  ///< offered subprotocols, most preferred first
  size_t max_frame = 16 << 20;
  size_t max_message = 16 << 20;
  size_t max_response = 8192;  ///< largest response head accepted
  std::chrono::milliseconds handshake_timeout{10000};
  frame_kind default_kind = frame_kind::binary;  ///< kind of a send() without a kind
};

/// The client side of RFC 6455 as a codec, for tcp_client: it writes the
/// upgrade request when the connection starts (greeting), checks the 101
/// (status, Upgrade, Connection, Sec-WebSocket-Accept, a subprotocol it
/// offered), then delivers messages as server_codec does. Every frame it
/// sends is masked with a key from the system's cryptographic random source.
/// Sends before kind::open was delivered fail (send() returns false).
/// Thread safety: loop thread only.
class client_codec final : public codec {
 public:
  explicit client_codec(std::shared_ptr<const client_codec_options> opts);
  ~client_codec() override;

  decode_result decode(std::span<const std::byte> input) override;
  void encode(std::span<const std::byte> payload, encoded_frame& out) override;
  void encode_as(std::span<const std::byte> payload, frame_kind kind, fragment frag,
                 encoded_frame& out) override;
  std::span<const std::byte> greeting() override;
  std::chrono::milliseconds handshake_timeout() const override;
  bool handshake_done() const override { return open_; }
  /// A Close frame: the echo of the peer's, or ours (1001 when the server
  /// stops, 1008 at the frame timeout, else 1000). None before the
  /// handshake, after a Close was sent, or when the peer left without one.
  std::span<const std::byte> farewell(close_reason why) override;
  bool mid_frame() const override;
  const char* name() const override { return "websocket-client"; }

  /// The subprotocol the server selected, empty if none.
  const std::string& protocol() const { return protocol_; }

 private:
  std::shared_ptr<const client_codec_options> opts_;
  std::unique_ptr<frame_parser> parser_;
  std::string key_;
  std::string request_;
  std::string protocol_;
  size_t scanned_ = 0;
  bool open_ = false;
};

/// A codec factory for client_codec with these options. Any thread.
codec_factory client_codec_factory(client_codec_options opts);

}  // namespace fastnet::ws
