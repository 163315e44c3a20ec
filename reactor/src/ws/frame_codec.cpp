#include "frame_codec.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "fastnet/ws/frame.hpp"

namespace fastnet::ws {
namespace {

constexpr uint8_t op_continuation = 0;
constexpr uint8_t op_text = 1;
constexpr uint8_t op_binary = 2;
constexpr uint8_t op_close = 8;
constexpr uint8_t op_ping = 9;
constexpr uint8_t op_pong = 10;

// Above this, a message buffer is given back once its message was delivered,
// so one large message does not pin its memory for the connection's life.
constexpr size_t keep_message_capacity = 64 * 1024;

bool is_known(uint8_t op) {
  return op <= op_binary || (op >= op_close && op <= op_pong);
}

// XORs `n` bytes with the mask starting at mask position `pos`.
void unmask(std::byte* out, const std::byte* in, size_t n, const std::array<std::byte, 4>& mask,
            size_t pos) {
  std::array<std::byte, 4> m{mask[pos & 3], mask[(pos + 1) & 3], mask[(pos + 2) & 3],
                             mask[(pos + 3) & 3]};
  size_t i = 0;
  // Word at a time: the mask repeats every 4 bytes, so an 8-byte word of it
  // XORs two periods at once (the compiler keeps this in registers).
  uint64_t m8;
  std::byte m8b[8] = {m[0], m[1], m[2], m[3], m[0], m[1], m[2], m[3]};
  std::memcpy(&m8, m8b, 8);
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, in + i, 8);
    w ^= m8;
    std::memcpy(out + i, &w, 8);
  }
  for (; i < n; ++i)
    out[i] = in[i] ^ m[i & 3];
}

}  // namespace

frame_codec::frame_codec(role r, size_t max_frame, size_t max_message, frame_kind default_kind)
    : role_(r),
      max_frame_(max_frame),
      max_message_(max_message),
      default_kind_(default_kind == kind::text ? op_text : op_binary) {}

decode_result frame_codec::fail(uint16_t code, std::string why) {
  decode_result r;
  r.state = decode_result::status::error;
  r.error = std::move(why);
  // Nothing more is read. The peer is told why (RFC 6455 7.1.7: "Fail the
  // WebSocket Connection") by the protocol's farewell: after the replies the
  // handler still makes to the messages before the bad frame.
  ended_ = true;
  fail_payload_ = close_payload(code, r.error);
  return r;
}

