// fastnet::ws — the WebSocket client protocol: upgrade request, masked frames.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "fastnet/protocol.hpp"
#include "fastnet/ws/handshake.hpp"

namespace fastnet::ws {

class frame_codec;
class http_head_codec;
class session;

/// What a WebSocket client asks for.
struct client_protocol_options {
  std::string host = "127.0.0.1";      ///< Host header (host[:port])
  std::string path = "/";              ///< request target
  std::string origin;                  ///< Origin header; empty = none
  std::vector<std::string> protocols;  ///< offered subprotocols, most preferred first
  /// Largest single frame accepted from the server, in payload bytes; a
  /// larger one closes the connection with 1009 before it is buffered.
  size_t max_frame = 16 << 20;
  /// Largest reassembled message accepted, in payload bytes; likewise.
  size_t max_message = 16 << 20;
  size_t max_response = 8192;  ///< largest response head accepted
  /// The server must answer the upgrade within this; 0 = no deadline.
  std::chrono::milliseconds handshake_timeout{10000};
  frame_kind default_kind = frame_kind::binary;  ///< kind of a send() without a kind
};

/// The client side of RFC 6455 as a protocol, for tcp_client: it writes the
/// upgrade request when the connection starts (greeting), checks the 101
/// (status, Upgrade, Connection, Sec-WebSocket-Accept, a subprotocol it
/// offered), then switches to WebSocket frames and delivers messages as
/// server_protocol does. Every frame it sends is masked with a key from the
/// system's cryptographic random source. Sends before kind::open was
/// delivered fail (send() returns false).
/// Thread safety: loop thread only.
class client_protocol final : public protocol {
 public:
  /// A client protocol asking for what `opts` says (shared, read-only, by
  /// every connection of a factory).
  explicit client_protocol(std::shared_ptr<const client_protocol_options> opts);
  ~client_protocol() override;

  codec& framing() override;
  protocol_step on_frame(const decode_result& frame) override;
  void encode(std::span<const std::byte> payload, frame_kind kind, fragment frag,
              encoded_frame& out) override;
  std::span<const std::byte> greeting() override;
  /// A Close frame: the echo of the peer's, or ours (1001 when the server
  /// stops, 1008 at the frame timeout, else 1000). None before the
  /// handshake, after a Close was sent, or when the peer left without one.
  std::span<const std::byte> farewell(close_reason why) override;
  std::chrono::milliseconds handshake_timeout() const override;
  bool handshake_done() const override { return open_; }
  const char* name() const override { return "websocket-client"; }
  /// Counts handshakes by the server's HTTP status, messages and control
  /// frames by kind each way, and Close codes each way (fastnet_ws_*).
  std::span<const layer_event> events() const override;

  /// The subprotocol the server selected, empty if none.
  const std::string& subprotocol() const { return subprotocol_; }

 private:
  protocol_step handshake(std::span<const std::byte> head);

  std::shared_ptr<const client_protocol_options> opts_;
  std::unique_ptr<http_head_codec> head_;
  std::unique_ptr<frame_codec> frames_;
  std::unique_ptr<session> session_;
  std::string key_;
  std::string request_;
  std::string subprotocol_;
  bool open_ = false;
};

/// A protocol factory for client_protocol with these options. Any thread.
protocol_factory client_protocol_factory(client_protocol_options opts);

}  // namespace fastnet::ws
