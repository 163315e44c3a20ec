// fastnet — a connection's output: framing sends (protocol, codec), writing
// through the transport, buffering what the socket did not take, water marks.
#include <cerrno>
#include <cstring>

#include "connection_impl.hpp"
#include "log.hpp"

namespace fastnet::detail {

bool connection_impl::send_in_loop(std::span<const std::byte> payload, frame_type type) {
  if (!connected()) return false;
  encoded_frame f;
  try {
    if (auto* p = layers_.proto())
      p->encode(payload, type.kind, type.frag, f);
    else
      layers_.framing().encode_as(payload, type.kind, type.frag, f);
  } catch (const std::exception& e) {
    detail::log().error("conn {}: cannot encode a {}-byte frame: {}", id_, payload.size(),
                        e.what());
    return false;
  }
  iovec pieces[4];
  size_t count = 0;
  size_t total = 0;
  auto add = [&](const void* p, size_t len) {
    if (len == 0) return;
    pieces[count++] = {const_cast<void*>(p), len};
    total += len;
  };
  add(f.head.data(), f.head_len);
  add(f.body.data(), f.body.size());
  add(f.tail.data(), f.tail_len);
  add(f.trailer.data(), f.trailer.size());
  owner_->stats.frames_sent.add();
  if (total == 0) return true;
  return write_pieces({pieces, count}, total);
}

bool connection_impl::write_reply(std::span<const std::byte> bytes) {
  // Not gated on connected(): a protocol's closing handshake still goes out
  // while the connection is closing; only a shut sending side stops it.
  if (state() == conn_state::closed || fin_sent_) return false;
  iovec piece{const_cast<std::byte*>(bytes.data()), bytes.size()};
  return write_pieces({&piece, 1}, bytes.size());
}

bool connection_impl::write_pieces(std::span<const iovec> pieces, size_t total) {
  size_t written = 0;
  if (output_.empty() && !handshaking()) {
    // Nothing queued: try the socket first and buffer only the rest.
    ssize_t n = transport_->write(fd_.get(), pieces.data(), pieces.size());
    if (n < 0 && !would_block(errno)) {
      detail::log().debug("conn {} {}: write: {}", id_, peer_address().to_string(),
                          std::strerror(errno));
      enter(conn_state::failing, close_reason::reset);
      return false;
    }
    if (n > 0) {
      written = static_cast<size_t>(n);
      owner_->stats.bytes_sent.add(written);
      touch();
    }
    if (written == total) return true;
  }
  if (output_.size() + (total - written) > opts().max_output_bytes) {
    detail::log().warn("conn {} {}: output above {} bytes (peer not reading); resetting", id_,
                       peer_address().to_string(), opts().max_output_bytes);
    enter(conn_state::failing, close_reason::output_overflow);
    return false;
  }
  size_t before = output_.size();
  size_t skip = written;
  for (const iovec& piece : pieces) {
    if (skip >= piece.iov_len) {
      skip -= piece.iov_len;
      continue;
    }
    output_.append(static_cast<const std::byte*>(piece.iov_base) + skip, piece.iov_len - skip);
    skip = 0;
  }
  pending_output_.fetch_add(total - written, std::memory_order_relaxed);
  update_interest();
  after_output_change(before);
  return true;
}

void connection_impl::handle_write() {
  if (output_.empty() || handshaking()) {
    // Nothing of ours (or ours must wait): the transport's own bytes (a
    // handshake) may wait.
    if (transport_->wants_write() && transport_->write(fd_.get(), nullptr, 0) < 0 &&
        !would_block(errno)) {
      transport_failed("write", errno);
      return;
    }
    if (handshaking())
      after_handshake_io();
    else
      update_interest();
    return;
  }
  iovec iov[2];
  int count = output_.readable_iov(iov);
  ssize_t n = transport_->write(fd_.get(), iov, static_cast<size_t>(count));
  if (n < 0) {
    if (would_block(errno)) return;
    transport_failed("write", errno);
    return;
  }
  // Always stamped here (not only with an idle timeout): a closing
  // connection's linger counts from the last progress of its output.
  last_activity_ = clock::now();
  owner_->stats.bytes_sent.add(static_cast<uint64_t>(n));
  size_t before = output_.size();
  output_.consume(static_cast<size_t>(n));
  pending_output_.fetch_sub(static_cast<size_t>(n), std::memory_order_relaxed);
  after_output_change(before);
  if (output_.empty()) on_output_drained();
}

void connection_impl::on_output_drained() {
  auto keep = shared_from_this();
  update_interest();
  guarded([&](const connection_ptr& me) { handler_.on_write_complete(me); });
  if (state() != conn_state::closed) advance();
}

void connection_impl::after_output_change(size_t before) {
  size_t now = output_.size();
  owner_->stats.output_queued.adjust(static_cast<int64_t>(now) - static_cast<int64_t>(before));
  if (!above_high_water_ && now >= opts().high_water_mark && before < opts().high_water_mark) {
    above_high_water_ = true;
    owner_->stats.high_water_crossings.add();
    guarded([&](const connection_ptr& me) { handler_.on_high_water(me, now); });
    if (opts().pause_reading_on_high_water) set_pause(pause_high_water, true);
  } else if (above_high_water_ && now <= opts().low_water_mark) {
    above_high_water_ = false;
    guarded([&](const connection_ptr& me) { handler_.on_low_water(me, now); });
    if (paused_ & pause_high_water) set_pause(pause_high_water, false);
  }
}

}  // namespace fastnet::detail
