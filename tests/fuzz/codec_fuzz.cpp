// libFuzzer target for one decoder (FASTNET_FUZZ_CODEC: an index into
// support/codec_zoo.hpp). The first input byte picks the chunk size the
// rest is fed in, the way a connection feeds its reads; codec_sim throws
// (and the fuzzer reports a crash) on any break of the decode contract, and
// the buffering bound is checked after every case.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "support/codec_zoo.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fastnet::test;
  if (size == 0) return 0;
  const size_t chunk = 1 + data[0] % 64 * 8;
  auto zoo = make_zoo(FASTNET_FUZZ_CODEC);
  codec_sim sim = zoo.sim();
  auto input = std::as_bytes(std::span(data + 1, size - 1));
  for (size_t pos = 0; pos < input.size() && !sim.done(); pos += chunk)
    sim.feed(input.subspan(pos, std::min(chunk, input.size() - pos)));
  if (sim.max_buffered() > zoo_buffer_bound(FASTNET_FUZZ_CODEC) + chunk) std::abort();
  for (const auto& f : sim.frames)
    if (FASTNET_FUZZ_CODEC != 7 && f.payload.size() > zoo_limit) std::abort();
  return 0;
}
