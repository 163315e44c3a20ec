// fastnet — the provided buffers an io_uring loop receives into (internal).
#pragma once

#include <liburing.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace fastnet::detail {

/// One loop's provided buffer ring: where its multishot receives put the
/// bytes they read, until the loop has handed them on.
///
/// Where the kernel can (6.12+, IOU_PBUF_RING_INC), buffers are 32 KiB and
/// consumed incrementally: a 64-byte message takes 64 bytes of a buffer, not
/// a buffer, and the next receive of any stream continues behind it. Older
/// kernels get whole 4 KiB buffers per receive. Either way the ring starts
/// with a few buffers (128 KiB with incremental buffers) and grows, doubling,
/// when one batch consumed half of them or a receive found none, up to
/// 4 MiB per loop; it does not shrink. A loop that mostly holds idle
/// connections so keeps its pages to the bursts it has seen, instead of
/// touching a whole 4 MiB pool in rotation. When the pool is exhausted a
/// receive ends with ENOBUFS; its stream is received from again once buffers
/// come back (the poller's starved list).
///
/// Protocol, all on the loop thread: take() each receive completion as it
/// is harvested (in completion order: that is how the kernel consumed the
/// buffers), data() for its bytes while delivering, release() when they are
/// no longer needed, publish() before the next wait. Buffers released are
/// not the kernel's again until publish(), so a batch can release in any
/// order.
class uring_buffer_pool {
 public:
  /// Maps the buffers and registers the ring with `ring`, with incremental
  /// consumption when `allow_incremental` and the kernel has it (false: the
  /// layout of older kernels, for tests). Throws std::system_error.
  explicit uring_buffer_pool(io_uring& ring, bool allow_incremental = true);
  /// Unmaps the buffers; the ring must be gone, or have nothing in flight
  /// that could still write into them.
  ~uring_buffer_pool();
  uring_buffer_pool(const uring_buffer_pool&) = delete;
  uring_buffer_pool& operator=(const uring_buffer_pool&) = delete;

  /// The buffer group receives select from.
  static constexpr uint16_t group = 0;

  /// Accounts for a receive completion's `res` bytes in the buffer its
  /// `flags` name, and returns their offset in it. Call in completion order,
  /// for every completion that carries a buffer, delivered or not.
  uint32_t take(int32_t res, uint32_t flags);
  /// The bytes of a completion (`res` > 0) taken at `offset`.
  std::span<const std::byte> data(uint32_t flags, uint32_t offset, int32_t res) const;
  /// Done with a completion's bytes: its buffer goes back to the ring (seen
  /// by the kernel after publish()) once the kernel has finished with it.
  void release(int32_t res, uint32_t flags);
  /// A receive found no buffer: the ring grows at the next publish().
  void starved() { starved_ = true; }
  /// Makes the buffers released (and any growth) visible to the kernel.
  /// Returns true when buffers were added, so that starved receives can be
  /// armed again.
  bool publish();
  /// True when the kernel consumes buffers incrementally.
  bool incremental() const { return incremental_; }
  /// Bytes of buffer space in rotation: what the pool can have touched.
  size_t in_rotation() const { return size_t{active_} * size_; }

 private:
  void add(unsigned bid);
  std::byte* buffer(unsigned bid) const { return base_ + size_t{bid} * size_; }

  io_uring_buf_ring* br_ = nullptr;
  std::byte* base_ = nullptr;
  bool incremental_ = false;
  unsigned size_ = 0;             // of one buffer
  unsigned count_ = 0;            // buffers mapped (and ring entries)
  unsigned active_ = 0;           // buffers in rotation (the rest untouched)
  unsigned returned_ = 0;         // buffers added since the last publish
  size_t consumed_ = 0;           // bytes of buffer space taken since the last publish
  bool starved_ = false;          // a receive found no buffer since the last publish
  std::vector<uint32_t> offset_;  // incremental: bytes of each buffer consumed so far
};

}  // namespace fastnet::detail
