// Unit tests for the built-in codecs (raw, line, length_prefix) and
// make_codec_factory: framing, partial input, limits and errors, encode
// output, and seeded fuzz loops feeding random bytes in random chunks the way
// a connection does (append what arrives, decode until need_more, drop
// `consumed` bytes after each frame).
#include <catch2/catch.hpp>

#include <fastnet/codec.hpp>
#include <fastnet/codecs.hpp>
#include <fastnet/codecs/length_prefix_codec.hpp>
#include <fastnet/codecs/line_codec.hpp>
#include <fastnet/codecs/raw_codec.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace {

using fastnet::codec;
using fastnet::decode_result;
using fastnet::encoded_frame;
using fastnet::length_prefix_codec;
using fastnet::line_codec;
using fastnet::raw_codec;
using status = decode_result::status;
using bytes = std::vector<std::byte>;

bytes to_bytes(std::string_view s) {
  bytes b(s.size());
  for (size_t i = 0; i < s.size(); ++i)
    b[i] = static_cast<std::byte>(s[i]);
  return b;
}

std::string to_string(std::span<const std::byte> b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

bytes random_bytes(std::mt19937& rng, size_t n) {
  std::uniform_int_distribution<int> byte(0, 255);
  bytes b(n);
  for (auto& x : b)
    x = static_cast<std::byte>(byte(rng));
  return b;
}

// The bytes an encoded frame puts on the wire: head, body, tail, trailer.
bytes wire(const encoded_frame& f) {
  bytes out(f.head.begin(), f.head.begin() + f.head_len);
  out.insert(out.end(), f.body.begin(), f.body.end());
  out.insert(out.end(), f.tail.begin(), f.tail.begin() + f.tail_len);
  out.insert(out.end(), f.trailer.begin(), f.trailer.end());
  return out;
}

// Checks the contract every decode_result must satisfy for `input`.
void check_result_shape(const decode_result& r, std::span<const std::byte> input) {
  REQUIRE(r.consumed <= input.size());
  switch (r.state) {
    case status::need_more:
      break;
    case status::frame:
      REQUIRE(r.consumed > 0);
      // The frame is a view into the consumed part of the input.
      if (!r.frame.empty()) {
        REQUIRE(r.frame.data() >= input.data());
        REQUIRE(r.frame.data() + r.frame.size() <= input.data() + r.consumed);
      }
      REQUIRE(r.frame.size() <= r.consumed);
      break;
    case status::error:
      REQUIRE_FALSE(r.error.empty());
      break;
    default:
      FAIL("decode returned an invalid status");
  }
}

// A connection's view of a codec: feeds chunks, decodes until need_more and
// collects frames. Stops at the first error.
struct connection_sim {
  explicit connection_sim(codec& codec_ref) : c(codec_ref) {}

  codec& c;
  bytes buffer;
  std::vector<std::string> frames;
  bool failed = false;
  std::string error;

  void feed(std::span<const std::byte> chunk) {
    if (failed) return;
    buffer.insert(buffer.end(), chunk.begin(), chunk.end());
    for (;;) {
      decode_result r = c.decode(buffer);
      check_result_shape(r, buffer);
      if (r.state == status::need_more) return;
      if (r.state == status::error) {
        failed = true;
        error = r.error;
        return;
      }
      frames.push_back(to_string(r.frame));
      buffer.erase(buffer.begin(), buffer.begin() + static_cast<ptrdiff_t>(r.consumed));
    }
  }
  void feed(std::string_view s) { feed(to_bytes(s)); }
};

// Splits `data` into random chunks (sizes 1..max_chunk).
std::vector<bytes> random_split(std::mt19937& rng, const bytes& data, size_t max_chunk) {
  std::vector<bytes> chunks;
  size_t pos = 0;
  while (pos < data.size()) {
    size_t n = std::uniform_int_distribution<size_t>(1, max_chunk)(rng);
    n = std::min(n, data.size() - pos);
    chunks.emplace_back(data.begin() + static_cast<ptrdiff_t>(pos),
                        data.begin() + static_cast<ptrdiff_t>(pos + n));
    pos += n;
  }
  return chunks;
}

}  // namespace

