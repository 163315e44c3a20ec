#include "fastnet/ws/client_codec.hpp"

#include <algorithm>

#include "fastnet/ws/frame.hpp"
#include "frame_parser.hpp"

namespace fastnet::ws {

client_codec::client_codec(std::shared_ptr<const client_codec_options> opts)
    : opts_(std::move(opts)),
      parser_(std::make_unique<frame_parser>(frame_parser::role::client, opts_->max_frame,
                                             opts_->max_message, opts_->default_kind)) {}

client_codec::~client_codec() = default;

std::chrono::milliseconds client_codec::handshake_timeout() const {
  return opts_->handshake_timeout;
}

std::span<const std::byte> client_codec::greeting() {
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

std::span<const std::byte> client_codec::farewell(close_reason why) {
  if (!open_) return {};
  return parser_->farewell(why);
}

bool client_codec::mid_frame() const {
  return open_ && parser_->mid_frame();
}

decode_result client_codec::decode(std::span<const std::byte> input) {
  if (open_) return parser_->decode(input);
  decode_result r;
  auto fail = [&r](std::string why) {
    r.state = decode_result::status::error;
    r.error = "handshake: " + std::move(why);
    return r;
  };
  const std::string_view text(reinterpret_cast<const char*>(input.data()),
                              std::min(input.size(), opts_->max_response));
  size_t at = text.find("\r\n\r\n", scanned_ >= 3 ? scanned_ - 3 : 0);
  if (at == std::string_view::npos) {
    scanned_ = text.size();
    if (input.size() >= opts_->max_response) return fail("response head too long");
    return r;
  }
  const size_t end = at + 4;
  if (request_.empty()) return fail("response before the request was sent");
  auto resp = parse_response(text.substr(0, end));
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
    protocol_ = std::string(*proto);
  }
  open_ = true;
  r.state = decode_result::status::frame;
  r.kind = kind::open;
  r.frame = input.first(end);
  r.consumed = end;
  return r;
}

void client_codec::encode(std::span<const std::byte> payload, encoded_frame& out) {
  encode_as(payload, frame_kind::data, fragment::last, out);
}

void client_codec::encode_as(std::span<const std::byte> payload, frame_kind kind, fragment frag,
                             encoded_frame& out) {
  if (!open_) throw std::logic_error("ws: send before the handshake completed");
  parser_->encode(payload, kind, frag, out);
}

codec_factory client_codec_factory(client_codec_options opts) {
  auto shared = std::make_shared<const client_codec_options>(std::move(opts));
  return [shared] { return std::make_unique<client_codec>(shared); };
}

}  // namespace fastnet::ws
