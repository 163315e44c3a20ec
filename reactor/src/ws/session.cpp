#include "session.hpp"

#include <algorithm>
#include <stdexcept>

#include "events.hpp"
#include "fastnet/ws/frame.hpp"
#include "fastnet/ws/utf8_validator.hpp"
#include "frame_codec.hpp"

namespace fastnet::ws {
namespace {

/// The code of a Close frame's payload, 0 when it has none.
uint16_t close_code_of(std::span<const std::byte> payload) {
  return payload.size() >= 2 ? parse_close_payload(payload).code : 0;
}

}  // namespace

protocol_step session::fail(uint16_t code, std::string why) {
  protocol_step s;
  s.then = protocol_step::next::fail;
  fail_payload_ = close_payload(code, why);
  s.error = std::move(why);
  return s;
}

protocol_step session::on_frame(const decode_result& r) {
  protocol_step s;
  counts_.count(events::received(r.kind));
  if (r.kind == kind::ping) {
    if (!close_sent_) {
      s.reply = frames_.control_frame(kind::pong, r.frame);
      counts_.count(events::sent(kind::pong));
    }
    return s;
  }
  if (r.kind == kind::pong) return s;  // unsolicited or answering ours: nothing to do
  if (r.kind != kind::close) {
    s.deliver = true;
    s.kind = r.kind;
    s.payload = r.frame;
    return s;
  }
  const auto payload = r.frame;
  counts_.count(events::close_received(close_code_of(payload)));
  if (payload.size() == 1) return fail(close_code::protocol_error, "close payload of 1 byte");
  if (payload.size() >= 2) {
    close_info info = parse_close_payload(payload);
    if (!is_valid_close_code(info.code))
      return fail(close_code::protocol_error, "invalid close code " + std::to_string(info.code));
    utf8_validator reason;
    if (!(reason.feed(payload.subspan(2)) && reason.complete()))
      return fail(close_code::invalid_payload, "invalid UTF-8 in the close reason");
  }
  close_received_ = true;
  s.deliver = true;
  s.kind = kind::close;
  s.payload = payload;
  if (close_sent_) {
    s.then = protocol_step::next::finished;  // the answer to our close
  } else {
    // The peer is done. Our echo of its code (RFC 6455 5.5.1) is the
    // farewell, written when the connection closes: after the replies the
    // handler still makes to messages that came before this Close.
    peer_code_len_ = payload.size() >= 2 ? 2 : 0;
    std::copy_n(payload.begin(), peer_code_len_, peer_code_.begin());
    s.then = protocol_step::next::peer_closed;
  }
  return s;
}

void session::encode(std::span<const std::byte> payload, frame_kind k, fragment frag,
                     encoded_frame& out) {
  if (close_sent_) throw std::logic_error("ws: a close frame was already sent");
  frames_.encode_as(payload, k, frag, out);
  if (frag == fragment::last) counts_.count(events::sent(k));
  if (k == kind::close) {
    close_sent_ = true;
    counts_.count(events::close_sent(close_code_of(payload)));
  }
}

std::span<const std::byte> session::farewell(close_reason why) {
  if (close_sent_) return {};
  std::string payload;
  if (!frames_.failure().empty()) {
    payload = frames_.failure();
  } else if (!fail_payload_.empty()) {
    payload = fail_payload_;
  } else if (close_received_) {
    payload.assign(reinterpret_cast<const char*>(peer_code_.data()), peer_code_len_);
  } else {
    // The peer's TCP ended without a Close: there is nobody to answer.
    if (why == close_reason::peer_closed || why == close_reason::reset) return {};
    uint16_t code = why == close_reason::server_stopping ? close_code::going_away
                    : why == close_reason::frame_timeout ? close_code::policy_violation
                                                         : close_code::normal;
    payload = close_payload(code);
  }
  close_sent_ = true;
  const auto bytes = std::as_bytes(std::span(payload));
  counts_.count(events::sent(kind::close));
  counts_.count(events::close_sent(close_code_of(bytes)));
  return frames_.control_frame(kind::close, bytes);
}

}  // namespace fastnet::ws
