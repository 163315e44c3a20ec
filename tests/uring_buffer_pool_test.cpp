// Unit tests for fastnet::detail::uring_buffer_pool (reactor/src), driven by
// a real io_uring and multishot receives on real 127.0.0.1 connections, in
// both layouts (incremental 32 KiB buffers where the kernel has them, whole
// 4 KiB buffers as on older kernels): every byte of every stream arrives, in
// order, through take()/data()/release(); small messages of several streams
// share one incremental buffer; a burst larger than the rotation grows it,
// and a receive that finds no buffer (ENOBUFS) loses nothing once buffers
// come back.
#include <catch2/catch.hpp>

#include <liburing.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/test_socket.hpp"
#include "uring_buffer_pool.hpp"

namespace {

using fastnet::detail::uring_buffer_pool;
using namespace fastnet::test;
using namespace std::chrono_literals;

/// One accepted connection whose bytes the ring receives, and what it must get.
struct stream {
  client_socket client;
  client_socket server;
  std::string expect;
  size_t got = 0;
  bool armed = false;
};

/// A plain ring with a pool, and the streams it receives from.
class rig {
 public:
  explicit rig(bool incremental) {
    REQUIRE(io_uring_queue_init(256, &ring_, 0) == 0);
    pool_.emplace(ring_, incremental);
  }
  ~rig() {
    io_uring_queue_exit(&ring_);
    pool_.reset();
  }
  rig(const rig&) = delete;
  rig& operator=(const rig&) = delete;

  uring_buffer_pool& pool() { return *pool_; }

  /// Opens `n` connections, each to carry `expect(i)`.
  template <class F>
  void open(size_t n, F expect) {
    test_listener l;
    for (size_t i = 0; i < n; ++i) {
      stream s{client_socket::connect(l.address()), *l.accept(), expect(i)};
      streams_.push_back(std::move(s));
    }
  }
  std::vector<stream>& streams() { return streams_; }

  /// Receives until every stream got all it expects (or 20 s pass),
  /// checking each completion's bytes against the stream. Returns false on
  /// a mismatch, an unexpected error or the deadline.
  bool receive_all() {
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      pool_->publish();
      for (size_t i = 0; i < streams_.size(); ++i)
        if (!streams_[i].armed && streams_[i].got < streams_[i].expect.size()) arm(i);
      io_uring_submit(&ring_);
      io_uring_cqe* first = nullptr;
      __kernel_timespec ts{1, 0};
      const int rc = io_uring_wait_cqe_timeout(&ring_, &first, &ts);
      if (rc != 0 && rc != -ETIME && rc != -EINTR) return false;
      // Offsets in completion order, as the poller's harvest takes them.
      struct seen {
        uint64_t user_data;
        int32_t res;
        uint32_t flags;
        uint32_t offset;
      };
      std::vector<seen> batch;
      io_uring_cqe* c = nullptr;
      while (io_uring_peek_cqe(&ring_, &c) == 0) {
        batch.push_back({c->user_data, c->res, c->flags,
                         (c->flags & IORING_CQE_F_BUFFER) ? pool_->take(c->res, c->flags) : 0});
        io_uring_cqe_seen(&ring_, c);
      }
      // Delivered last to first: release order within a batch is free.
      std::reverse(batch.begin(), batch.end());
      std::vector<std::pair<size_t, std::string>> pieces;
      for (const seen& e : batch) {
        stream& s = streams_.at(e.user_data);
        if ((e.flags & IORING_CQE_F_MORE) == 0) s.armed = false;
        if (e.res > 0) {
          const auto bytes = pool_->data(e.flags, e.offset, e.res);
          pieces.emplace_back(
              e.user_data, std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
          if (e.offset > 0) shared_ = true;
        } else if (e.res == -ENOBUFS) {
          starved_ = true;
          pool_->starved();
        } else {
          return false;  // no EOF or error expected here
        }
        pool_->release(e.res, e.flags);
      }
      // The bytes of one stream in completion order.
      std::reverse(pieces.begin(), pieces.end());
      for (const auto& [i, bytes] : pieces) {
        stream& s = streams_[i];
        if (s.expect.compare(s.got, bytes.size(), bytes) != 0) return false;
        s.got += bytes.size();
      }
    }
    return true;
  }

