#include "fastnet/ws/server_codec.hpp"

#include <algorithm>
#include <cstring>

#include "fastnet/ws/frame.hpp"
#include "frame_parser.hpp"

namespace fastnet::ws {
namespace {

std::string_view as_text(std::span<const std::byte> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// Where the head ends ("\r\n\r\n" included), searching from `from`; 0 if not found.
size_t find_head_end(std::string_view text, size_t from) {
  size_t start = from >= 3 ? from - 3 : 0;  // the blank line may straddle two reads
  size_t at = text.find("\r\n\r\n", start);
  return at == std::string_view::npos ? 0 : at + 4;
}

}  // namespace

server_codec::server_codec(std::shared_ptr<const server_codec_options> opts)
    : opts_(std::move(opts)),
      parser_(std::make_unique<frame_parser>(frame_parser::role::server, opts_->max_frame,
                                             opts_->max_message, opts_->default_kind)) {}

server_codec::~server_codec() = default;

std::chrono::milliseconds server_codec::handshake_timeout() const {
  return opts_->handshake_timeout;
}

std::span<const std::byte> server_codec::farewell(close_reason why) {
  if (!open_) return {};
  return parser_->farewell(why);
}

bool server_codec::mid_frame() const {
  return open_ && parser_->mid_frame();
}

decode_result server_codec::decode(std::span<const std::byte> input) {
  if (open_) return parser_->decode(input);
  return handshake(input);
}

decode_result server_codec::http_answer(size_t consumed, std::string status,
                                        std::string extra_headers, std::string body, bool error) {
  answer_.clear();
  answer_.append("HTTP/1.1 ").append(status).append("\r\n");
  answer_.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
  answer_.append("Connection: close\r\n");
  answer_.append(extra_headers).append("\r\n").append(body);
  decode_result r;
  r.consumed = consumed;
  r.reply = std::as_bytes(std::span(answer_));
  if (error) {
    r.state = decode_result::status::error;
    r.error = "handshake: answered " + status;
  } else {
    // A plain HTTP exchange that is over: answer, then close.
    r.state = decode_result::status::consumed;
    r.close_after = decode_result::close_mode::local;
  }
  return r;
}

decode_result server_codec::handshake(std::span<const std::byte> input) {
  const std::string_view text = as_text(input.first(std::min(input.size(), opts_->max_request)));
  const size_t end = find_head_end(text, std::min(scanned_, text.size()));
  if (end == 0) {
    scanned_ = text.size();
    if (input.size() >= opts_->max_request)
      return http_answer(input.size(), "431 Request Header Fields Too Large", "", "", true);
    return {};
  }
  scanned_ = 0;
  const std::string_view head = text.substr(0, end);
  auto req = parse_request(head);
  if (!req) return http_answer(end, "400 Bad Request", "", "", true);
  if (req->method != "GET")
    return http_answer(end, "405 Method Not Allowed", "Allow: GET\r\n", "", true);
  const bool path_ok = opts_->path.empty() || req->path == opts_->path;
  if (!req->header_has_token("Upgrade", "websocket")) {
    // A plain HTTP GET: the page, a hint that this path wants an upgrade, or 404.
    if (!opts_->page_path.empty() && req->path == opts_->page_path)
      return http_answer(end, "200 OK", "Content-Type: " + opts_->page_content_type + "\r\n",
                         opts_->page, false);
    if (path_ok)
      return http_answer(end, "426 Upgrade Required",
                         "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n", "", false);
    return http_answer(end, "404 Not Found", "", "", false);
  }
  if (!path_ok) return http_answer(end, "404 Not Found", "", "", false);
  if (!req->header_has_token("Connection", "upgrade") || !req->header("Host"))
    return http_answer(end, "400 Bad Request", "", "", true);
  auto version = req->header("Sec-WebSocket-Version");
  if (!version || *version != "13")
    return http_answer(end, "426 Upgrade Required", "Sec-WebSocket-Version: 13\r\n", "", true);
  auto key = req->header("Sec-WebSocket-Key");
  if (!key || !is_valid_key(*key)) return http_answer(end, "400 Bad Request", "", "", true);

  // The server's preference decides among the subprotocols the client offers.
  for (const auto& mine : opts_->protocols) {
    if (req->header_has_token("Sec-WebSocket-Protocol", mine)) {
      protocol_ = mine;
      break;
    }
  }
  answer_.clear();
  answer_.append("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n");
  answer_.append("Connection: Upgrade\r\nSec-WebSocket-Accept: ").append(accept_key(*key));
  answer_.append("\r\n");
  if (!protocol_.empty())
    answer_.append("Sec-WebSocket-Protocol: ").append(protocol_).append("\r\n");
  answer_.append("\r\n");
  request_ = std::move(*req);
  open_ = true;
  decode_result r;
  r.state = decode_result::status::frame;
  r.kind = kind::open;
  r.frame = input.first(end);
  r.consumed = end;
  r.reply = std::as_bytes(std::span(answer_));
  return r;
}

void server_codec::encode(std::span<const std::byte> payload, encoded_frame& out) {
  encode_as(payload, frame_kind::data, fragment::last, out);
}

void server_codec::encode_as(std::span<const std::byte> payload, frame_kind kind, fragment frag,
                             encoded_frame& out) {
  if (!open_) throw std::logic_error("ws: send before the handshake completed");
  parser_->encode(payload, kind, frag, out);
}

codec_factory server_codec_factory(server_codec_options opts) {
  auto shared = std::make_shared<const server_codec_options>(std::move(opts));
  return [shared] { return std::make_unique<server_codec>(shared); };
}

}  // namespace fastnet::ws
