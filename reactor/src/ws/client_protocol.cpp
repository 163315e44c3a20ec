#include "fastnet/ws/client_protocol.hpp"

#include <algorithm>

#include "events.hpp"
#include "fastnet/ws/frame.hpp"
#include "frame_codec.hpp"
#include "http_head_codec.hpp"
#include "session.hpp"

namespace fastnet::ws {

client_protocol::client_protocol(std::shared_ptr<const client_protocol_options> opts)
    : opts_(std::move(opts)),
      head_(std::make_unique<http_head_codec>(opts_->max_response)),
      frames_(std::make_unique<frame_codec>(frame_codec::role::client, opts_->max_frame,
                                            opts_->max_message, opts_->default_kind)),
      session_(std::make_unique<session>(*frames_, *this)) {}

client_protocol::~client_protocol() = default;

std::span<const layer_event> client_protocol::events() const {
  return events::table();
}

codec& client_protocol::framing() {
  if (open_) return *frames_;
  return *head_;
}

std::chrono::milliseconds client_protocol::handshake_timeout() const {
  return opts_->handshake_timeout;
}

std::span<const std::byte> client_protocol::greeting() {
  if (request_.empty()) {
    key_ = make_key();
    request_.append("GET ").append(opts_->path).append(" HTTP/1.1\r\n");
    request_.append("Host: ").append(opts_->host).append("\r\n");
    request_.append("Upgrade: websocket\r\nConnection: Upgrade\r\n");
    request_.append("Sec-WebSocket-Key: ").append(key_).append("\r\n");
    request_.append("Sec-WebSocket-Version: 13\r\n");
    if (!opts_->origin.empty()) request_.append("Origin: ").append(opts_->origin).append("\r\n");
    if (!opts_->protocols.empty()) {
      request_.append("Sec-WebSocket-Protocol: ");
      for (size_t i = 0; i < opts_->protocols.size(); ++i)
        request_.append(i ? ", " : "").append(opts_->protocols[i]);
      request_.append("\r\n");
    }
    request_.append("\r\n");
  }
  return std::as_bytes(std::span(request_));
}

std::span<const std::byte> client_protocol::farewell(close_reason why) {
  if (!open_) return {};
  return session_->farewell(why);
}

protocol_step client_protocol::on_frame(const decode_result& frame) {
  if (open_) return session_->on_frame(frame);
  return handshake(frame.frame);
}

protocol_step client_protocol::handshake(std::span<const std::byte> raw) {
  protocol_step s;
  auto fail = [&s](std::string why) {
    s.then = protocol_step::next::fail;
    s.error = "handshake: " + std::move(why);
    return s;
  };
  const std::string_view text(reinterpret_cast<const char*>(raw.data()), raw.size());
  if (request_.empty()) return fail("response before the request was sent");
  auto resp = parse_response(text);
  count(events::handshake(resp ? resp->status : 0));
  if (!resp) return fail("malformed response");
  if (resp->status != 101) return fail("server answered " + std::to_string(resp->status));
  if (!resp->header_has_token("Upgrade", "websocket") ||
      !resp->header_has_token("Connection", "upgrade"))
    return fail("101 without Upgrade: websocket / Connection: Upgrade");
  auto accept = resp->header("Sec-WebSocket-Accept");
  if (!accept || *accept != accept_key(key_)) return fail("wrong Sec-WebSocket-Accept");
  if (auto proto = resp->header("Sec-WebSocket-Protocol")) {
    if (std::find(opts_->protocols.begin(), opts_->protocols.end(), *proto) ==
        opts_->protocols.end())
      return fail("server selected a subprotocol that was not offered");
    subprotocol_ = std::string(*proto);
  }
  open_ = true;
  // From the next byte on, the server speaks WebSocket frames.
  s.deliver = true;
  s.kind = kind::open;
  s.payload = raw;
  return s;
}

void client_protocol::encode(std::span<const std::byte> payload, frame_kind kind, fragment frag,
                             encoded_frame& out) {
  if (!open_) throw std::logic_error("ws: send before the handshake completed");
  session_->encode(payload, kind, frag, out);
}

protocol_factory client_protocol_factory(client_protocol_options opts) {
  auto shared = std::make_shared<const client_protocol_options>(std::move(opts));
  return [shared] { return std::make_unique<client_protocol>(shared); };
}

}  // namespace fastnet::ws