// ---------------------------------------------------------------------------
// raw_codec

TEST_CASE("raw: all available bytes are one frame", "[unit][codec][raw]") {
  raw_codec c;
  CHECK(std::string(c.name()) == "raw");
  const bytes in = to_bytes("hello, world");
  auto r = c.decode(in);
  REQUIRE(r.state == status::frame);
  CHECK(r.consumed == in.size());
  CHECK(r.frame.data() == in.data());
  CHECK(to_string(r.frame) == "hello, world");
}

TEST_CASE("raw: empty input needs more", "[unit][codec][raw]") {
  raw_codec c;
  auto r = c.decode({});
  CHECK(r.state == status::need_more);
  CHECK(r.consumed == 0);
}

TEST_CASE("raw: frames are capped at max_chunk", "[unit][codec][raw]") {
  raw_codec c(4);
  connection_sim sim{c};
  sim.feed("abcdefghij");
  CHECK(sim.frames == std::vector<std::string>{"abcd", "efgh", "ij"});
  CHECK(sim.buffer.empty());
  const bytes exact = to_bytes("wxyz");
  auto r = c.decode(exact);
  REQUIRE(r.state == status::frame);
  CHECK(r.consumed == 4);
}

TEST_CASE("raw: encode sends the payload unchanged", "[unit][codec][raw]") {
  raw_codec c;
  const bytes payload = to_bytes("payload");
  encoded_frame f;
  c.encode(payload, f);
  CHECK(f.head_len == 0);
  CHECK(f.tail_len == 0);
  CHECK(f.body.data() == payload.data());  // not copied
  CHECK(wire(f) == payload);
}

// ---------------------------------------------------------------------------
// line_codec

TEST_CASE("line: a frame excludes the delimiter", "[unit][codec][line]") {
  line_codec c;
  CHECK(std::string(c.name()) == "line");
  const bytes in = to_bytes("hello\nrest");
  auto r = c.decode(in);
  REQUIRE(r.state == status::frame);
  CHECK(to_string(r.frame) == "hello");
  CHECK(r.consumed == 6);
  CHECK(r.frame.data() == in.data());
}

TEST_CASE("line: strip_cr", "[unit][codec][line]") {
  SECTION("on by default: a trailing '\\r' is removed") {
    line_codec c;
    const bytes in = to_bytes("GET / HTTP/1.1\r\n");
    auto r = c.decode(in);
    REQUIRE(r.state == status::frame);
    CHECK(to_string(r.frame) == "GET / HTTP/1.1");
    CHECK(r.consumed == in.size());
  }
  SECTION("only one '\\r' right before '\\n' is removed") {
    line_codec c;
    const bytes in = to_bytes("a\rb\r\r\n");
    auto r = c.decode(in);
    REQUIRE(r.state == status::frame);
    CHECK(to_string(r.frame) == "a\rb\r");
    CHECK(r.consumed == in.size());
  }
  SECTION("a lone \"\\r\\n\" is an empty frame") {
    line_codec c;
    const bytes in = to_bytes("\r\n");
    auto r = c.decode(in);
    REQUIRE(r.state == status::frame);
    CHECK(r.frame.empty());
    CHECK(r.consumed == 2);
  }
  SECTION("off: the '\\r' is kept") {
    line_codec c(1024, false);
    const bytes in = to_bytes("line\r\n");
    auto r = c.decode(in);
    REQUIRE(r.state == status::frame);
    CHECK(to_string(r.frame) == "line\r");
    CHECK(r.consumed == in.size());
  }
}

TEST_CASE("line: a partial line needs more", "[unit][codec][line]") {
  line_codec c;
  connection_sim sim{c};
  sim.feed("hel");
  CHECK(sim.frames.empty());
  CHECK_FALSE(sim.failed);
  sim.feed("lo wor");
  CHECK(sim.frames.empty());
  sim.feed("ld\r");
  CHECK(sim.frames.empty());
  sim.feed("\nnext");
  CHECK(sim.frames == std::vector<std::string>{"hello world"});
  CHECK(to_string(sim.buffer) == "next");
  CHECK_FALSE(sim.failed);
  // Empty input also needs more.
  line_codec fresh;
  CHECK(fresh.decode({}).state == status::need_more);
}

