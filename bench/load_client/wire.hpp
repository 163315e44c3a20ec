// What goes over the wire: the framing, the random payload table and the
// seeded byte stream each connection sends and expects back. Header-only:
// the worker's send and receive paths inline fill() and verify().
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

namespace load_client {

/// How messages are delimited: not at all, by '\n', or by a 4-byte
/// big-endian length.
enum class frame_kind { raw, line, len32 };

/// The framing's name as --frame spells it. Any thread.
inline const char* to_string(frame_kind f) {
  switch (f) {
    case frame_kind::raw:
      return "raw";
    case frame_kind::line:
      return "line";
    case frame_kind::len32:
      return "len32";
  }
  return "?";
}

/// Bytes one message occupies on the wire, framing included. Any thread.
inline uint64_t wire_bytes(frame_kind frame, uint32_t size) {
  return frame == frame_kind::len32 ? uint64_t{size} + 4 : uint64_t{size};
}

/// Random bytes that every connection's payload is drawn from. Generating
/// fresh random bytes for every send and again for every check made the
/// client's own work the limit of the stream case; copying from and comparing
/// with one table costs a fraction of that. The length is odd, so no
/// power-of-two cut or shift of the echo lines up with a repeat of the table.
/// Built once by the main thread, then read by every worker.
class payload_table {
 public:
  static constexpr size_t length = (1u << 20) + 4093;

  explicit payload_table(frame_kind frame) : bytes_(length) {
    uint64_t x = 0x5eed5eed5eed5eedULL;
    for (char& b : bytes_) {
      // xorshift64*: any reordering or corruption of the echo breaks the match.
      x ^= x >> 12;
      x ^= x << 25;
      x ^= x >> 27;
      b = static_cast<char>((x * 0x2545f4914f6cdd1dULL) >> 56);
      // '\r' is avoided too: line codecs commonly strip a '\r' before the '\n'.
      if (frame == frame_kind::line && (b == '\n' || b == '\r')) b = static_cast<char>(b ^ 0x40);
    }
  }

  const char* data() const { return bytes_.data(); }

 private:
  std::vector<char> bytes_;
};

/// The exact byte stream one connection sends, which the echo must reproduce:
/// frame headers and payload drawn from the table, starting at an offset
/// chosen by the seed. The sender and the verifier each run a copy from the
/// same seed, so nothing that was sent has to be kept for checking the echo.
/// The stream does not depend on how it is cut into chunks: sends and
/// receives split it at arbitrary points. One per direction per connection,
/// used by that connection's worker thread only.
class wire_stream {
 public:
  wire_stream(const payload_table& table, frame_kind frame, uint32_t size, uint64_t seed)
      : table_(table.data()), frame_(frame), size_(size), table_pos_(seed % payload_table::length) {
    switch (frame) {
      case frame_kind::raw:
        payload_end_ = size;
        break;
      case frame_kind::line:
        payload_end_ = size - 1;  // size >= 1 is checked at parse time
        break;
      case frame_kind::len32:
        payload_begin_ = 4;
        payload_end_ = 4 + size_t{size};
        break;
    }
    wire_size_ = wire_bytes(frame, size);
  }

  /// Writes the next out.size() bytes of the stream.
  void fill(std::span<char> out) {
    walk(out.size(), [&](size_t at, const char* expected, size_t n) {
      std::memcpy(out.data() + at, expected, n);
      return true;
    });
  }

  /// Checks that `in` is the next in.size() bytes of the stream.
  bool verify(std::span<const char> in) {
    return walk(in.size(), [&](size_t at, const char* expected, size_t n) {
      return std::memcmp(in.data() + at, expected, n) == 0;
    });
  }

 private:
  /// Advances the stream by n bytes, handing each run of expected bytes to
  /// `run(offset, bytes, length)`; stops early if it returns false.
  template <typename F>
  bool walk(size_t n, F&& run) {
    size_t i = 0;
    while (i < n) {
      size_t len = 1;
      char single;
      const char* expected = &single;
      if (pos_ < payload_begin_) {
        single = header_byte(pos_);
      } else if (pos_ < payload_end_) {
        len = std::min({n - i, payload_end_ - pos_, payload_table::length - table_pos_});
        expected = table_ + table_pos_;
        table_pos_ += len;
        if (table_pos_ == payload_table::length) table_pos_ = 0;
      } else {
        single = '\n';  // only reached for line frames
      }
      if (!run(i, expected, len)) return false;
      i += len;
      pos_ += len;
      if (pos_ == wire_size_) pos_ = 0;
    }
    return true;
  }

  char header_byte(size_t pos) const {
    return static_cast<char>((size_ >> (8 * (3 - pos))) & 0xff);  // big-endian length
  }

  const char* table_;
  frame_kind frame_;
  uint32_t size_;
  size_t payload_begin_ = 0;
  size_t payload_end_ = 0;
  size_t wire_size_ = 0;
  size_t pos_ = 0;  // offset within the current message
  size_t table_pos_;
};

}  // namespace load_client
