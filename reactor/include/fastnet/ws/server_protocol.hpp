// fastnet::ws — the WebSocket server protocol: handshake, frames, static page.
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

/// What a WebSocket server accepts. Shared (read-only) by every connection
/// the factory makes.
struct server_protocol_options {
  /// The path the WebSocket is served on; empty = any path.
  std::string path = "/";
  /// Subprotocols the server speaks, most preferred first. When the client
  /// offers some, the first of these it offers is selected; none in common
  /// means no Sec-WebSocket-Protocol in the answer (the client decides).
  std::vector<std::string> protocols;
  /// Largest single frame, in payload bytes; a larger one closes the
  /// connection with 1009 before it is buffered.
  size_t max_frame = 16 << 20;
  /// Largest reassembled message, in payload bytes; likewise.
  size_t max_message = 16 << 20;
  /// Largest request head; a longer one is answered 431 and closed.
  size_t max_request = 8192;
  /// The peer must complete the handshake within this; 0 = no deadline.
  std::chrono::milliseconds handshake_timeout{10000};
  /// A plain GET (no Upgrade) of `page_path` answers 200 with `page`, so a
  /// browser loads a page and opens its WebSocket on the same port. Empty
  /// page_path: no page (such a GET gets 426 on the WebSocket path, else 404).
  std::string page_path;
  /// The page's content (see page_path).
  std::string page;
  /// The page's Content-Type.
  std::string page_content_type = "text/html; charset=utf-8";
  /// The kind of a send() without a kind (frame_kind::data): text or binary.
  frame_kind default_kind = frame_kind::binary;
};

/// The server side of RFC 6455 as a protocol. It frames the opening
/// handshake as an HTTP head and answers it itself (101, or 400 / 404 / 405
/// / 426 / 431 and a close), then switches its framing to WebSocket frames
/// and delivers whole messages: kind::text (validated UTF-8) or
/// kind::binary, reassembled from fragments; kind::open once when the
/// handshake completes (payload: the request head; request() has it
/// parsed); kind::close with the peer's close payload, after which the peer
/// counts as finished (on_peer_eof). Pings are answered with pongs; the echo
/// of the peer's Close (or our own Close on a local close) is its
/// farewell(), written when the connection closes, after every reply made
/// before. Protocol violations close with 1002 (1007 for bad UTF-8, 1009
/// past a size limit). send(payload, kind) frames text, binary, ping, pong
/// and close (use close_payload()); fragment::more sends fragments. Sends
/// before the handshake or after a Close fail.
/// Thread safety: loop thread only.
class server_protocol final : public protocol {
 public:
  /// A server protocol accepting what `opts` says (shared, read-only, by
  /// every connection of a factory).
  explicit server_protocol(std::shared_ptr<const server_protocol_options> opts);
  ~server_protocol() override;

  codec& framing() override;
  protocol_step on_frame(const decode_result& frame) override;
  /// Throws std::logic_error for sends before the handshake or after a
  /// close was sent, std::length_error for an oversized control frame.
  void encode(std::span<const std::byte> payload, frame_kind kind, fragment frag,
              encoded_frame& out) override;
  /// The Close frame (see session); before the handshake, the 431 answer
  /// to a request head that was too long, else nothing.
  std::span<const std::byte> farewell(close_reason why) override;
  std::chrono::milliseconds handshake_timeout() const override;
  bool handshake_done() const override { return open_; }
  const char* name() const override { return "websocket"; }
  /// Counts handshakes by HTTP status, messages and control frames by kind
  /// each way, and Close codes each way (fastnet_ws_* families).
  std::span<const layer_event> events() const override;

  /// The handshake request (meaningful once kind::open was delivered).
  const ws::request& request() const { return request_; }
  /// The selected subprotocol, empty if none.
  const std::string& subprotocol() const { return subprotocol_; }

 private:
  protocol_step handshake(std::span<const std::byte> head);
  protocol_step http_answer(std::string status, std::string extra_headers, std::string body,
                            bool error);

  std::shared_ptr<const server_protocol_options> opts_;
  std::unique_ptr<http_head_codec> head_;
  std::unique_ptr<frame_codec> frames_;
  std::unique_ptr<session> session_;
  ws::request request_;
  std::string subprotocol_;
  std::string answer_;  // HTTP answers written through protocol_step::reply
  bool open_ = false;
};

/// A protocol factory for server_protocol with these options. Any thread.
protocol_factory server_protocol_factory(server_protocol_options opts);

}  // namespace fastnet::ws
