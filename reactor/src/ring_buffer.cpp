#include "fastnet/ring_buffer.hpp"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cstring>
#include <new>

namespace fastnet {
namespace {
// Smallest allocation: below this a ring would regrow on nearly every append.
constexpr size_t min_capacity = 512;
// Capacities above this are halved once the data falls to a quarter of them.
constexpr size_t shrink_threshold = 64 * 1024;
}  // namespace

ring_buffer::ring_buffer(size_t max_retained) {
  // A retaining ring needs somewhere to keep its max_retained while it has
  // no data: a block of bookkeeping alone. The default ring stays empty.
  if (max_retained > 0) reallocate(0, max_retained);
}

void ring_buffer::append(std::span<const std::byte> data) {
  if (data.empty()) return;
  reserve(size() + data.size());
  header& h = *meta();
  size_t tail = (h.start + h.size) & (h.cap - 1);
  size_t first = std::min(data.size(), h.cap - tail);
  std::memcpy(this->data() + tail, data.data(), first);
  std::memcpy(this->data(), data.data() + first, data.size() - first);
  h.size += data.size();
}

void ring_buffer::consume(size_t n) {
  assert(n <= size());
  if (n == 0) return;
  header& h = *meta();
  n = std::min(n, h.size);
  h.size -= n;
  if (h.size == 0) {
    h.start = 0;
    if (h.cap > h.max_retained) {
      if (h.max_retained > 0) {
        reallocate(0, h.max_retained);
      } else {
        block_.reset();
      }
    }
    return;
  }
  h.start = (h.start + n) & (h.cap - 1);
  if (h.cap > shrink_threshold && h.cap > h.max_retained && h.size < h.cap / 4)
    reallocate(std::max({min_capacity, std::bit_ceil(h.size * 2), h.max_retained}), h.max_retained);
}

void ring_buffer::clear() {
  if (!block_) return;
  if (meta()->max_retained > 0) {
    meta()->size = 0;
    reallocate(0, meta()->max_retained);  // drops the data, keeps the bookkeeping
  } else {
    block_.reset();
  }
}

std::span<const std::byte> ring_buffer::linearize() {
  if (size() == 0) return {};
  header& h = *meta();
  if (h.start + h.size > h.cap) {
    // Wrapped: rotate in place so the data starts at index 0 (no allocation).
    std::rotate(data(), data() + h.start, data() + h.cap);
    h.start = 0;
  }
  return {data() + h.start, h.size};
}

int ring_buffer::readable_iov(iovec (&iov)[2]) const {
  if (size() == 0) return 0;
  const header& h = *meta();
  size_t first = std::min(h.size, h.cap - h.start);
  iov[0] = {data() + h.start, first};
  if (first == h.size) return 1;
  iov[1] = {data(), h.size - first};
  return 2;
}

int ring_buffer::writable_iov(iovec (&iov)[2], size_t n) {
  reserve(size() + n);
  if (capacity() == size()) return 0;
  header& h = *meta();
  size_t tail = (h.start + h.size) & (h.cap - 1);
  int count = 0;
  if (tail >= h.start) {  // free space is [tail, cap) and [0, start)
    iov[count++] = {data() + tail, h.cap - tail};
    if (h.start > 0) iov[count++] = {data(), h.start};
  } else {  // data wraps: free space is [tail, start)
    iov[count++] = {data() + tail, h.start - tail};
  }
  return count;
}

void ring_buffer::copy_out(size_t offset, std::span<std::byte> out) const {
  assert(offset + out.size() <= size());
  if (out.empty()) return;
  const header& h = *meta();
  size_t from = (h.start + offset) & (h.cap - 1);
  size_t first = std::min(out.size(), h.cap - from);
  std::memcpy(out.data(), data() + from, first);
  std::memcpy(out.data() + first, data(), out.size() - first);
}

void ring_buffer::reserve(size_t needed) {
  if (needed <= capacity()) return;
  reallocate(std::max(min_capacity, std::bit_ceil(needed)), block_ ? meta()->max_retained : 0);
}

void ring_buffer::reallocate(size_t new_cap, size_t max_retained) {
  const size_t n = size();
  assert(new_cap >= n && (new_cap == 0 || std::has_single_bit(new_cap)));
  // make_unique_for_overwrite: no zero-fill of memory that is written before it is read.
  auto fresh = std::make_unique_for_overwrite<std::byte[]>(sizeof(header) + new_cap);
  ::new (fresh.get()) header{new_cap, 0, n, max_retained};
  if (n > 0) copy_out(0, {fresh.get() + sizeof(header), n});
  block_ = std::move(fresh);
}

}  // namespace fastnet
