// Unit tests for delimiter_codec, fixed_size_codec and the factory names
// added with them: framing, delimiters split across reads, limits checked
// before buffering past them, encode output, seeded random streams.
#include <catch2/catch.hpp>

#include <fastnet/codecs.hpp>

#include <random>
#include <stdexcept>

#include "support/codec_sim.hpp"

using namespace fastnet;
using namespace fastnet::test;

TEST_CASE("delimiter: multi-byte delimiters, also split across reads", "[unit][codec][delimiter]") {
  delimiter_codec c("\r\n");
  codec_sim sim{c};
  sim.feed("one\r\ntwo\r");
  sim.feed("\n\r\nthree");
  REQUIRE_FALSE(sim.failed);
  CHECK(sim.frames == std::vector<sim_frame>{{frame_kind::data, "one"},
                                             {frame_kind::data, "two"},
                                             {frame_kind::data, ""}});
  CHECK(sim.buffered() == 5);
}

TEST_CASE("delimiter: a partial delimiter inside a frame is data", "[unit][codec][delimiter]") {
  delimiter_codec c("END");
  codec_sim sim{c};
  sim.feed("aENbEENDxEND");
  CHECK(sim.frames == std::vector<sim_frame>{{frame_kind::data, "aENbE"}, {frame_kind::data, "x"}});
}

TEST_CASE("delimiter: max frame is enforced before buffering past it", "[unit][codec][delimiter]") {
  delimiter_codec c("\r\n", 4);
  SECTION("exactly max is fine") {
    codec_sim sim{c};
    sim.feed("abcd\r\n");
    CHECK(sim.frames == std::vector<sim_frame>{{frame_kind::data, "abcd"}});
  }
  SECTION("one more byte without a delimiter fails as soon as it can be known") {
    codec_sim sim{c};
    sim.feed("abcd\r");
    CHECK_FALSE(sim.failed);
    sim.feed("x");
    CHECK(sim.failed);
    CHECK(sim.max_buffered() == 6);
  }
  SECTION("byte by byte") {
    codec_sim sim{c};
    for (char ch : std::string("abcdefgh")) {
      sim.feed(std::string(1, ch));
      if (sim.failed) break;
    }
    CHECK(sim.failed);
    CHECK(sim.max_buffered() <= 6);
  }
}

TEST_CASE("delimiter: encode appends the delimiter without copying", "[unit][codec][delimiter]") {
  delimiter_codec c(std::string("\0\0", 2));
  auto payload = to_byte_vector("abc");
  encoded_frame f;
  c.encode(payload, f);
  CHECK(f.body.data() == payload.data());
  CHECK(wire_of(f) == std::string("abc\0\0", 5));
  CHECK_THROWS_AS(delimiter_codec(""), std::invalid_argument);
  // Longer than the inline tail: written from the codec's own copy.
  delimiter_codec long_delim("--boundary-42--");
  encoded_frame g;
  long_delim.encode(payload, g);
  CHECK(g.body.data() == payload.data());
  CHECK(wire_of(g) == "abc--boundary-42--");
  auto input = to_byte_vector("one--boundary-42--two");
  auto r = long_delim.decode(input);
  REQUIRE(r.state == decode_result::status::frame);
  CHECK(to_text(r.frame) == "one");
  CHECK(r.consumed == 18);
}

TEST_CASE("delimiter: random streams split at random points", "[unit][codec][delimiter]") {
  for (uint32_t seed = 1; seed <= 300; ++seed) {
    std::mt19937 rng(seed);
    std::string delim = seed % 3 == 0 ? "\n" : seed % 3 == 1 ? "\r\n" : "<|>";
    std::vector<sim_frame> want;
    std::string stream;
    for (int i = 0; i < 20; ++i) {
      std::string f;
      size_t n = rng() % 40;
      for (size_t k = 0; k < n; ++k)
        f.push_back("ab<|\r"[rng() % 5]);  // delimiter-ish bytes, never a whole one
      if (f.find(delim) != std::string::npos) continue;
      // A frame ending in a delimiter prefix could merge with the delimiter; skip those.
      bool ambiguous = false;
      for (size_t k = 1; k < delim.size(); ++k)
        if (f.size() >= k && f.compare(f.size() - k, k, delim, 0, k) == 0) ambiguous = true;
      if (ambiguous) continue;
      want.push_back({frame_kind::data, f});
      stream += f + delim;
    }
    delimiter_codec c(delim, 64);
    codec_sim sim{c};
    sim.feed_split(rng, to_byte_vector(stream), 7);
    INFO("seed " << seed);
    REQUIRE_FALSE(sim.failed);
    REQUIRE(sim.frames == want);
  }
}

TEST_CASE("fixed: frames of exactly N bytes", "[unit][codec][fixed]") {
  fixed_size_codec c(3);
  codec_sim sim{c};
  sim.feed("abcde");
  sim.feed("fgh");
  CHECK(sim.frames == std::vector<sim_frame>{{frame_kind::data, "abc"}, {frame_kind::data, "def"}});
  CHECK(sim.buffered() == 2);
  auto ok = to_byte_vector("xyz");
  encoded_frame f;
  c.encode(ok, f);
  CHECK(wire_of(f) == "xyz");
  auto bad = to_byte_vector("xy");
  CHECK_THROWS_AS(c.encode(bad, f), std::length_error);
  CHECK_THROWS_AS(fixed_size_codec(0), std::invalid_argument);
}

TEST_CASE("factory: new names", "[unit][codec][factory]") {
  for (const char* name : {"raw", "line", "crlf", "len8", "len16", "len32", "len64", "len16le",
                           "len32le", "len64le", "fixed:12", "delimiter:\\r\\n", "delimiter:\\x00",
                           "delimiter:END", "delimiter:--boundary-42--"}) {
    INFO(name);
    auto f = make_codec_factory(name, 1024);
    REQUIRE(f);
    CHECK((*f)() != nullptr);
  }
  for (const char* name : {"fixed:", "fixed:0", "fixed:x", "delimiter:", "delimiter:\\q",
                           "delimiter:\\x4", "len24", "nope"}) {
    INFO(name);
    CHECK_FALSE(make_codec_factory(name, 1024));
  }
  auto crlf = (*make_codec_factory("delimiter:\\r\\n", 1024))();
  codec_sim sim{*crlf};
  sim.feed("a\r\nb\n\r\n");
  CHECK(sim.frames == std::vector<sim_frame>{{frame_kind::data, "a"}, {frame_kind::data, "b\n"}});
  auto le = (*make_codec_factory("len16le", 1024))();
  codec_sim sim2{*le};
  sim2.feed(std::string("\x02\x00hi", 4));
  CHECK(sim2.frames == std::vector<sim_frame>{{frame_kind::data, "hi"}});
}