TEST_CASE("line: several lines in one buffer", "[unit][codec][line]") {
  line_codec c;
  // Decode by hand, dropping `consumed` bytes after each frame.
  const bytes all = to_bytes("one\ntwo\r\n\nfour\npartial");
  std::span<const std::byte> input(all);
  std::vector<std::string> frames;
  for (;;) {
    auto r = c.decode(input);
    check_result_shape(r, input);
    if (r.state != status::frame) {
      CHECK(r.state == status::need_more);
      break;
    }
    frames.push_back(to_string(r.frame));
    input = input.subspan(r.consumed);
  }
  CHECK(frames == std::vector<std::string>{"one", "two", "", "four"});
  CHECK(to_string(input) == "partial");
}

TEST_CASE("line: max_line", "[unit][codec][line]") {
  constexpr size_t max_line = 16;

  SECTION("fewer than max_line bytes without a delimiter need more") {
    line_codec c(max_line);
    for (size_t n = 0; n < max_line; ++n) {
      const bytes in(n, std::byte{'x'});
      INFO(n << " bytes");
      CHECK(c.decode(in).state == status::need_more);
    }
  }
  SECTION("a line of exactly max_line bytes is accepted") {
    line_codec c(max_line);
    const bytes in = to_bytes(std::string(max_line, 'x') + "\n");
    auto r = c.decode(in);
    REQUIRE(r.state == status::frame);
    CHECK(r.frame.size() == max_line);
    CHECK(r.consumed == max_line + 1);
  }
  SECTION("max_line bytes without a delimiter are not yet an error") {
    // The delimiter may still follow a line of exactly max_line bytes.
    line_codec c(max_line);
    const bytes in(max_line, std::byte{'x'});
    CHECK(c.decode(in).state == status::need_more);
  }
  SECTION("more than max_line bytes without a delimiter are an error at once") {
    line_codec c(max_line);
    const bytes in(max_line + 1, std::byte{'x'});
    auto r = c.decode(in);
    CHECK(r.state == status::error);
    CHECK_FALSE(r.error.empty());
  }
  SECTION("the error is detected while the line trickles in") {
    line_codec c(max_line);
    connection_sim sim{c};
    for (size_t i = 0; i < max_line; ++i) {
      sim.feed("y");
      REQUIRE_FALSE(sim.failed);
    }
    sim.feed("y");
    CHECK(sim.failed);
    CHECK(sim.buffer.size() == max_line + 1);
  }
  SECTION("a delimiter beyond max_line does not rescue an overlong line") {
    line_codec c(max_line);
    const bytes in = to_bytes(std::string(max_line + 5, 'z') + "\n");
    CHECK(c.decode(in).state == status::error);
  }
  SECTION("short lines after long (valid) ones are fine") {
    line_codec c(max_line);
    connection_sim sim{c};
    sim.feed(std::string(max_line, 'a') + "\nb\n" + std::string(max_line, 'c') + "\n");
    CHECK_FALSE(sim.failed);
    CHECK(sim.frames ==
          std::vector<std::string>{std::string(max_line, 'a'), "b", std::string(max_line, 'c')});
  }
}

TEST_CASE("line: encode appends a newline in the tail", "[unit][codec][line]") {
  line_codec c;
  const bytes payload = to_bytes("hello");
  encoded_frame f;
  c.encode(payload, f);
  CHECK(f.head_len == 0);
  REQUIRE(f.tail_len == 1);
  CHECK(f.tail[0] == std::byte{'\n'});
  CHECK(f.body.data() == payload.data());  // not copied
  CHECK(to_string(wire(f)) == "hello\n");
  // What encode produces decodes back to the payload.
  const bytes w = wire(f);
  line_codec d;
  auto r = d.decode(w);
  REQUIRE(r.state == status::frame);
  CHECK(to_string(r.frame) == "hello");
  CHECK(r.consumed == w.size());
}

// ---------------------------------------------------------------------------
// length_prefix_codec

