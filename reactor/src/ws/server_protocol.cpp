#include "fastnet/ws/server_protocol.hpp"

#include <algorithm>
#include <cstring>

#include "events.hpp"
#include "fastnet/ws/frame.hpp"
#include "frame_codec.hpp"
#include "http_head_codec.hpp"
#include "session.hpp"

namespace fastnet::ws {
server_protocol::server_protocol(std::shared_ptr<const server_protocol_options> opts)
    : opts_(std::move(opts)),
      head_(std::make_unique<http_head_codec>(opts_->max_request)),
      frames_(std::make_unique<frame_codec>(frame_codec::role::server, opts_->max_frame,
                                            opts_->max_message, opts_->default_kind)),
      session_(std::make_unique<session>(*frames_, *this)) {}

server_protocol::~server_protocol() = default;

std::span<const layer_event> server_protocol::events() const {
  return events::table();
}

codec& server_protocol::framing() {
  if (open_) return *frames_;
  return *head_;
}

std::chrono::milliseconds server_protocol::handshake_timeout() const {
  return opts_->handshake_timeout;
}

std::span<const std::byte> server_protocol::farewell(close_reason why) {
  if (open_) return session_->farewell(why);
  if (head_->too_long()) {
    http_answer("431 Request Header Fields Too Large", "", "", true);
    return std::as_bytes(std::span(answer_));
  }
  return {};
}

protocol_step server_protocol::on_frame(const decode_result& frame) {
  if (open_) return session_->on_frame(frame);
  return handshake(frame.frame);
}

protocol_step server_protocol::http_answer(std::string status, std::string extra_headers,
                                           std::string body, bool error) {
  count(events::handshake(std::stoi(status)));
  answer_.clear();
  answer_.append("HTTP/1.1 ").append(status).append("\r\n");
  answer_.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
  answer_.append("Connection: close\r\n");
  answer_.append(extra_headers).append("\r\n").append(body);
  protocol_step s;
  s.reply = std::as_bytes(std::span(answer_));
  if (error) {
    s.then = protocol_step::next::fail;
    s.error = "handshake: answered " + status;
  } else {
    // A plain HTTP exchange that is over: answer, then close.
    s.then = protocol_step::next::finished;
  }
  return s;
}

protocol_step server_protocol::handshake(std::span<const std::byte> raw) {
  const std::string_view head(reinterpret_cast<const char*>(raw.data()), raw.size());
  auto req = parse_request(head);
  if (!req) return http_answer("400 Bad Request", "", "", true);
  if (req->method != "GET")
    return http_answer("405 Method Not Allowed", "Allow: GET\r\n", "", true);
  const bool path_ok = opts_->path.empty() || req->path == opts_->path;
  if (!req->header_has_token("Upgrade", "websocket")) {
    // A plain HTTP GET: the page, a hint that this path wants an upgrade, or 404.
    if (!opts_->page_path.empty() && req->path == opts_->page_path)
      return http_answer("200 OK", "Content-Type: " + opts_->page_content_type + "\r\n",
                         opts_->page, false);
    if (path_ok)
      return http_answer("426 Upgrade Required",
                         "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n", "", false);
    return http_answer("404 Not Found", "", "", false);
  }
  if (!path_ok) return http_answer("404 Not Found", "", "", false);
  if (!req->header_has_token("Connection", "upgrade") || !req->header("Host"))
    return http_answer("400 Bad Request", "", "", true);
  auto version = req->header("Sec-WebSocket-Version");
  if (!version || *version != "13")
    return http_answer("426 Upgrade Required", "Sec-WebSocket-Version: 13\r\n", "", true);
  auto key = req->header("Sec-WebSocket-Key");
  if (!key || !is_valid_key(*key)) return http_answer("400 Bad Request", "", "", true);

  // The server's preference decides among the subprotocols the client offers.
  for (const auto& mine : opts_->protocols) {
    if (req->header_has_token("Sec-WebSocket-Protocol", mine)) {
      subprotocol_ = mine;
      break;
    }
  }
  count(events::handshake(101));
  answer_.clear();
  answer_.append("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n");
  answer_.append("Connection: Upgrade\r\nSec-WebSocket-Accept: ").append(accept_key(*key));
  answer_.append("\r\n");
  if (!subprotocol_.empty())
    answer_.append("Sec-WebSocket-Protocol: ").append(subprotocol_).append("\r\n");
  answer_.append("\r\n");
  request_ = std::move(*req);
  open_ = true;
  // From the next byte on, the peer speaks WebSocket frames.
  protocol_step s;
  s.reply = std::as_bytes(std::span(answer_));
  s.deliver = true;
  s.kind = kind::open;
  s.payload = raw;
  return s;
}

void server_protocol::encode(std::span<const std::byte> payload, frame_kind kind, fragment frag,
                             encoded_frame& out) {
  if (!open_) throw std::logic_error("ws: send before the handshake completed");
  session_->encode(payload, kind, frag, out);
}

protocol_factory server_protocol_factory(server_protocol_options opts) {
  auto shared = std::make_shared<const server_protocol_options>(std::move(opts));
  return [shared] { return std::make_unique<server_protocol>(shared); };
}

}  // namespace fastnet::ws
