// Test support: drives a codec the way a connection does (append what
// arrives, decode until need_more, drop `consumed` after each result), with
// the contract every decode_result must meet checked on every call.
#pragma once

#include <fastnet/codec.hpp>
#include <fastnet/protocol.hpp>

#include <algorithm>
#include <cstddef>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace fastnet::test {

using byte_vector = std::vector<std::byte>;

inline byte_vector to_byte_vector(std::string_view s) {
  const auto* p = reinterpret_cast<const std::byte*>(s.data());
  return {p, p + s.size()};
}

inline std::string to_text(std::span<const std::byte> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

/// One decoded frame and its kind.
struct sim_frame {
  frame_kind kind = frame_kind::data;
  std::string payload;
  bool operator==(const sim_frame&) const = default;
};

/// A connection's view of one codec, or of one protocol and its framing.
/// Contract violations throw std::logic_error (tests may run it off the
/// main thread, or in a loop of thousands of cases where a REQUIRE per call
/// would be too slow).
class codec_sim {
 public:
  explicit codec_sim(codec& c) : c_(&c) {}
  explicit codec_sim(protocol& p) : p_(&p) {}

  /// Appends `chunk` and decodes until need_more, an error or a close.
  void feed(std::span<const std::byte> chunk) {
    if (done()) return;
    buffer_.insert(buffer_.end(), chunk.begin(), chunk.end());
    max_buffered_ = std::max(max_buffered_, buffer_.size());
    for (int guard = 0;; ++guard) {
      if (guard > 10'000'000) throw std::logic_error("decode loops without progress");
      codec& framing = p_ ? p_->framing() : *c_;
      decode_result r = framing.decode(buffer_);
      if (r.consumed > buffer_.size()) throw std::logic_error("consumed past the input");
      switch (r.state) {
        case decode_result::status::need_more:
          if (r.consumed != 0) throw std::logic_error("need_more consumed bytes");
          return;
        case decode_result::status::error:
          if (r.error.empty()) throw std::logic_error("error without a reason");
          fail(r.error);
          return;
        case decode_result::status::frame:
        case decode_result::status::consumed:
          break;
        default:
          throw std::logic_error("invalid status");
      }
      // A result that uses no input would make the connection spin.
      if (r.consumed == 0) throw std::logic_error("no progress");
      const size_t used = r.consumed;
      if (r.state == decode_result::status::frame) deliver(r);
      buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<ptrdiff_t>(used));
      if (closed != protocol_step::next::go_on) return;
    }
  }
  void feed(std::string_view s) { feed(to_byte_vector(s)); }

  /// Feeds `data` in random chunks of 1..max_chunk bytes.
  void feed_split(std::mt19937& rng, std::span<const std::byte> data, size_t max_chunk) {
    size_t pos = 0;
    while (pos < data.size() && !done()) {
      size_t n = std::uniform_int_distribution<size_t>(1, max_chunk)(rng);
      n = std::min(n, data.size() - pos);
      feed(data.subspan(pos, n));
      pos += n;
    }
  }

  bool done() const { return failed || closed != protocol_step::next::go_on; }
  size_t buffered() const { return buffer_.size(); }
  size_t max_buffered() const { return max_buffered_; }

  std::vector<sim_frame> frames;
  /// Every reply the protocol asked to write, in order, and its farewell
  /// after an error.
  std::string replies;
  bool failed = false;
  std::string error;
  /// How the protocol ended the exchange (go_on: it did not).
  protocol_step::next closed = protocol_step::next::go_on;

 private:
  void deliver(const decode_result& r) {
    if (!p_) {
      frames.push_back({r.kind, to_text(r.frame)});
      return;
    }
    protocol_step step = p_->on_frame(r);
    replies += to_text(step.reply);
    if (step.deliver) frames.push_back({step.kind, to_text(step.payload)});
    if (step.then == protocol_step::next::fail) {
      if (step.error.empty()) throw std::logic_error("protocol failure without a reason");
      fail(step.error);
    }
    closed = step.then;
  }
  void fail(const std::string& why) {
    failed = true;
    error = why;
    if (p_) replies += to_text(p_->farewell(close_reason::protocol_error));
  }

  codec* c_ = nullptr;
  protocol* p_ = nullptr;
  byte_vector buffer_;
  size_t max_buffered_ = 0;
};

/// The bytes an encoded frame puts on the wire: head, body, tail.
inline std::string wire_of(const encoded_frame& f) {
  std::string out(reinterpret_cast<const char*>(f.head.data()), f.head_len);
  out += to_text(f.body);
  out.append(reinterpret_cast<const char*>(f.tail.data()), f.tail_len);
  out += to_text(f.trailer);
  return out;
}

}  // namespace fastnet::test