namespace {

using order = length_prefix_codec::byte_order;

// A header of `h` bytes holding `value` in `o` order.
bytes header(uint8_t h, order o, uint64_t value) {
  bytes out(h);
  for (size_t i = 0; i < h; ++i) {
    size_t idx = o == order::big ? h - 1 - i : i;
    out[idx] = static_cast<std::byte>(value & 0xff);
    value >>= 8;
  }
  return out;
}

length_prefix_codec::options make_options(uint8_t h, order o, bool includes, size_t max_frame) {
  length_prefix_codec::options opts;
  opts.header_bytes = h;
  opts.order = o;
  opts.length_includes_header = includes;
  opts.max_frame = max_frame;
  return opts;
}

std::string describe(const length_prefix_codec::options& o) {
  return "header_bytes=" + std::to_string(o.header_bytes) +
         (o.order == order::big ? " big" : " little") +
         " includes_header=" + (o.length_includes_header ? "true" : "false") +
         " max_frame=" + std::to_string(o.max_frame);
}

}  // namespace

TEST_CASE("length_prefix: defaults are len32", "[unit][codec][length_prefix]") {
  length_prefix_codec::options defaults;
  CHECK(defaults.header_bytes == 4);
  CHECK(defaults.order == order::big);
  CHECK_FALSE(defaults.length_includes_header);

  length_prefix_codec c;
  const bytes payload = to_bytes("abc");
  encoded_frame f;
  c.encode(payload, f);
  CHECK(wire(f) == bytes{std::byte{0}, std::byte{0}, std::byte{0}, std::byte{3}, std::byte{'a'},
                         std::byte{'b'}, std::byte{'c'}});
  CHECK(f.body.data() == payload.data());  // not copied
  CHECK(f.tail_len == 0);
}

TEST_CASE("length_prefix: encoded header bytes", "[unit][codec][length_prefix]") {
  const bytes payload(0x0102, std::byte{7});  // 258 bytes
  SECTION("2-byte big endian") {
    length_prefix_codec c(make_options(2, order::big, false, 1 << 20));
    encoded_frame f;
    c.encode(payload, f);
    REQUIRE(f.head_len == 2);
    CHECK(f.head[0] == std::byte{0x01});
    CHECK(f.head[1] == std::byte{0x02});
  }
  SECTION("2-byte little endian") {
    length_prefix_codec c(make_options(2, order::little, false, 1 << 20));
    encoded_frame f;
    c.encode(payload, f);
    REQUIRE(f.head_len == 2);
    CHECK(f.head[0] == std::byte{0x02});
    CHECK(f.head[1] == std::byte{0x01});
  }
  SECTION("8-byte little endian counting the header") {
    length_prefix_codec c(make_options(8, order::little, true, 1 << 20));
    encoded_frame f;
    c.encode(payload, f);
    REQUIRE(f.head_len == 8);
    CHECK(bytes(f.head.begin(), f.head.begin() + 8) == header(8, order::little, 258 + 8));
    CHECK(f.head[0] == std::byte{0x0A});
    CHECK(f.head[1] == std::byte{0x01});
  }
}

TEST_CASE("length_prefix: round trip for every header layout", "[unit][codec][length_prefix]") {
  std::mt19937 rng(99);
  for (uint8_t h : {1, 2, 4, 8}) {
    for (order o : {order::big, order::little}) {
      for (bool includes : {false, true}) {
        const size_t max_frame = h == 1 ? 200 : 5000;
        const auto opts = make_options(h, o, includes, max_frame);
        INFO(describe(opts));
        length_prefix_codec enc(opts);
        length_prefix_codec dec(opts);
        for (size_t n : {size_t{0}, size_t{1}, size_t{2}, size_t{100}, max_frame}) {
          INFO("payload " << n << " bytes");
          const bytes payload = random_bytes(rng, n);
          encoded_frame f;
          enc.encode(payload, f);
          CHECK(f.head_len == h);
          CHECK(f.tail_len == 0);
          CHECK(bytes(f.head.begin(), f.head.begin() + h) == header(h, o, n + (includes ? h : 0)));
          bytes w = wire(f);
          REQUIRE(w.size() == h + n);
          auto r = dec.decode(w);
          REQUIRE(r.state == status::frame);
          CHECK(r.consumed == w.size());
          CHECK(bytes(r.frame.begin(), r.frame.end()) == payload);
          CHECK(r.frame.data() == w.data() + h);

          // Two frames back to back: the first decode takes only the first.
          bytes two = w;
          two.insert(two.end(), w.begin(), w.end());
          auto r1 = dec.decode(two);
          REQUIRE(r1.state == status::frame);
          CHECK(r1.consumed == w.size());
          auto r2 = dec.decode(std::span<const std::byte>(two).subspan(r1.consumed));
          REQUIRE(r2.state == status::frame);
          CHECK(bytes(r2.frame.begin(), r2.frame.end()) == payload);
        }
      }
    }
  }
}

