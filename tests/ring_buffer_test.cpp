// Unit tests for fastnet::ring_buffer: lazy allocation, power-of-two growth,
// wrap-around (readable_iov, linearize, copy_out), release on drain and the
// max_retained policy, shrinking after a burst, writable_iov + commit, and a
// seeded randomized model test against std::deque<std::byte>.
#include <catch2/catch.hpp>

#include <fastnet/ring_buffer.hpp>

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstring>
#include <deque>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace {

using fastnet::ring_buffer;

// `n` bytes counting up from `start` (mod 256), so misplaced bytes are visible.
std::vector<std::byte> pattern(size_t n, size_t start = 0) {
  std::vector<std::byte> v(n);
  for (size_t i = 0; i < n; ++i)
    v[i] = static_cast<std::byte>((start + i) & 0xff);
  return v;
}

std::vector<std::byte> to_vec(std::span<const std::byte> s) {
  return {s.begin(), s.end()};
}

// All readable bytes gathered through readable_iov (does not modify the ring).
std::vector<std::byte> via_iov(const ring_buffer& rb) {
  iovec iov[2];
  int n = rb.readable_iov(iov);
  std::vector<std::byte> out;
  for (int i = 0; i < n; ++i) {
    auto* p = static_cast<const std::byte*>(iov[i].iov_base);
    out.insert(out.end(), p, p + iov[i].iov_len);
  }
  return out;
}

// All readable bytes gathered through copy_out (does not modify the ring).
std::vector<std::byte> via_copy_out(const ring_buffer& rb) {
  std::vector<std::byte> out(rb.size());
  rb.copy_out(0, out);
  return out;
}

bool is_pow2_or_zero(size_t n) {
  return n == 0 || std::has_single_bit(n);
}

// Fills a ring so that its data wraps around the end of the storage and
// returns the bytes expected in it. The capacity is left unchanged.
std::vector<std::byte> make_wrapped(ring_buffer& rb) {
  auto first = pattern(100);
  rb.append(first.data(), first.size());
  const size_t cap = rb.capacity();
  REQUIRE(cap >= 100);
  // Fill the storage exactly, then drop all but the last 50 bytes.
  auto rest = pattern(cap - 100, 100);
  rb.append(rest.data(), rest.size());
  REQUIRE(rb.capacity() == cap);
  REQUIRE(rb.size() == cap);
  rb.consume(cap - 50);
  REQUIRE(rb.size() == 50);
  // The 50 bytes left sit at the very end of the storage, so the next 100
  // bytes wrap to its start.
  auto more = pattern(100, 7);
  rb.append(more.data(), more.size());
  REQUIRE(rb.capacity() == cap);
  std::vector<std::byte> expected = pattern(50, cap - 50);
  expected.insert(expected.end(), more.begin(), more.end());
  return expected;
}

}  // namespace

TEST_CASE("empty ring holds no memory", "[unit][ring_buffer]") {
  // One pointer: its bookkeeping lives in the block with its bytes.
  STATIC_REQUIRE(sizeof(ring_buffer) == sizeof(void*));
  ring_buffer rb;
  CHECK(rb.size() == 0);
  CHECK(rb.empty());
  CHECK(rb.capacity() == 0);
  iovec iov[2];
  CHECK(rb.readable_iov(iov) == 0);
  CHECK(rb.linearize().empty());

  SECTION("appending nothing allocates nothing") {
    rb.append(nullptr, 0);
    CHECK(rb.capacity() == 0);
    CHECK(rb.empty());
  }
  SECTION("a retaining ring is still lazy") {
    ring_buffer retaining(4096);
    CHECK(retaining.capacity() == 0);
  }
}

TEST_CASE("append grows the capacity in powers of two", "[unit][ring_buffer]") {
  ring_buffer rb;
  std::vector<std::byte> expected;
  size_t previous_cap = 0;
  for (size_t n : {1u, 10u, 100u, 1000u, 3000u, 10000u, 70000u}) {
    auto chunk = pattern(n, expected.size());
    rb.append(chunk);
    expected.insert(expected.end(), chunk.begin(), chunk.end());
    INFO("after appending " << n << " bytes, size " << rb.size() << ", capacity " << rb.capacity());
    CHECK(rb.size() == expected.size());
    CHECK(std::has_single_bit(rb.capacity()));
    CHECK(rb.capacity() >= rb.size());
    CHECK(rb.capacity() >= previous_cap);
    previous_cap = rb.capacity();
  }
  // Growth doubles at most to the next power of two of what is stored.
  CHECK(rb.capacity() == std::bit_ceil(rb.size()));
  CHECK(via_copy_out(rb) == expected);
  CHECK(to_vec(rb.linearize()) == expected);
}

