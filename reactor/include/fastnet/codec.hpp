// fastnet — the codec hook: bytes to frames on input, frames to bytes on output.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

namespace fastnet {

/// Outcome of one decode() call.
struct decode_result {
  enum class status : uint8_t {
    need_more,  ///< no complete frame yet; call again when more bytes arrive
    frame,      ///< `frame` is complete; drop `consumed` input bytes after using it
    error,      ///< protocol error: `error` says why; the connection is closed
  };
  status state = status::need_more;
  size_t consumed = 0;               ///< input bytes this frame used (header + payload)
  std::span<const std::byte> frame;  ///< payload view into the input; valid until consumed
  std::string error;
};

/// One outgoing frame as up to three pieces written in order: a small header,
/// the caller's payload (never copied by the codec) and a small trailer. The
/// connection writes the pieces with one writev, copying only what the socket
/// did not take.
struct encoded_frame {
  std::array<std::byte, 16> head{};
  uint8_t head_len = 0;
  std::span<const std::byte> body;
  std::array<std::byte, 8> tail{};
  uint8_t tail_len = 0;
};

/// Turns a connection's byte stream into complete frames and back. One codec
/// object per connection (it may keep state between calls).
/// Thread safety: used by the owning loop thread only.
class codec {
 public:
  virtual ~codec() = default;

  /// Looks for one complete frame at the start of `input` (everything read
  /// and not yet consumed). Must check any announced length against its limit
  /// before asking for more bytes, so a hostile peer cannot make the
  /// connection buffer past the limit.
  virtual decode_result decode(std::span<const std::byte> input) = 0;

  /// Frames `payload` for sending. The default sends it as is.
  virtual void encode(std::span<const std::byte> payload, encoded_frame& out) {
    out.body = payload;
  }

  /// Short name for logs ("raw", "line", "length_prefix").
  virtual const char* name() const = 0;
};

/// Makes one codec per connection.
using codec_factory = std::function<std::unique_ptr<codec>()>;

}  // namespace fastnet