TEST_CASE("length_prefix: partial header and partial payload need more",
          "[unit][codec][length_prefix]") {
  for (uint8_t h : {1, 2, 4, 8}) {
    for (order o : {order::big, order::little}) {
      for (bool includes : {false, true}) {
        const auto opts = make_options(h, o, includes, 1000);
        INFO(describe(opts));
        length_prefix_codec c(opts);
        const bytes payload = to_bytes("0123456789");
        bytes w = header(h, o, payload.size() + (includes ? h : 0));
        w.insert(w.end(), payload.begin(), payload.end());
        // Every strict prefix needs more, including a partial header.
        for (size_t k = 0; k < w.size(); ++k) {
          INFO("prefix of " << k << " bytes");
          auto r = c.decode(std::span<const std::byte>(w).first(k));
          CHECK(r.state == status::need_more);
          CHECK(r.consumed == 0);
        }
        auto r = c.decode(w);
        REQUIRE(r.state == status::frame);
        CHECK(to_string(r.frame) == "0123456789");
      }
    }
  }
}

TEST_CASE("length_prefix: an oversized announcement fails on the header alone",
          "[unit][codec][length_prefix]") {
  constexpr size_t max_frame = 100;
  for (uint8_t h : {1, 2, 4, 8}) {
    for (order o : {order::big, order::little}) {
      for (bool includes : {false, true}) {
        const auto opts = make_options(h, o, includes, max_frame);
        INFO(describe(opts));
        length_prefix_codec c(opts);
        const uint64_t extra = includes ? h : 0;
        {
          // max_frame payload bytes announced: fine, waits for the payload.
          const bytes at_limit = header(h, o, max_frame + extra);
          auto r = c.decode(at_limit);
          CHECK(r.state == status::need_more);
        }
        {
          // max_frame + 1 announced: an error before any payload arrives.
          const bytes over = header(h, o, max_frame + 1 + extra);
          auto r = c.decode(over);
          CHECK(r.state == status::error);
          CHECK_FALSE(r.error.empty());
        }
        if (h >= 4) {
          // A huge announcement is an error too (no overflow, no buffering).
          const bytes huge = header(h, o, h == 8 ? ~uint64_t{0} : 0xFFFFFFFFu);
          auto r = c.decode(huge);
          CHECK(r.state == status::error);
        }
      }
    }
  }
}

TEST_CASE("length_prefix: a length smaller than its header is an error",
          "[unit][codec][length_prefix]") {
  for (uint8_t h : {1, 2, 4, 8}) {
    for (order o : {order::big, order::little}) {
      const auto opts = make_options(h, o, true, 1000);
      INFO(describe(opts));
      length_prefix_codec c(opts);
      for (uint64_t len = 0; len < h; ++len) {
        INFO("announced length " << len);
        auto r = c.decode(header(h, o, len));
        CHECK(r.state == status::error);
        CHECK_FALSE(r.error.empty());
      }
      // Exactly the header: an empty frame.
      const bytes empty_frame = header(h, o, h);
      auto r = c.decode(empty_frame);
      REQUIRE(r.state == status::frame);
      CHECK(r.frame.empty());
      CHECK(r.consumed == h);
    }
  }
  // Without length_includes_header a zero length is simply an empty frame.
  length_prefix_codec c(make_options(4, order::big, false, 1000));
  auto r = c.decode(header(4, order::big, 0));
  REQUIRE(r.state == status::frame);
  CHECK(r.frame.empty());
  CHECK(r.consumed == 4);
}

