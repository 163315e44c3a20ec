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
///
/// The object itself is one pointer: the ring's bookkeeping (capacity, head,
/// size, max_retained) sits at the front of the block that holds its bytes,
/// so a connection's two idle rings take 16 bytes. A ring that retains
/// memory (max_retained > 0) keeps a block of bookkeeping alone while it has
/// no capacity.
/// Thread safety: none; a ring belongs to its connection's loop thread.
class ring_buffer {
 public:
  /// `max_retained` is the capacity kept across a drain before memory is given
  /// back; 0 (the default) frees on every drain.
  explicit ring_buffer(size_t max_retained = 0);
  /// Moving leaves the source empty, holding no memory and retaining none
  /// (max_retained 0), ready for reuse.
  ring_buffer(ring_buffer&& other) noexcept = default;
  /// Frees this ring's memory and takes `other`'s; `other` is left as after
  /// a move construction.
  ring_buffer& operator=(ring_buffer&& other) noexcept = default;

  /// Bytes stored and not yet consumed.
  size_t size() const { return block_ ? meta()->size : 0; }
  /// True when no bytes are stored.
  bool empty() const { return size() == 0; }
  /// Bytes of heap currently held for data (0 when idle).
  size_t capacity() const { return block_ ? meta()->cap : 0; }

  /// Appends `data`, growing to the next power of two when needed.
  void append(std::span<const std::byte> data);
  /// Appends `n` bytes from `data`.
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
  void commit(size_t n) {
    if (n > 0) meta()->size += n;
  }

  /// Copies `out.size()` bytes starting `offset` bytes into the readable data.
  void copy_out(size_t offset, std::span<std::byte> out) const;

 private:
  /// At the front of the block; the ring's bytes follow it.
  struct header {
    size_t cap;    // bytes of data after the header, a power of two (or 0)
    size_t start;  // index of the first readable byte, in [0, cap)
    size_t size;
    size_t max_retained;
  };

  header* meta() const { return reinterpret_cast<header*>(block_.get()); }
  std::byte* data() const { return block_.get() + sizeof(header); }
  void reserve(size_t needed);
  /// Replaces the block with one of `new_cap` bytes (the data moved to its
  /// start); `new_cap` 0 keeps the bookkeeping alone.
  void reallocate(size_t new_cap, size_t max_retained);

  std::unique_ptr<std::byte[]> block_;  // header + cap bytes; null: empty, retaining nothing
};

}  // namespace fastnet