TEST_CASE("append of exactly the capacity does not grow", "[unit][ring_buffer]") {
  ring_buffer rb;
  rb.append(pattern(1).data(), 1);
  const size_t cap = rb.capacity();
  REQUIRE(std::has_single_bit(cap));
  auto rest = pattern(cap - 1, 1);
  rb.append(rest);
  CHECK(rb.size() == cap);
  CHECK(rb.capacity() == cap);
  // One byte more must grow to the next power of two.
  std::byte extra{0xEE};
  rb.append(&extra, 1);
  CHECK(rb.capacity() == cap * 2);
  auto expected = pattern(cap);
  expected.push_back(extra);
  CHECK(via_copy_out(rb) == expected);
}

TEST_CASE("wrap-around: readable_iov, linearize and copy_out", "[unit][ring_buffer]") {
  ring_buffer rb;
  auto expected = make_wrapped(rb);
  const size_t cap = rb.capacity();

  SECTION("readable_iov returns two regions in order") {
    iovec iov[2];
    REQUIRE(rb.readable_iov(iov) == 2);
    CHECK(iov[0].iov_len == 50);   // the old bytes up to the end of the storage
    CHECK(iov[1].iov_len == 100);  // the new bytes, wrapped to the start
    CHECK(iov[0].iov_len + iov[1].iov_len == rb.size());
    CHECK(via_iov(rb) == expected);
  }

  SECTION("copy_out reads across the wrap at any offset") {
    for (size_t offset = 0; offset <= expected.size(); ++offset) {
      for (size_t len : {size_t{0}, size_t{1}, size_t{7}, size_t{49}, size_t{50}, size_t{51},
                         expected.size() - offset}) {
        if (offset + len > expected.size()) continue;
        std::vector<std::byte> out(len);
        rb.copy_out(offset, out);
        INFO("offset " << offset << " len " << len);
        CHECK(std::equal(out.begin(), out.end(), expected.begin() + offset));
      }
    }
    // copy_out does not consume anything.
    CHECK(rb.size() == expected.size());
  }

  SECTION("linearize returns the bytes in order and keeps the ring usable") {
    auto view = rb.linearize();
    CHECK(view.size() == expected.size());
    CHECK(to_vec(view) == expected);
    CHECK(rb.size() == expected.size());
    CHECK(rb.capacity() == cap);
    // After linearizing the data is contiguous.
    iovec iov[2];
    CHECK(rb.readable_iov(iov) == 1);
    CHECK(via_iov(rb) == expected);
    // Appending and consuming afterwards still works.
    auto more = pattern(30, 200);
    rb.append(more);
    expected.insert(expected.end(), more.begin(), more.end());
    rb.consume(10);
    expected.erase(expected.begin(), expected.begin() + 10);
    CHECK(via_copy_out(rb) == expected);
    CHECK(to_vec(rb.linearize()) == expected);
  }

  SECTION("growing a wrapped ring keeps the order") {
    auto big = pattern(cap * 2, 33);
    rb.append(big);
    expected.insert(expected.end(), big.begin(), big.end());
    CHECK(rb.capacity() >= expected.size());
    CHECK(std::has_single_bit(rb.capacity()));
    CHECK(via_iov(rb) == expected);
    CHECK(to_vec(rb.linearize()) == expected);
  }

  SECTION("consuming past the wrap point") {
    rb.consume(120);
    expected.erase(expected.begin(), expected.begin() + 120);
    iovec iov[2];
    CHECK(rb.readable_iov(iov) == 1);
    CHECK(via_iov(rb) == expected);
    CHECK(to_vec(rb.linearize()) == expected);
  }
}