TEST_CASE("length_prefix: invalid header sizes throw", "[unit][codec][length_prefix]") {
  for (int h : {0, 3, 5, 6, 7, 9, 16, 255}) {
    INFO("header_bytes " << h);
    auto opts = make_options(static_cast<uint8_t>(h), order::big, false, 1000);
    CHECK_THROWS_AS(length_prefix_codec(opts), std::invalid_argument);
  }
  for (int h : {1, 2, 4, 8}) {
    auto opts = make_options(static_cast<uint8_t>(h), order::little, true, 1000);
    CHECK_NOTHROW(length_prefix_codec(opts));
  }
}

TEST_CASE("length_prefix: encoding too large a payload throws", "[unit][codec][length_prefix]") {
  SECTION("over max_frame") {
    for (uint8_t h : {1, 2, 4, 8}) {
      length_prefix_codec c(make_options(h, order::big, false, 50));
      INFO("header_bytes " << int(h));
      const bytes ok(50, std::byte{1});
      const bytes too_big(51, std::byte{1});
      encoded_frame f;
      CHECK_NOTHROW(c.encode(ok, f));
      encoded_frame g;
      CHECK_THROWS_AS(c.encode(too_big, g), std::length_error);
    }
  }
  SECTION("not representable in the header") {
    length_prefix_codec one(make_options(1, order::big, false, 1 << 20));
    encoded_frame f;
    CHECK_NOTHROW(one.encode(bytes(255, std::byte{0}), f));
    CHECK_THROWS_AS(one.encode(bytes(256, std::byte{0}), f), std::length_error);

    length_prefix_codec one_incl(make_options(1, order::big, true, 1 << 20));
    CHECK_NOTHROW(one_incl.encode(bytes(254, std::byte{0}), f));
    CHECK_THROWS_AS(one_incl.encode(bytes(255, std::byte{0}), f), std::length_error);

    length_prefix_codec two(make_options(2, order::little, false, 1 << 20));
    CHECK_NOTHROW(two.encode(bytes(65535, std::byte{0}), f));
    CHECK_THROWS_AS(two.encode(bytes(65536, std::byte{0}), f), std::length_error);
  }
}

// ---------------------------------------------------------------------------
// make_codec_factory

TEST_CASE("make_codec_factory by name", "[unit][codec][factory]") {
  SECTION("raw") {
    auto f = fastnet::make_codec_factory("raw", 4);
    REQUIRE(f.has_value());
    auto c = (*f)();
    REQUIRE(c != nullptr);
    CHECK(std::string(c->name()) == "raw");
    CHECK(dynamic_cast<raw_codec*>(c.get()) != nullptr);
    const bytes in = to_bytes("abcdef");
    auto r = c->decode(in);
    REQUIRE(r.state == status::frame);
    CHECK(r.consumed == 4);  // max_frame bounds a chunk
  }
  SECTION("line") {
    auto f = fastnet::make_codec_factory("line", 8);
    REQUIRE(f.has_value());
    auto c = (*f)();
    REQUIRE(c != nullptr);
    CHECK(std::string(c->name()) == "line");
    CHECK(dynamic_cast<line_codec*>(c.get()) != nullptr);
    const bytes ok = to_bytes("12345678\n");
    CHECK(c->decode(ok).state == status::frame);
    auto c2 = (*f)();
    const bytes too_long = to_bytes("123456789");
    CHECK(c2->decode(too_long).state == status::error);  // max_frame bounds a line
  }
  SECTION("len32") {
    auto f = fastnet::make_codec_factory("len32", 10);
    REQUIRE(f.has_value());
    auto c = (*f)();
    REQUIRE(c != nullptr);
    CHECK(dynamic_cast<length_prefix_codec*>(c.get()) != nullptr);
    bytes w = header(4, order::big, 3);
    for (char ch : std::string("xyz"))
      w.push_back(static_cast<std::byte>(ch));
    auto r = c->decode(w);
    REQUIRE(r.state == status::frame);
    CHECK(to_string(r.frame) == "xyz");
    CHECK(c->decode(header(4, order::big, 10)).state == status::need_more);
    CHECK(c->decode(header(4, order::big, 11)).state == status::error);  // max_frame
    encoded_frame e;
    const bytes payload = to_bytes("hi");
    c->encode(payload, e);
    CHECK(wire(e) == bytes{std::byte{0}, std::byte{0}, std::byte{0}, std::byte{2}, std::byte{'h'},
                           std::byte{'i'}});
  }
  SECTION("each call makes a fresh codec") {
    auto f = fastnet::make_codec_factory("line", 1024);
    REQUIRE(f.has_value());
    auto a = (*f)();
    auto b = (*f)();
    CHECK(a.get() != b.get());
  }
  SECTION("unknown names") {
    CHECK_FALSE(fastnet::make_codec_factory("", 10).has_value());
    CHECK_FALSE(fastnet::make_codec_factory("json", 10).has_value());
    CHECK_FALSE(fastnet::make_codec_factory("RAW", 10).has_value());
    CHECK_FALSE(fastnet::make_codec_factory("len24", 10).has_value());
  }
}

