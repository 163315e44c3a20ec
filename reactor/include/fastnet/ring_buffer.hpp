// fastnet — the byte ring buffer used for connection input and output.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <utility>

namespace fastnet {

/// A growable byte ring. Capacity is a power of two, allocated lazily on the
/// first append and freed again when the ring drains, so an idle connection
/// holds no heap memory; after a burst the memory goes back (shrink policy in
/// consume()). Readers get one contiguous view of all readable bytes through
/// linearize(), writers get iovecs of the readable regions for writev.
/// Thread safety: none; a ring belongs to its connection's loop thread.
class ring_buffer {
 public:
  /// `max_retained` is the capacity kept across a drain before memory is given
  /// back; 0 (the default) frees on every drain.
  explicit ring_buffer(size_t max_retained = 0) : max_retained_(max_retained) {}
  /// Moving leaves the source empty (and holding no memory), ready for reuse.
  ring_buffer(ring_buffer&& other) noexcept { *this = std::move(other); }
  ring_buffer& operator=(ring_buffer&& other) noexcept {
    if (this != &other) {
      data_ = std::move(other.data_);
      cap_ = std::exchange(other.cap_, 0);
      head_ = std::exchange(other.head_, 0);
      size_ = std::exchange(other.size_, 0);
      max_retained_ = other.max_retained_;
    }
    return *this;
  }

  /// Bytes stored and not yet consumed.
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  /// Bytes of heap currently held (0 when idle).
  size_t capacity() const { return cap_; }

  /// Appends `data`, growing to the next power of two when needed.
  void append(std::span<const std::byte> data);
  void append(const void* data, size_t n) {
    append(std::span(static_cast<const std::byte*>(data), n));
  }

  /// Drops the first `n` readable bytes (n <= size()). When the ring empties
  /// its memory is released (beyond max_retained); when it falls to a quarter
  /// of a large capacity it is halved.
  void consume(size_t n);

  /// Drops everything and releases memory.
  void clear();

  /// All readable bytes as one contiguous span. Cheap when the data does not
  /// wrap; otherwise moves the bytes to the start of the storage once.
  std::span<const std::byte> linearize();

  /// Up to two iovecs describing the readable bytes in order; returns the count.
  int readable_iov(iovec (&iov)[2]) const;

  /// Ensures at least `n` bytes can be appended without reallocating, and
  /// returns up to two iovecs of free space; call commit() with what was filled.
  int writable_iov(iovec (&iov)[2], size_t n);
  /// Marks `n` bytes written into the regions returned by writable_iov().
  void commit(size_t n) { size_ += n; }

  /// Copies `out.size()` bytes starting `offset` bytes into the readable data.
  void copy_out(size_t offset, std::span<std::byte> out) const;

 private:
  void reserve(size_t needed);
  void reallocate(size_t new_cap);
  size_t head_index() const { return head_ & (cap_ - 1); }

  std::unique_ptr<std::byte[]> data_;
  size_t cap_ = 0;
  size_t head_ = 0;  // index of the first readable byte, in [0, cap_)
  size_t size_ = 0;
  size_t max_retained_ = 0;
};

}  // namespace fastnet