TEST_CASE("draining releases memory with the default max_retained", "[unit][ring_buffer]") {
  ring_buffer rb;
  auto data = pattern(1000);
  rb.append(data);
  REQUIRE(rb.capacity() > 0);

  SECTION("consume everything at once") {
    rb.consume(1000);
    CHECK(rb.empty());
    CHECK(rb.capacity() == 0);
  }
  SECTION("consume in pieces") {
    rb.consume(400);
    CHECK(rb.size() == 600);
    CHECK(rb.capacity() > 0);
    rb.consume(600);
    CHECK(rb.empty());
    CHECK(rb.capacity() == 0);
  }
  SECTION("consume(0) on a non-empty ring keeps the data") {
    rb.consume(0);
    CHECK(rb.size() == 1000);
    CHECK(via_copy_out(rb) == data);
  }
  SECTION("clear releases memory") {
    rb.clear();
    CHECK(rb.empty());
    CHECK(rb.capacity() == 0);
  }
  SECTION("a wrapped ring drains to zero too") {
    ring_buffer wrapped;
    auto expected = make_wrapped(wrapped);
    wrapped.consume(expected.size());
    CHECK(wrapped.capacity() == 0);
  }
  // The ring is reusable after a drain.
  auto again = pattern(300, 5);
  rb.append(again);
  CHECK(rb.size() >= 300);
  std::vector<std::byte> tail(300);
  rb.copy_out(rb.size() - 300, tail);
  CHECK(tail == again);
}

TEST_CASE("max_retained keeps memory across a drain", "[unit][ring_buffer]") {
  constexpr size_t retained = 64 * 1024;
  ring_buffer rb(retained);

  SECTION("capacity up to max_retained survives a drain") {
    auto data = pattern(5000);
    rb.append(data);
    const size_t cap = rb.capacity();
    REQUIRE(cap > 0);
    REQUIRE(cap <= retained);
    rb.consume(5000);
    CHECK(rb.empty());
    CHECK(rb.capacity() == cap);
    // Refilling within the capacity reuses it.
    auto again = pattern(4000, 9);
    rb.append(again);
    CHECK(rb.capacity() == cap);
    CHECK(via_copy_out(rb) == again);
  }
  SECTION("capacity exactly max_retained survives a drain") {
    auto data = pattern(retained);
    rb.append(data);
    REQUIRE(rb.capacity() == retained);
    rb.consume(retained);
    CHECK(rb.capacity() == retained);
  }
  SECTION("capacity beyond max_retained is given back") {
    auto data = pattern(retained + 1);
    rb.append(data);
    REQUIRE(rb.capacity() > retained);
    rb.consume(data.size());
    CHECK(rb.empty());
    CHECK(rb.capacity() <= retained);
  }
  SECTION("clear releases even retained memory") {
    auto data = pattern(100);
    rb.append(data);
    rb.clear();
    CHECK(rb.capacity() == 0);
  }
}

TEST_CASE("capacity shrinks after a burst", "[unit][ring_buffer]") {
  constexpr size_t mib = 1 << 20;
  ring_buffer rb;
  auto burst = pattern(mib);
  rb.append(burst);
  REQUIRE(rb.capacity() == mib);

  SECTION("one large consume") {
    rb.consume(mib - 1000);
    CHECK(rb.size() == 1000);
    CHECK(rb.capacity() < mib);
    CHECK(std::has_single_bit(rb.capacity()));
    CHECK(rb.capacity() >= rb.size());
    std::vector<std::byte> expected(burst.end() - 1000, burst.end());
    CHECK(via_copy_out(rb) == expected);
  }
  SECTION("many small consumes") {
    size_t left = mib;
    while (left > 4096) {
      rb.consume(4096);
      left -= 4096;
      REQUIRE(rb.capacity() >= rb.size());
      REQUIRE(std::has_single_bit(rb.capacity()));
    }
    CHECK(rb.size() == 4096);
    CHECK(rb.capacity() < mib);
    std::vector<std::byte> expected(burst.end() - 4096, burst.end());
    CHECK(via_copy_out(rb) == expected);
  }
  SECTION("a burst above max_retained shrinks, keeping at least max_retained") {
    ring_buffer retaining(256 * 1024);
    retaining.append(burst);
    REQUIRE(retaining.capacity() == mib);
    retaining.consume(mib - 100);
    CHECK(retaining.capacity() < mib);
    CHECK(retaining.capacity() >= 100);
    std::vector<std::byte> expected(burst.end() - 100, burst.end());
    CHECK(via_copy_out(retaining) == expected);
  }
}

