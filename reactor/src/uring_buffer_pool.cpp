// fastnet — the provided buffers an io_uring loop receives into.
#include "uring_buffer_pool.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <system_error>

namespace fastnet::detail {
namespace {

// Both layouts map the same 4 MiB; only the buffers in rotation get touched.
constexpr size_t pool_bytes = size_t{4} << 20;
constexpr unsigned max_entries = 1024;  // the ring's mapping fits either layout
// Incremental: 128 x 32 KiB, 4 in rotation at first. A buffer that large
// also lets one receive take most of a stream's burst.
constexpr unsigned inc_size = 32 * 1024;
constexpr unsigned inc_initial = 4;
// Whole buffers: 1024 x 4 KiB, 64 in rotation at first.
constexpr unsigned whole_size = 4096;
constexpr unsigned whole_initial = 64;

// Named by the kernel's uapi since 6.12; liburing 2.3 predates them.
constexpr uint16_t pbuf_ring_inc = 2;       // IOU_PBUF_RING_INC
constexpr uint32_t cqe_buf_more = 1U << 4;  // IORING_CQE_F_BUF_MORE

[[noreturn]] void fail(int err, const std::string& what) {
  throw std::system_error(err, std::generic_category(), "io_uring: " + what);
}

unsigned bid_of(uint32_t flags) {
  return flags >> IORING_CQE_BUFFER_SHIFT;
}

}  // namespace

uring_buffer_pool::uring_buffer_pool(io_uring& ring, bool allow_incremental) {
  // liburing 2.3 has no io_uring_setup_buf_ring: map the ring and register it.
  const size_t ring_bytes = max_entries * sizeof(io_uring_buf);
  void* r = ::mmap(nullptr, ring_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (r == MAP_FAILED) fail(errno, "mapping the buffer ring");
  br_ = static_cast<io_uring_buf_ring*>(r);
  void* b = ::mmap(nullptr, pool_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (b == MAP_FAILED) {
    const int err = errno;
    ::munmap(br_, ring_bytes);
    fail(err, "mapping the receive buffers");
  }
  base_ = static_cast<std::byte*>(b);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(br_);
  reg.bgid = group;
  // Incremental consumption first; a kernel without it says EINVAL.
  reg.ring_entries = pool_bytes / inc_size;
  reg.pad = pbuf_ring_inc;  // the uapi's `flags`, named `pad` in liburing 2.3
  int rc = allow_incremental ? io_uring_register_buf_ring(&ring, &reg, 0) : -EINVAL;
  incremental_ = rc == 0;
  if (rc == -EINVAL) {
    reg.ring_entries = pool_bytes / whole_size;
    reg.pad = 0;
    rc = io_uring_register_buf_ring(&ring, &reg, 0);
  }
  if (rc != 0) {
    ::munmap(base_, pool_bytes);
    ::munmap(br_, ring_bytes);
    fail(-rc, "registering the provided buffer ring");
  }
  size_ = incremental_ ? inc_size : whole_size;
  count_ = reg.ring_entries;
  if (incremental_) offset_.assign(count_, 0);
  io_uring_buf_ring_init(br_);
  active_ = incremental_ ? inc_initial : whole_initial;
  for (unsigned i = 0; i < active_; ++i)
    add(i);
  publish();
}

uring_buffer_pool::~uring_buffer_pool() {
  ::munmap(base_, pool_bytes);
  ::munmap(br_, max_entries * sizeof(io_uring_buf));
}

uint32_t uring_buffer_pool::take(int32_t res, uint32_t flags) {
  if ((flags & IORING_CQE_F_BUFFER) == 0) return 0;
  if (!incremental_) {
    consumed_ += size_;
    return 0;
  }
  // A completion without bytes consumed nothing: some kernels report its
  // buffer as finished though it stays at the ring's head.
  if (res <= 0) return 0;
  uint32_t& at = offset_[bid_of(flags)];
  const uint32_t here = at;
  consumed_ += static_cast<size_t>(res);
  // Finished: the kernel moved on, and starts it afresh once it is back.
  at = (flags & cqe_buf_more) ? at + static_cast<uint32_t>(res) : 0;
  return here;
}

std::span<const std::byte> uring_buffer_pool::data(uint32_t flags, uint32_t offset,
                                                   int32_t res) const {
  return {buffer(bid_of(flags)) + offset, static_cast<size_t>(res)};
}

void uring_buffer_pool::release(int32_t res, uint32_t flags) {
  if ((flags & IORING_CQE_F_BUFFER) == 0) return;
  if (incremental_ && (res <= 0 || (flags & cqe_buf_more))) return;  // still the kernel's
  add(bid_of(flags));
}

void uring_buffer_pool::add(unsigned bid) {
  io_uring_buf_ring_add(br_, buffer(bid), size_, static_cast<uint16_t>(bid),
                        io_uring_buf_ring_mask(count_), static_cast<int>(returned_++));
}

bool uring_buffer_pool::publish() {
  // Grow when the last batch took half the space in rotation, or a receive
  // found none: the next burst like it then fits.
  if (active_ < count_ && (starved_ || consumed_ * 2 >= size_t{active_} * size_)) {
    const unsigned grown = std::min(count_, active_ * 2);
    for (unsigned b = active_; b < grown; ++b)
      add(b);
    active_ = grown;
  }
  starved_ = false;
  consumed_ = 0;
  if (returned_ == 0) return false;
  io_uring_buf_ring_advance(br_, static_cast<int>(returned_));
  returned_ = 0;
  return true;
}

}  // namespace fastnet::detail