// ---------------------------------------------------------------------------
// Fuzz: random input, random chunking.

namespace {

// What a line codec must return for `buf` (the header's contract).
decode_result::status line_model(const bytes& buf, size_t max_line, size_t& frame_len,
                                 size_t& consumed, bool strip_cr) {
  for (size_t i = 0; i < buf.size() && i <= max_line; ++i) {
    if (buf[i] == std::byte{'\n'}) {
      frame_len = i;
      if (strip_cr && i > 0 && buf[i - 1] == std::byte{'\r'}) --frame_len;
      consumed = i + 1;
      return status::frame;
    }
  }
  return buf.size() > max_line ? status::error : status::need_more;
}

}  // namespace

TEST_CASE("fuzz: random bytes never break the decoders", "[unit][codec][fuzz]") {
  std::mt19937 rng(12345);
  std::uniform_int_distribution<int> coin(0, 3);
  for (int iter = 0; iter < 300; ++iter) {
    INFO("iteration " << iter);
    // Bias the alphabet towards delimiters and small length bytes so that all
    // outcomes (frames, need_more, errors) occur.
    bytes data(std::uniform_int_distribution<size_t>(0, 2000)(rng));
    for (auto& b : data) {
      int kind = coin(rng);
      if (kind == 0)
        b = std::byte{'\n'};
      else if (kind == 1)
        b = std::byte{'\r'};
      else if (kind == 2)
        b = static_cast<std::byte>(std::uniform_int_distribution<int>(0, 8)(rng));
      else
        b = static_cast<std::byte>(std::uniform_int_distribution<int>(0, 255)(rng));
    }
    const auto chunks = random_split(rng, data, 64);

    std::vector<std::unique_ptr<codec>> codecs;
    codecs.push_back(std::make_unique<raw_codec>(17));
    codecs.push_back(std::make_unique<line_codec>(40, true));
    codecs.push_back(std::make_unique<line_codec>(40, false));
    for (uint8_t h : {1, 2, 4, 8})
      for (order o : {order::big, order::little})
        for (bool includes : {false, true})
          codecs.push_back(std::make_unique<length_prefix_codec>(make_options(h, o, includes, 60)));

    for (auto& c : codecs) {
      connection_sim sim{*c};
      for (const auto& chunk : chunks)
        sim.feed(chunk);
      // Whatever happened, the frames plus the leftover never exceed the input.
      size_t total = sim.buffer.size();
      for (const auto& f : sim.frames)
        total += f.size();
      CHECK(total <= data.size());
    }
  }
}