decode_result frame_codec::decode(std::span<const std::byte> input) {
  decode_result r;
  if (ended_) return r;
  if (in_frame_) return stream(input, 0);
  if (input.size() < 2) return r;
  const auto b0 = static_cast<uint8_t>(input[0]);
  const auto b1 = static_cast<uint8_t>(input[1]);
  const bool fin = (b0 & 0x80) != 0;
  const uint8_t op = b0 & 0x0F;
  const bool masked = (b1 & 0x80) != 0;
  const uint8_t len7 = b1 & 0x7F;
  if ((b0 & 0x70) != 0) return fail(close_code::protocol_error, "reserved bits set");
  if (!is_known(op)) return fail(close_code::protocol_error, "unknown opcode");
  const bool is_control = (op & 0x08) != 0;
  if (is_control && !fin) return fail(close_code::protocol_error, "fragmented control frame");
  if (is_control && len7 > 125) return fail(close_code::protocol_error, "control frame over 125");
  if (role_ == role::server && !masked)
    return fail(close_code::protocol_error, "unmasked frame from a client");
  if (role_ == role::client && masked)
    return fail(close_code::protocol_error, "masked frame from a server");
  const size_t ext = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
  if (input.size() < 2 + ext) return r;
  uint64_t len = len7;
  if (ext > 0) {
    len = 0;
    for (size_t i = 0; i < ext; ++i)
      len = (len << 8) | static_cast<uint8_t>(input[2 + i]);
    if (ext == 8 && (len >> 63) != 0)
      return fail(close_code::protocol_error, "frame length with the top bit set");
  }
  if (!is_control) {
    if (op == op_continuation && !in_message_)
      return fail(close_code::protocol_error, "continuation frame without a message");
    if (op != op_continuation && in_message_)
      return fail(close_code::protocol_error, "new message inside a fragmented one");
    // Limits are checked on the header, before any payload is buffered.
    if (len > max_frame_) return fail(close_code::message_too_big, "frame too big");
    const size_t so_far = in_message_ ? message_.size() : 0;
    if (len > max_message_ - so_far) return fail(close_code::message_too_big, "message too big");
  }
  const size_t header = 2 + ext + (masked ? 4 : 0);
  if (input.size() < header) return r;
  if (masked) std::memcpy(mask_.data(), input.data() + 2 + ext, 4);
  frame_masked_ = masked;
  mask_pos_ = 0;
  if (is_control) {
    if (input.size() < header + len) return r;  // at most 125 bytes wait in the input
    auto raw = input.subspan(header, len);
    if (masked) {
      unmask(control_.data(), raw.data(), raw.size(), mask_, 0);
    } else {
      std::memcpy(control_.data(), raw.data(), raw.size());
    }
    return control(op, std::span(control_.data(), raw.size()), header + len);
  }
  if (op != op_continuation) {
    in_message_ = true;
    message_kind_ = op;
    utf8_.reset();
    if (message_.capacity() > keep_message_capacity) message_ = {};
    message_.clear();
    // A whole unmasked message already read (the client side): deliver it
    // from the input itself, no copy.
    if (!masked && fin && input.size() - header >= len) {
      auto payload = input.subspan(header, len);
      if (op == op_text && !(utf8_.feed(payload) && utf8_.complete()))
        return fail(close_code::invalid_payload, "invalid UTF-8 in a text message");
      in_message_ = false;
      r.state = decode_result::status::frame;
      r.kind = static_cast<frame_kind>(op);
      r.frame = payload;
      r.consumed = header + len;
      return r;
    }
  }
  in_frame_ = true;
  frame_fin_ = fin;
  remaining_ = len;
  return stream(input, header);
}

decode_result frame_codec::stream(std::span<const std::byte> input, size_t offset) {
  decode_result r;
  const size_t n = static_cast<size_t>(std::min<uint64_t>(input.size() - offset, remaining_));
  if (n > 0) {
    const size_t old = message_.size();
    message_.resize(old + n);
    if (frame_masked_) {
      unmask(message_.data() + old, input.data() + offset, n, mask_, mask_pos_);
      mask_pos_ = (mask_pos_ + n) & 3;
    } else {
      std::memcpy(message_.data() + old, input.data() + offset, n);
    }
    remaining_ -= n;
    // Fail fast: text is checked as it arrives, not when the message is whole.
    if (message_kind_ == op_text && !utf8_.feed(std::span(message_).subspan(old)))
      return fail(close_code::invalid_payload, "invalid UTF-8 in a text message");
  }
  r.consumed = offset + n;
  if (remaining_ == 0) {
    in_frame_ = false;
    if (frame_fin_) {
      if (message_kind_ == op_text && !utf8_.complete())
        return fail(close_code::invalid_payload, "text message ends inside a character");
      in_message_ = false;
      r.state = decode_result::status::frame;
      r.kind = static_cast<frame_kind>(message_kind_);
      r.frame = message_;
      return r;
    }
  }
  r.state = r.consumed > 0 ? decode_result::status::consumed : decode_result::status::need_more;
  return r;
}

decode_result frame_codec::control(uint8_t opcode, std::span<const std::byte> payload,
                                   size_t consumed) {
  decode_result r;
  r.consumed = consumed;
  r.state = decode_result::status::frame;
  r.kind = static_cast<frame_kind>(opcode);
  r.frame = payload;
  if (opcode == op_close) ended_ = true;
  return r;
}

