// Robustness of every decoder: random, truncated, bit-flipped and hostile
// byte streams, thousands of seeded cases, each fed in random chunks the way
// a connection feeds it. Every case must keep the decode contract (checked
// by codec_sim), never leave more buffered than the limit allows, never
// deliver a frame past the limit, and end in frames, need-more, or a clean
// protocol error.
#include <catch2/catch.hpp>

#include <random>

#include "support/codec_zoo.hpp"

using namespace fastnet;
using namespace fastnet::test;

namespace {

std::string random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s)
    c = static_cast<char>(rng());
  return s;
}

// A plausible stream for codec `i`, to be mutated: valid frames of random sizes.
std::string valid_stream(int i, std::mt19937& rng) {
  std::string out;
  for (int n = 0; n < 8; ++n) {
    size_t len = rng() % 300;
    std::string p(len, 'a');
    for (char& c : p)
      c = static_cast<char>('a' + rng() % 26);
    switch (i) {
      case 1:
        out += p + "\n";
        break;
      case 2:
        out += p + "\r\n\r\n";
        break;
      case 4:
        p.resize(std::min<size_t>(p.size(), 255));
        out += static_cast<char>(p.size()) + p;
        break;
      case 5:
        out += std::string(2, '\0') + static_cast<char>(p.size() >> 8) +
               static_cast<char>(p.size()) + p;
        break;
      case 6:
        out += std::string(1, static_cast<char>((p.size() + 2) & 0xff)) +
               static_cast<char>((p.size() + 2) >> 8) + p;
        break;
      case 7:
        return "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
      case 8:
      case 9: {
        bool mask = i == 8;
        uint8_t op = n % 3 == 0 ? 9 : n % 2 ? 1 : 2;
        out += static_cast<char>(0x80 | op);
        if (op == 9) p.resize(std::min<size_t>(p.size(), 125));
        if (p.size() < 126) {
          out += static_cast<char>((mask ? 0x80 : 0) | p.size());
        } else {
          out += static_cast<char>((mask ? 0x80 : 0) | 126);
          out += static_cast<char>(p.size() >> 8);
          out += static_cast<char>(p.size());
        }
        if (mask) out += std::string("\x01\x02\x03\x04", 4);
        for (size_t k = 0; k < p.size(); ++k)
          out += mask ? static_cast<char>(p[k] ^ "\x01\x02\x03\x04"[k & 3]) : p[k];
        break;
      }
      default:
        out += p;
    }
  }
  return out;
}

std::string mutate(std::string s, std::mt19937& rng) {
  switch (rng() % 4) {
    case 0:  // truncate
      s.resize(s.empty() ? 0 : rng() % s.size());
      break;
    case 1:  // flip bits
      for (int k = 0; k < 1 + static_cast<int>(rng() % 8) && !s.empty(); ++k)
        s[rng() % s.size()] ^= static_cast<char>(1u << (rng() % 8));
      break;
    case 2:  // hostile lengths: 0xff runs at random places
      for (int k = 0; k < 3 && !s.empty(); ++k)
        s.replace(rng() % s.size(), 1, std::string(1 + rng() % 9, '\xff'));
      break;
    default:  // splice random bytes in
      s.insert(s.empty() ? 0 : rng() % s.size(), random_bytes(1 + rng() % 64, rng()));
  }
  return s;
}

void run(int codec_index, const std::string& stream, std::mt19937& rng) {
  auto zoo = make_zoo(codec_index);
  codec_sim sim = zoo.sim();
  const size_t max_chunk = 1 + rng() % 512;
  sim.feed_split(rng, to_byte_vector(stream), max_chunk);
  // Bounded: what stays buffered never exceeds the limit plus one read.
  REQUIRE(sim.max_buffered() <= zoo_buffer_bound(codec_index) + max_chunk);
  for (const auto& f : sim.frames)
    if (codec_index != 7) REQUIRE(f.payload.size() <= zoo_limit);
  if (sim.failed) REQUIRE_FALSE(sim.error.empty());
}

}  // namespace

TEST_CASE("every decoder survives random, truncated and hostile streams", "[unit][codec][robust]") {
  for (int i = 0; i < zoo_size; ++i) {
    INFO("codec " << zoo_names[i]);
    for (uint32_t seed = 1; seed <= 1500; ++seed) {
      INFO("seed " << seed);
      std::mt19937 rng(seed * 7919 + static_cast<uint32_t>(i));
      std::string stream;
      switch (seed % 3) {
        case 0:
          stream = random_bytes(rng() % 9000, rng());
          break;
        case 1:
          stream = valid_stream(i, rng);
          break;
        default:
          stream = mutate(valid_stream(i, rng), rng);
      }
      run(i, stream, rng);
    }
  }
}

TEST_CASE("valid streams decode without errors in any chunking", "[unit][codec][robust]") {
  for (int i = 0; i < zoo_size; ++i) {
    INFO("codec " << zoo_names[i]);
    for (uint32_t seed = 1; seed <= 200; ++seed) {
      std::mt19937 rng(seed);
      std::string stream = valid_stream(i, rng);
      auto whole = make_zoo(i);
      codec_sim a = whole.sim();
      a.feed(stream);
      auto split = make_zoo(i);
      codec_sim b = split.sim();
      b.feed_split(rng, to_byte_vector(stream), 1 + rng() % 17);
      INFO("seed " << seed);
      REQUIRE_FALSE(a.failed);
      REQUIRE_FALSE(b.failed);
      if (i != 0) REQUIRE(a.frames == b.frames);    // raw: chunks are the frames
      if (i != 9) REQUIRE(a.replies == b.replies);  // a client masks with random keys
    }
  }
}