  /// True when a completion's bytes started inside a buffer (incremental).
  bool shared() const { return shared_; }
  /// True when a receive found no buffer.
  bool starved() const { return starved_; }

 private:
  bool done() const {
    return std::all_of(streams_.begin(), streams_.end(),
                       [](const stream& s) { return s.got == s.expect.size(); });
  }
  void arm(size_t i) {
    io_uring_sqe* e = io_uring_get_sqe(&ring_);
    REQUIRE(e != nullptr);
    io_uring_prep_recv_multishot(e, streams_[i].server.fd(), nullptr, 0, 0);
    e->flags |= IOSQE_BUFFER_SELECT;
    e->buf_group = uring_buffer_pool::group;
    io_uring_sqe_set_data64(e, i);
    streams_[i].armed = true;
  }

  io_uring ring_{};
  std::optional<uring_buffer_pool> pool_;
  std::vector<stream> streams_;
  bool shared_ = false;
  bool starved_ = false;
};

/// Whether this kernel consumes provided buffers incrementally (6.12+).
bool kernel_has_incremental() {
  io_uring ring{};
  REQUIRE(io_uring_queue_init(8, &ring, 0) == 0);
  bool inc = false;
  {
    uring_buffer_pool p(ring, true);
    inc = p.incremental();
  }
  io_uring_queue_exit(&ring);
  return inc;
}

/// False (with a warning) when `incremental` is asked for and this kernel
/// has no incremental buffers: that layout cannot be tested here.
bool layout_runs_here(bool incremental) {
  if (!incremental || kernel_has_incremental()) return true;
  WARN("this kernel has no incremental provided buffers: that layout is not tested here");
  return false;
}

}  // namespace

TEST_CASE("uring buffer pool: many small messages of many streams arrive whole and in order",
          "[uring_buffer_pool]") {
  const bool incremental = GENERATE(false, true);
  if (!layout_runs_here(incremental)) return;
  rig r(incremental);
  REQUIRE(r.pool().incremental() == incremental);
  r.open(16, [](size_t i) { return random_bytes(3000 + i * 37, static_cast<uint32_t>(i)); });
  // Written in small pieces, streams interleaved: receives of different
  // streams follow one another in the ring's buffers.
  for (size_t at = 0; at < 3600; at += 97)
    for (stream& s : r.streams())
      if (at < s.expect.size())
        REQUIRE(s.client.write_all(std::string_view(s.expect).substr(at, 97)));
  REQUIRE(r.receive_all());
  if (incremental) CHECK(r.shared());  // 97-byte pieces do not take a buffer each
}

TEST_CASE("uring buffer pool: a burst beyond the rotation grows it and loses nothing",
          "[uring_buffer_pool]") {
  const bool incremental = GENERATE(false, true);
  if (!layout_runs_here(incremental)) return;
  rig r(incremental);
  const size_t first = r.pool().in_rotation();
  r.open(8, [](size_t i) { return random_bytes(size_t{1} << 20, static_cast<uint32_t>(100 + i)); });
  // Every stream writes its megabyte at once from another thread while the
  // ring receives: 8 MiB against a rotation of 128 or 256 KiB.
  std::thread writer([&] {
    std::vector<std::thread> each;
    for (stream& s : r.streams())
      each.emplace_back([&s] { (void)s.client.write_all(s.expect, 20s); });
    for (auto& t : each)
      t.join();
  });
  const bool ok = r.receive_all();
  writer.join();
  REQUIRE(ok);
  CHECK(r.pool().in_rotation() > first);
  CHECK(r.pool().in_rotation() <= size_t{4} << 20);
}
