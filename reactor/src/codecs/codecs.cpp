#include "fastnet/codecs.hpp"

#include <charconv>
#include <string>

namespace fastnet {
namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes the C escapes a delimiter may be written with on a command line.
std::optional<std::string> unescape(std::string_view in) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '\\') {
      out.push_back(in[i]);
      continue;
    }
    if (++i == in.size()) return std::nullopt;
    switch (in[i]) {
      case 'r':
        out.push_back('\r');
        break;
      case 'n':
        out.push_back('\n');
        break;
      case 't':
        out.push_back('\t');
        break;
      case '0':
        out.push_back('\0');
        break;
      case '\\':
        out.push_back('\\');
        break;
      case 'x': {
        if (i + 2 >= in.size()) return std::nullopt;  // two hex digits must follow
        int hi = hex_digit(in[i + 1]);
        int lo = hex_digit(in[i + 2]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        break;
      }
      default:
        return std::nullopt;
    }
  }
  return out;
}

std::optional<codec_factory> length_prefix(uint8_t bytes, length_prefix_codec::byte_order order,
                                           size_t max_frame) {
  length_prefix_codec::options o;
  o.header_bytes = bytes;
  o.order = order;
  o.max_frame = max_frame;
  return codec_factory([=] { return std::make_unique<length_prefix_codec>(o); });
}

}  // namespace

std::optional<codec_factory> make_codec_factory(std::string_view name, size_t max_frame) {
  using order = length_prefix_codec::byte_order;
  if (name == "raw") return codec_factory([=] { return std::make_unique<raw_codec>(max_frame); });
  if (name == "line") return codec_factory([=] { return std::make_unique<line_codec>(max_frame); });
  if (name == "crlf")
    return codec_factory([=] { return std::make_unique<delimiter_codec>("\r\n", max_frame); });
  if (name.starts_with("delimiter:")) {
    auto delim = unescape(name.substr(10));
    if (!delim || delim->empty()) return std::nullopt;
    return codec_factory(
        [d = *delim, max_frame] { return std::make_unique<delimiter_codec>(d, max_frame); });
  }
  if (name.starts_with("fixed:")) {
    auto digits = name.substr(6);
    size_t size = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), size);
    if (ec != std::errc{} || end != digits.data() + digits.size() || size == 0) return std::nullopt;
    return codec_factory([=] { return std::make_unique<fixed_size_codec>(size); });
  }
  if (name == "len8") return length_prefix(1, order::big, max_frame);
  if (name == "len16") return length_prefix(2, order::big, max_frame);
  if (name == "len32") return length_prefix(4, order::big, max_frame);
  if (name == "len64") return length_prefix(8, order::big, max_frame);
  if (name == "len16le") return length_prefix(2, order::little, max_frame);
  if (name == "len32le") return length_prefix(4, order::little, max_frame);
  if (name == "len64le") return length_prefix(8, order::little, max_frame);
  return std::nullopt;
}

}  // namespace fastnet