TEST_CASE("writable_iov + commit simulate a readv into the ring", "[unit][ring_buffer]") {
  // Writes `n` bytes of `src` into the regions the ring hands out, like readv.
  auto fill = [](ring_buffer& rb, std::span<const std::byte> src, int expected_regions) {
    iovec iov[2];
    int count = rb.writable_iov(iov, src.size());
    REQUIRE(count >= 1);
    REQUIRE(count <= 2);
    if (expected_regions > 0) CHECK(count == expected_regions);
    size_t total = 0;
    for (int i = 0; i < count; ++i)
      total += iov[i].iov_len;
    REQUIRE(total >= src.size());
    size_t done = 0;
    for (int i = 0; i < count && done < src.size(); ++i) {
      size_t n = std::min(iov[i].iov_len, src.size() - done);
      std::memcpy(iov[i].iov_base, src.data() + done, n);
      done += n;
    }
    rb.commit(src.size());
  };

  SECTION("into an empty ring") {
    ring_buffer rb;
    auto data = pattern(700);
    fill(rb, data, 0);
    CHECK(rb.size() == 700);
    CHECK(rb.capacity() >= 700);
    CHECK(std::has_single_bit(rb.capacity()));
    CHECK(via_copy_out(rb) == data);
  }

  SECTION("free space split at the end of the storage (two regions)") {
    ring_buffer rb;
    auto first = pattern(100);
    rb.append(first);
    const size_t cap = rb.capacity();
    // Move the data to the middle: [cap/2 - 10, cap/2 + 90) after consuming.
    auto filler = pattern(cap / 2 - 10, 100);
    rb.append(filler);
    rb.consume(cap / 2 - 10);
    REQUIRE(rb.size() == 100);
    REQUIRE(rb.capacity() == cap);
    std::vector<std::byte> expected(rb.size());
    rb.copy_out(0, expected);
    // Free space is the end of the storage plus the start; ask for more than
    // fits at the end so both regions are needed.
    const size_t want = cap - 100;
    auto incoming = pattern(want, 77);
    fill(rb, incoming, 2);
    expected.insert(expected.end(), incoming.begin(), incoming.end());
    CHECK(rb.capacity() == cap);
    CHECK(rb.size() == cap);
    CHECK(via_iov(rb) == expected);
    CHECK(to_vec(rb.linearize()) == expected);
  }

  SECTION("free space between wrapped data (one region)") {
    ring_buffer rb;
    auto expected = make_wrapped(rb);
    const size_t cap = rb.capacity();
    const size_t free_space = cap - rb.size();
    auto incoming = pattern(free_space, 3);
    fill(rb, incoming, 1);
    expected.insert(expected.end(), incoming.begin(), incoming.end());
    CHECK(rb.capacity() == cap);
    CHECK(via_copy_out(rb) == expected);
  }

  SECTION("asking for more than the free space grows the ring first") {
    ring_buffer rb;
    auto expected = make_wrapped(rb);
    const size_t cap = rb.capacity();
    auto incoming = pattern(cap, 11);
    fill(rb, incoming, 0);
    expected.insert(expected.end(), incoming.begin(), incoming.end());
    CHECK(rb.capacity() > cap);
    CHECK(std::has_single_bit(rb.capacity()));
    CHECK(via_iov(rb) == expected);
  }

  SECTION("committing less than offered (a short read)") {
    ring_buffer rb;
    auto data = pattern(40);
    rb.append(data);
    iovec iov[2];
    int count = rb.writable_iov(iov, 1000);
    REQUIRE(count >= 1);
    size_t total = 0;
    for (int i = 0; i < count; ++i)
      total += iov[i].iov_len;
    CHECK(total >= 1000);
    CHECK(rb.size() == 40);  // offering space does not change the data
    auto got = pattern(10, 90);
    std::memcpy(iov[0].iov_base, got.data(), got.size());
    rb.commit(got.size());
    data.insert(data.end(), got.begin(), got.end());
    CHECK(via_copy_out(rb) == data);
  }
}