TEST_CASE("fuzz: raw and line decoders match a model under random chunking",
          "[unit][codec][fuzz]") {
  std::mt19937 rng(777);
  const char alphabet[] = {'a', 'b', '\r', '\n', 'z', '\n'};
  for (int iter = 0; iter < 300; ++iter) {
    INFO("iteration " << iter);
    const size_t max_line = std::uniform_int_distribution<size_t>(1, 30)(rng);
    const bool strip_cr = iter % 2 == 0;
    std::string text;
    size_t n = std::uniform_int_distribution<size_t>(0, 500)(rng);
    for (size_t i = 0; i < n; ++i)
      text.push_back(alphabet[std::uniform_int_distribution<size_t>(0, 5)(rng)]);
    // Sometimes add an overlong line at the end.
    if (iter % 5 == 0) text += std::string(max_line + 3, 'L');
    const bytes data = to_bytes(text);
    const auto chunks = random_split(rng, data, 20);

    // raw: the frames concatenate back to the input.
    {
      raw_codec c(std::uniform_int_distribution<size_t>(1, 50)(rng));
      connection_sim sim{c};
      for (const auto& chunk : chunks)
        sim.feed(chunk);
      std::string joined;
      for (const auto& f : sim.frames)
        joined += f;
      CHECK_FALSE(sim.failed);
      CHECK(joined == text);
      CHECK(sim.buffer.empty());
    }

    // line: incremental decoding gives exactly what the model gives on the
    // whole buffer at each step.
    {
      INFO("max_line " << max_line << " strip_cr " << strip_cr);
      line_codec c(max_line, strip_cr);
      bytes buf;
      bool failed = false;
      for (const auto& chunk : chunks) {
        if (failed) break;
        buf.insert(buf.end(), chunk.begin(), chunk.end());
        for (;;) {
          size_t frame_len = 0, consumed = 0;
          auto expected = line_model(buf, max_line, frame_len, consumed, strip_cr);
          auto r = c.decode(buf);
          check_result_shape(r, buf);
          REQUIRE(r.state == expected);
          if (r.state == status::need_more) break;
          if (r.state == status::error) {
            failed = true;
            break;
          }
          REQUIRE(r.consumed == consumed);
          REQUIRE(r.frame.size() == frame_len);
          REQUIRE(r.frame.data() == buf.data());
          buf.erase(buf.begin(), buf.begin() + static_cast<ptrdiff_t>(r.consumed));
        }
      }
      if (iter % 5 == 0) CHECK(failed);  // the overlong tail must be rejected
    }
  }
}

TEST_CASE("fuzz: length_prefix streams survive random chunking", "[unit][codec][fuzz]") {
  std::mt19937 rng(4242);
  for (int iter = 0; iter < 200; ++iter) {
    const uint8_t h = std::array<uint8_t, 4>{1, 2, 4, 8}[iter % 4];
    const order o = (iter / 4) % 2 == 0 ? order::big : order::little;
    const bool includes = (iter / 8) % 2 == 0;
    const size_t max_frame = h == 1 ? 200 : 3000;
    const auto opts = make_options(h, o, includes, max_frame);
    INFO("iteration " << iter << " " << describe(opts));

    // Encode a stream of random payloads.
    length_prefix_codec enc(opts);
    std::vector<std::string> payloads;
    bytes stream;
    const size_t count = std::uniform_int_distribution<size_t>(0, 20)(rng);
    for (size_t i = 0; i < count; ++i) {
      const bytes p = random_bytes(rng, std::uniform_int_distribution<size_t>(0, max_frame)(rng));
      encoded_frame f;
      enc.encode(p, f);
      const bytes w = wire(f);
      stream.insert(stream.end(), w.begin(), w.end());
      payloads.push_back(to_string(p));
    }
    // Optionally end with an oversized announcement: must fail, not buffer.
    const bool poison = iter % 3 == 0;
    if (poison) {
      const bytes bad = header(h, o, max_frame + 1 + (includes ? h : 0));
      stream.insert(stream.end(), bad.begin(), bad.end());
    }

    length_prefix_codec dec(opts);
    connection_sim sim{dec};
    for (const auto& chunk : random_split(rng, stream, 700))
      sim.feed(chunk);
    CHECK(sim.frames == payloads);
    CHECK(sim.failed == poison);
    if (poison)
      CHECK(sim.buffer.size() == h);  // only the bad header is pending
    else
      CHECK(sim.buffer.empty());
  }
}
