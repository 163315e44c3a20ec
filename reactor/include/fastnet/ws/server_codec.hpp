// fastnet::ws — the WebSocket server codec: handshake, frames, static page.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "fastnet/codec.hpp"
#include "fastnet/ws/handshake.hpp"

namespace fastnet::ws {

class frame_parser;

/// What a WebSocket server accepts. Shared (read-only) by every connection
/// the factory makes.
struct server_codec_options {
  /// The path the WebSocket is served on; empty = any path.
  std::string path = "/";
  /// Subprotocols the server speaks, most preferred first. When the client
  /// offers some, the first of these it offers is selected; none in common
  /// means no Sec-WebSocket-Protocol in the answer (the client decides).
  std::vector<std::string> protocols;
  /// Largest single frame and largest reassembled message, in payload bytes.
  /// Larger ones close the connection with 1009 before they are buffered.
  size_t max_frame = 16 << 20;
  size_t max_message = 16 << 20;
  /// Largest request head; a longer one is answered 431 and closed.
  size_t max_request = 8192;
  /// The peer must complete the handshake within this; 0 = no deadline.
  std::chrono::milliseconds handshake_timeout{10000};
  /// A plain GET (no Upgrade) of `page_path` answers 200 with `page`, so a
  /// browser loads a page and opens its WebSocket on the same port. Empty
  /// page_path: no page (such a GET gets 426 on the WebSocket path, else 404).
  std::string page_path;
  std::string page;
  std::string page_content_type = "text/html; charset=utf-8";
  /// The kind of a send() without a kind (frame_kind::data): text or binary.
  frame_kind default_kind = frame_kind::binary;
};

/// The server side of RFC 6455 as a codec. It answers the opening handshake
/// itself (101, or 400 / 404 / 426 / 431 and a close), then delivers whole
/// messages: kind::text (validated UTF-8) or kind::binary, reassembled from
/// fragments; kind::open once when the handshake completes (payload: the
/// request head; request() has it parsed); kind::close with the peer's
/// close payload, after which the peer counts as finished (on_peer_eof).
/// Pings are answered with pongs by the codec; the echo of the peer's Close
/// (or our own Close on a local close) is its farewell(), written when the
/// connection closes, after every reply made before. Protocol violations
/// close with 1002 (1007 for bad UTF-8, 1009 past a size limit).
/// send(payload, kind) frames text, binary, ping, pong and close (use
/// close_payload()); fragment::more sends fragments.
/// Thread safety: loop thread only.
class server_codec final : public codec {
 public:
  explicit server_codec(std::shared_ptr<const server_codec_options> opts);
  ~server_codec() override;

  decode_result decode(std::span<const std::byte> input) override;
  void encode(std::span<const std::byte> payload, encoded_frame& out) override;
  /// Throws std::logic_error for sends before the handshake or after a
  /// close was sent, std::length_error for an oversized control frame.
  void encode_as(std::span<const std::byte> payload, frame_kind kind, fragment frag,
                 encoded_frame& out) override;
  std::chrono::milliseconds handshake_timeout() const override;
  bool handshake_done() const override { return open_; }
  /// A Close frame: the echo of the peer's, or ours (1001 when the server
  /// stops, 1008 at the frame timeout, else 1000). None before the
  /// handshake, after a Close was sent, or when the peer left without one.
  std::span<const std::byte> farewell(close_reason why) override;
  bool mid_frame() const override;
  const char* name() const override { return "websocket"; }

  /// The handshake request (meaningful once kind::open was delivered).
  const ws::request& request() const { return request_; }
  /// The selected subprotocol, empty if none.
  const std::string& protocol() const { return protocol_; }

 private:
  decode_result handshake(std::span<const std::byte> input);
  decode_result http_answer(size_t consumed, std::string status, std::string extra_headers,
                            std::string body, bool error);

  std::shared_ptr<const server_codec_options> opts_;
  std::unique_ptr<frame_parser> parser_;
  ws::request request_;
  std::string protocol_;
  std::string answer_;  // HTTP answers written through decode_result::reply
  size_t scanned_ = 0;  // request bytes known to hold no blank line
  bool open_ = false;
};

/// A codec factory for server_codec with these options. Any thread.
codec_factory server_codec_factory(server_codec_options opts);

}  // namespace fastnet::ws