TEST_CASE("move transfers the contents", "[unit][ring_buffer]") {
  ring_buffer a;
  auto expected = make_wrapped(a);
  const size_t cap = a.capacity();
  ring_buffer b(std::move(a));
  CHECK(b.size() == expected.size());
  CHECK(b.capacity() == cap);
  CHECK(via_iov(b) == expected);
  ring_buffer c;
  c = std::move(b);
  CHECK(to_vec(c.linearize()) == expected);
  // The moved-from rings are empty and hold nothing, ready for reuse.
  CHECK(a.empty());
  CHECK(a.capacity() == 0);
  auto again = pattern(100, 3);
  a.append(again);
  CHECK(via_copy_out(a) == again);

  SECTION("a retaining ring moves its retention along") {
    ring_buffer r(8192);
    r.append(pattern(3000));
    ring_buffer s(std::move(r));
    s.consume(3000);
    CHECK(s.capacity() > 0);  // kept across the drain: max_retained came along
    CHECK(r.capacity() == 0);
  }
}

namespace {

// Drives a ring and a std::deque model through the same random operations.
void run_model(uint32_t seed, size_t max_retained, int steps) {
  std::mt19937 rng(seed);
  ring_buffer rb(max_retained);
  std::deque<std::byte> model;
  uint8_t next = 0;
  auto uniform = [&](size_t lo, size_t hi) {
    return std::uniform_int_distribution<size_t>(lo, hi)(rng);
  };

  for (int step = 0; step < steps; ++step) {
    INFO("seed " << seed << " step " << step << " size " << model.size());
    size_t op = uniform(0, 99);
    // Keep the ring bounded: consume more often once it is large.
    if (model.size() > 200000) op = 40;
    if (op < 40) {  // append 0..5000 bytes
      std::vector<std::byte> chunk(uniform(0, 5000));
      for (auto& b : chunk)
        b = static_cast<std::byte>(next++);
      rb.append(chunk);
      model.insert(model.end(), chunk.begin(), chunk.end());
    } else if (op < 70) {  // consume some, sometimes everything
      size_t n = uniform(0, 9) == 0 ? model.size() : uniform(0, model.size());
      rb.consume(n);
      model.erase(model.begin(), model.begin() + static_cast<ptrdiff_t>(n));
    } else if (op < 80) {  // linearize
      auto view = rb.linearize();
      REQUIRE(view.size() == model.size());
      REQUIRE(std::equal(view.begin(), view.end(), model.begin()));
    } else if (op < 90) {  // copy_out a random window
      size_t offset = uniform(0, model.size());
      size_t len = uniform(0, model.size() - offset);
      std::vector<std::byte> out(len);
      rb.copy_out(offset, out);
      REQUIRE(std::equal(out.begin(), out.end(), model.begin() + static_cast<ptrdiff_t>(offset)));
    } else {  // readv-style write through writable_iov + commit (possibly short)
      size_t want = uniform(0, 5000);
      iovec iov[2];
      int count = rb.writable_iov(iov, want);
      REQUIRE(count >= 0);
      REQUIRE(count <= 2);
      size_t total = 0;
      for (int i = 0; i < count; ++i)
        total += iov[i].iov_len;
      REQUIRE(total >= want);
      size_t got = uniform(0, want);
      size_t done = 0;
      for (int i = 0; i < count && done < got; ++i) {
        size_t n = std::min(iov[i].iov_len, got - done);
        auto* p = static_cast<std::byte*>(iov[i].iov_base);
        for (size_t k = 0; k < n; ++k) {
          p[k] = static_cast<std::byte>(next);
          model.push_back(static_cast<std::byte>(next++));
        }
        done += n;
      }
      rb.commit(got);
    }

    // Invariants after every step.
    REQUIRE(rb.size() == model.size());
    REQUIRE(rb.empty() == model.empty());
    REQUIRE(is_pow2_or_zero(rb.capacity()));
    REQUIRE(rb.capacity() >= rb.size());
    if (rb.empty()) REQUIRE(rb.capacity() <= max_retained);
    auto seen = via_iov(rb);
    REQUIRE(seen.size() == model.size());
    REQUIRE(std::equal(seen.begin(), seen.end(), model.begin()));
  }
}

}  // namespace

TEST_CASE("randomized model test against std::deque", "[unit][ring_buffer]") {
  SECTION("default max_retained") {
    for (uint32_t seed : {1u, 2u, 3u})
      run_model(seed, 0, 3000);
  }
  SECTION("max_retained 8 KiB") {
    for (uint32_t seed : {11u, 12u})
      run_model(seed, 8 * 1024, 3000);
  }
}