std::array<std::byte, 4> frame_codec::next_mask() {
  // Masks must be unpredictable to the page's script (RFC 6455 10.3): taken
  // from the system's CSPRNG, 256 bytes per call to keep the cost down.
  if (random_pos_ + 4 > random_.size()) {
    if (RAND_bytes(random_.data(), static_cast<int>(random_.size())) != 1)
      throw std::runtime_error("ws: no random bytes for a frame mask");
    random_pos_ = 0;
  }
  std::array<std::byte, 4> m{};
  std::memcpy(m.data(), random_.data() + random_pos_, 4);
  random_pos_ += 4;
  return m;
}

size_t frame_codec::write_header(std::byte* out, bool fin, uint8_t opcode, uint64_t len,
                                 const std::array<std::byte, 4>* mask) {
  size_t h = 0;
  out[h++] = static_cast<std::byte>((fin ? 0x80 : 0) | opcode);
  const std::byte mask_bit{static_cast<uint8_t>(mask ? 0x80 : 0)};
  if (len < 126) {
    out[h++] = mask_bit | static_cast<std::byte>(len);
  } else if (len <= 0xFFFF) {
    out[h++] = mask_bit | std::byte{126};
    out[h++] = static_cast<std::byte>(len >> 8);
    out[h++] = static_cast<std::byte>(len);
  } else {
    out[h++] = mask_bit | std::byte{127};
    for (int i = 7; i >= 0; --i)
      out[h++] = static_cast<std::byte>(len >> (8 * i));
  }
  if (mask) {
    std::memcpy(out + h, mask->data(), 4);
    h += 4;
  }
  return h;
}

std::span<const std::byte> frame_codec::control_frame(frame_kind kind,
                                                      std::span<const std::byte> payload) {
  reply_.resize(14 + payload.size());
  std::array<std::byte, 4> m{};
  const bool client = role_ == role::client;
  if (client) m = next_mask();
  size_t h = write_header(reply_.data(), true, static_cast<uint8_t>(kind), payload.size(),
                          client ? &m : nullptr);
  if (client) {
    unmask(reply_.data() + h, payload.data(), payload.size(), m, 0);
  } else {
    std::memcpy(reply_.data() + h, payload.data(), payload.size());
  }
  reply_.resize(h + payload.size());
  return reply_;
}

void frame_codec::encode(std::span<const std::byte> payload, encoded_frame& out) {
  encode_as(payload, frame_kind::data, fragment::last, out);
}

void frame_codec::encode_as(std::span<const std::byte> payload, frame_kind kind, fragment frag,
                            encoded_frame& out) {
  uint8_t op = kind == frame_kind::data ? default_kind_ : static_cast<uint8_t>(kind);
  const bool more = frag == fragment::more;
  if (op != op_text && op != op_binary && op != op_close && op != op_ping && op != op_pong)
    throw std::invalid_argument(std::string("ws: cannot send a frame of kind ") + to_string(kind));
  bool fin = true;
  uint8_t wire_op = op;
  if ((op & 0x08) != 0) {
    if (payload.size() > 125) throw std::length_error("ws: control frame payload over 125 bytes");
    if (more) throw std::invalid_argument("ws: control frames cannot be fragmented");
  } else {
    if (out_fragmenting_) wire_op = op_continuation;
    fin = !more;
    out_fragmenting_ = more;
  }
  if (role_ == role::client) {
    auto m = next_mask();
    out.head_len =
        static_cast<uint8_t>(write_header(out.head.data(), fin, wire_op, payload.size(), &m));
    if (masked_.capacity() > keep_message_capacity && payload.size() <= keep_message_capacity)
      masked_ = {};  // one large send does not pin its memory
    masked_.resize(payload.size());
    unmask(masked_.data(), payload.data(), payload.size(), m, 0);
    out.body = masked_;
  } else {
    out.head_len =
        static_cast<uint8_t>(write_header(out.head.data(), fin, wire_op, payload.size(), nullptr));
    out.body = payload;
  }
}

}  // namespace fastnet::ws
