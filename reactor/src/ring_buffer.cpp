#include "fastnet/ring_buffer.hpp"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cstring>

namespace fastnet {
namespace {
// Smallest allocation: below this a ring would regrow on nearly every append.
constexpr size_t min_capacity = 512;
// Capacities above this are halved once the data falls to a quarter of them.
constexpr size_t shrink_threshold = 64 * 1024;
}  // namespace

void ring_buffer::append(std::span<const std::byte> data) {
  if (data.empty()) return;
  reserve(size_ + data.size());
  size_t tail = (head_ + size_) & (cap_ - 1);
  size_t first = std::min(data.size(), cap_ - tail);
  std::memcpy(data_.get() + tail, data.data(), first);
  std::memcpy(data_.get(), data.data() + first, data.size() - first);
  size_ += data.size();
}

void ring_buffer::consume(size_t n) {
  assert(n <= size_);
  n = std::min(n, size_);
  size_ -= n;
  if (size_ == 0) {
    head_ = 0;
    if (cap_ > max_retained_) {
      data_.reset();
      cap_ = 0;
    }
    return;
  }
  head_ = (head_ + n) & (cap_ - 1);
  if (cap_ > shrink_threshold && cap_ > max_retained_ && size_ < cap_ / 4)
    reallocate(std::max({min_capacity, std::bit_ceil(size_ * 2), max_retained_}));
}

void ring_buffer::clear() {
  data_.reset();
  cap_ = head_ = size_ = 0;
}

std::span<const std::byte> ring_buffer::linearize() {
  if (size_ == 0) return {};
  if (head_ + size_ > cap_) {
    // Wrapped: rotate in place so the data starts at index 0 (no allocation).
    std::rotate(data_.get(), data_.get() + head_, data_.get() + cap_);
    head_ = 0;
  }
  return {data_.get() + head_, size_};
}

int ring_buffer::readable_iov(iovec (&iov)[2]) const {
  if (size_ == 0) return 0;
  size_t first = std::min(size_, cap_ - head_);
  iov[0] = {data_.get() + head_, first};
  if (first == size_) return 1;
  iov[1] = {data_.get(), size_ - first};
  return 2;
}

int ring_buffer::writable_iov(iovec (&iov)[2], size_t n) {
  reserve(size_ + n);
  if (cap_ == size_) return 0;
  size_t tail = (head_ + size_) & (cap_ - 1);
  int count = 0;
  if (tail >= head_) {  // free space is [tail, cap) and [0, head)
    iov[count++] = {data_.get() + tail, cap_ - tail};
    if (head_ > 0) iov[count++] = {data_.get(), head_};
  } else {  // data wraps: free space is [tail, head)
    iov[count++] = {data_.get() + tail, head_ - tail};
  }
  return count;
}

void ring_buffer::copy_out(size_t offset, std::span<std::byte> out) const {
  assert(offset + out.size() <= size_);
  if (out.empty()) return;
  size_t start = (head_ + offset) & (cap_ - 1);
  size_t first = std::min(out.size(), cap_ - start);
  std::memcpy(out.data(), data_.get() + start, first);
  std::memcpy(out.data() + first, data_.get(), out.size() - first);
}

void ring_buffer::reserve(size_t needed) {
  if (needed <= cap_) return;
  reallocate(std::max(min_capacity, std::bit_ceil(needed)));
}

void ring_buffer::reallocate(size_t new_cap) {
  assert(new_cap >= size_ && std::has_single_bit(new_cap));
  // make_unique_for_overwrite: no zero-fill of memory that is written before it is read.
  auto fresh = std::make_unique_for_overwrite<std::byte[]>(new_cap);
  if (size_ > 0) copy_out(0, {fresh.get(), size_});
  data_ = std::move(fresh);
  cap_ = new_cap;
  head_ = 0;
}

}  // namespace fastnet
