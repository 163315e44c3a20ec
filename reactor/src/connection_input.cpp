// fastnet — a connection's input: reading through the transport, cutting
// frames with the codec, handing them through the protocol, pausing, and the
// deadline of a frame begun.
#include <sys/epoll.h>

#include <cerrno>
#include <cstring>

#include "connection_impl.hpp"
#include "log.hpp"

namespace fastnet::detail {
namespace {

// Size of the stack spill area of one read: with the ring's free space in
// front of it, a single readv takes at least this much.
constexpr size_t read_spill = 64 * 1024;

}  // namespace

void connection_impl::handle_read() {
  std::byte spill[read_spill];
  iovec iov[3];
  int count = 0;
  size_t ring_space = 0;
  const bool ring_in_use = !input_.empty();
  if (ring_in_use) {
    iovec free_space[2];
    int regions = input_.writable_iov(free_space, 0);
    for (int i = 0; i < regions; ++i) {
      iov[count++] = free_space[i];
      ring_space += free_space[i].iov_len;
    }
  }
  iov[count++] = {spill, sizeof spill};
  ssize_t n = transport_->read(fd_.get(), iov, count);
  const int err = errno;
  if (handshaking()) {
    if (n == 0) {
      detail::log().debug("conn {} {}: the peer left during the {} handshake", id_,
                          peer_address().to_string(), transport_->name());
      fail(close_reason::handshake_failed);
      return;
    }
    if (n < 0 && !would_block(err)) {
      transport_failed("read", err);
      return;
    }
    after_handshake_io();
    // Bytes read: the handshake completed and application data came with it.
    if (n < 0 || state() == conn_state::closed) return;
  }
  if (n < 0) {
    if (!would_block(err)) {
      transport_failed("read", err);
    } else if (transport_->wants_write()) {
      update_interest();  // the transport has bytes of its own to send
    }
    return;
  }
  if (n == 0) {
    on_eof();
    return;
  }
  touch();
  auto got = static_cast<size_t>(n);
  owner_->stats.bytes_received.add(got);
  if (!accepting_input()) {  // closing (or the peer already finished): dropped
    input_.clear();
    return;
  }
  if (!ring_in_use) {
    // The common small-message case: frames are cut straight from the stack
    // and only an incomplete tail is copied into the ring.
    decode_input({spill, got}, false);
  } else {
    size_t in_ring = std::min(got, ring_space);
    input_.commit(in_ring);
    input_.append(spill, got - in_ring);
    decode_input(input_.linearize(), true);
  }
  read_buffered_later();
}

void connection_impl::handle_received(std::span<const std::byte> data, int error) {
  if (state() == conn_state::closed) return;
  auto keep = shared_from_this();  // callbacks may drop every other reference
  if (error != 0) {
    transport_failed("receive", error);
    return;
  }
  if (data.empty()) {
    // A receive cancelled by a pause may still complete: its EOF waits until
    // the input buffered before it has been delivered (on_eof drops input).
    if (paused_ != 0 && accepting_input() && !input_.empty()) {
      eof_held_ = true;
      return;
    }
    on_eof();
    return;
  }
  touch();
  owner_->stats.bytes_received.add(data.size());
  if (!accepting_input()) {  // closing (or the peer already finished): dropped
    input_.clear();
    return;
  }
  if (input_.empty()) {
    decode_input(data, false);  // frames straight from the loop's buffer
  } else {
    input_.append(data);
    decode_input(input_.linearize(), true);
  }
}

void connection_impl::read_buffered_later() {
  // Bytes the transport took from the socket and holds (TLS: the rest of a
  // decrypted record) would not wake the loop: read them on the next pass.
  if (!transport_->has_buffered_input() || !accepting_input() || paused_ != 0) return;
  loop().defer([self = self()] {
    if (self->accepting_input() && self->paused_ == 0) self->handle_read();
  });
}

void connection_impl::after_handshake_io() {
  if (!handshaking()) return;
  if (transport_->ready()) enter(conn_state::open, close_reason::local_close);
  if (state() != conn_state::closed) update_interest();
}

void connection_impl::transport_failed(const char* what, int err) {
  const bool in_handshake = handshaking();
  if (err == EPROTO) {
    detail::log().debug("conn {} {}: {} {}: {}", id_, peer_address().to_string(),
                        transport_->name(), what, transport_->failure());
  } else {
    detail::log().debug("conn {} {}: {}: {}", id_, peer_address().to_string(), what,
                        std::strerror(err));
  }
  fail(in_handshake    ? close_reason::handshake_failed
       : err == EPROTO ? close_reason::protocol_error
                       : close_reason::reset);
}

void connection_impl::on_eof() {
  // The peer sends nothing more; a frame it left incomplete never will be.
  eof_ = true;
  input_.clear();
  track_partial_frame(false, true);
  if (accepting_input())
    peer_finished(close_reason::peer_closed);
  else
    advance();  // closing: the EOF it waited for
  // Level triggering would report the EOF forever. Dropping EPOLLIN waits
  // until this iteration's events are handled: a consumer (an actor run
  // from the loop's deferred queue) usually closes the connection by then,
  // and closing makes that epoll_ctl needless.
  if (state() != conn_state::closed)
    loop().defer([self = self()] {
      if (self->state() != conn_state::closed) self->update_interest();
    });
}

void connection_impl::decode_input(std::span<const std::byte> data, bool from_ring) {
  auto keep = shared_from_this();
  size_t offset = 0;
  bool completed = false;  // a frame ended in this pass (for the frame deadline)
  delivering_ = true;
  while (accepting_input() && paused_ == 0) {
    // The framing is looked up for every frame: a protocol switches it, and
    // set_codec() or set_protocol() from a handler replaces the layers,
    // between two frames of the same read.
    codec& framing = layers_.framing();
    decode_result r = framing.decode(data.subspan(offset));
    if (r.state == decode_result::status::need_more) break;
    if (r.state == decode_result::status::error) {
      detail::log().warn("conn {} {}: {} codec: {}; closing", id_, peer_address().to_string(),
                         framing.name(), r.error);
      // The peer's input ends here, as at its EOF: replies to the frames
      // before go out first, then the protocol's farewell (its error answer).
      peer_finished(close_reason::protocol_error);
      break;
    }
    offset += r.consumed;
    if (r.state == decode_result::status::frame) owner_->stats.frames_received.add();
    completed |= r.state == decode_result::status::frame || !framing.mid_frame();
    if (r.state == decode_result::status::frame && !on_frame(r)) break;
    if (state() == conn_state::upgrading) {
      // The handler switched transports: the rest is the new one's.
      start_upgraded(data.subspan(offset));
      break;
    }
  }
  delivering_ = false;
  if (!accepting_input()) {
    input_.clear();
    track_partial_frame(false, true);
    return;
  }
  if (from_ring) {
    input_.consume(offset);
  } else {
    input_.append(data.subspan(offset));
  }
  if (paused_ == 0)
    track_partial_frame(!input_.empty() || layers_.framing().mid_frame(), completed);
}

bool connection_impl::on_frame(const decode_result& r) {
  protocol* p = layers_.proto();
  if (p == nullptr) {
    frame_kind_ = r.kind;
    guarded([&](const connection_ptr& me) { handler_.on_message(me, r.frame); });
    return true;
  }
  protocol_step step = p->on_frame(r);
  // The protocol's own answer (a pong, a handshake response) goes out before
  // the frame is delivered, so it precedes any reply to it.
  if (!step.reply.empty()) write_reply(step.reply);
  // A hold is in force while the frame is delivered, so a handler's
  // resume_reading() or upgrade_transport() in on_message ends it.
  if (step.then == protocol_step::next::hold && accepting_input()) set_pause(pause_user, true);
  if (step.deliver && accepting_input()) {
    frame_kind_ = step.kind;
    guarded([&](const connection_ptr& me) { handler_.on_message(me, step.payload); });
  }
  switch (step.then) {
    case protocol_step::next::go_on:
      return true;
    case protocol_step::next::peer_closed:
      peer_finished(close_reason::peer_closed);  // its protocol's EOF
      return false;
    case protocol_step::next::finished:
      enter(conn_state::closing, close_reason::local_close);
      return false;
    case protocol_step::next::hold:
      // Paused before the delivery: the decode loop stops unless the
      // handler upgraded (the rest goes to the new transport) or resumed.
      return true;
    case protocol_step::next::fail:
      detail::log().warn("conn {} {}: {}: {}; closing", id_, peer_address().to_string(), p->name(),
                         step.error);
      peer_finished(close_reason::protocol_error);
      return false;
  }
  return false;
}

void connection_impl::peer_finished(close_reason why) {
  if (state() == conn_state::open)
    enter(conn_state::peer_closed, why);
  else if (state() == conn_state::half_closed)
    enter(conn_state::closing, why);  // both sides are done: what is left is our output
}

void connection_impl::deliver_buffered() {
  if (delivering_ || input_.empty()) return;
  decode_input(input_.linearize(), true);
}

bool connection_impl::accepting_input() const {
  auto s = state();
  return s == conn_state::open || s == conn_state::half_closed;
}

void connection_impl::start_layers() {
  protocol* p = layers_.proto();
  if (p == nullptr) return;
  if (auto hello = p->greeting(); !hello.empty()) write_reply(hello);
  auto deadline = p->handshake_timeout();
  if (deadline.count() <= 0) return;
  // Not cancelled on success: the check is cheap and the weak reference
  // lets a closed connection go.
  std::weak_ptr<connection_impl> weak = self();
  const protocol* armed_for = p;
  loop().run_after(deadline, [weak, armed_for] {
    auto self = weak.lock();
    if (!self || self->state() == conn_state::closed) return;
    protocol* now = self->layers_.proto();
    if (now != armed_for || now->handshake_done()) return;
    detail::log().warn("conn {} {}: {} handshake not done in time; resetting", self->id_,
                       self->peer_address().to_string(), now->name());
    self->fail(close_reason::protocol_error);
  });
}

void connection_impl::set_codec(std::unique_ptr<codec> next) {
  if (next) replace_layers(layer_ref(std::move(next)));
}

void connection_impl::set_protocol(std::unique_ptr<protocol> next) {
  if (!next) return;
  owner_->attach(*next);
  replace_layers(layer_ref(std::move(next)));
}

void connection_impl::replace_layers(layer_ref next) {
  loop().assert_in_loop_thread();
  if (delivering_) {
    // The frame being delivered may point into the old layers' storage:
    // they are destroyed after this loop pass, once the callback has
    // returned (a shared codec lives on with its owner). The decode loop
    // picks up the new framing for the next frame.
    if (auto old = layers_.release_owned()) loop().defer([old = std::move(old)] {});
    layers_ = std::move(next);
    start_layers();
    return;
  }
  layers_ = std::move(next);
  start_layers();
  if (paused_ == 0) deliver_buffered();
}

// ---- reading control ----------------------------------------------------

void connection_impl::update_interest() {
  if (!registered_) return;
  uint32_t want = 0;
  // While closing, input is read (and dropped) whatever pauses it, to see
  // the peer's FIN.
  bool wants_input =
      !eof_ &&
      (state() == conn_state::closing || handshaking() ||
       (paused_ == 0 && (state() == conn_state::open || state() == conn_state::half_closed)));
  if (wants_input) want |= EPOLLIN;
  // Output waits while a new transport handshakes (upgrading).
  if ((!output_.empty() && !handshaking()) || transport_->wants_write()) want |= EPOLLOUT;
  if (want != interest_) {
    loop().modify(fd_.get(), want, this);
    interest_ = static_cast<uint8_t>(want);  // EPOLLIN | EPOLLOUT fit in a byte
  }
}

bool connection_impl::flip_pause(uint8_t bit, bool on) {
  const uint8_t was = paused_;
  paused_ = on ? static_cast<uint8_t>(paused_ | bit) : static_cast<uint8_t>(paused_ & ~bit);
  if (paused_ == was) return false;
  owner_->stats.pause_changed(cause_of(bit), on);
  return true;
}

void connection_impl::set_pause(uint8_t bit, bool on) {
  // A closed connection reads nothing; finish() cleared its pauses.
  if (state() == conn_state::closed || !flip_pause(bit, on)) return;
  // A paused connection does not read: the peer cannot be late meanwhile.
  if (on) track_partial_frame(false, true);
  update_interest();
  // Frames already buffered were held back while paused: hand them over now,
  // and what the transport still holds after them.
  if (!on && paused_ == 0) {
    deliver_buffered();
    read_buffered_later();
    if (eof_held_ && paused_ == 0 && state() != conn_state::closed) {
      eof_held_ = false;
      on_eof();
    }
  }
}

// ---- the frame deadline (its timer: connection_lifecycle.cpp) --------------

void connection_impl::track_partial_frame(bool partial, bool completed) {
  if (!partial) {
    frame_started_ = {};
    return;
  }
  if (opts().frame_timeout.count() <= 0) return;
  // A frame completed in this read: the one left over starts its own clock.
  if (completed || frame_started_ == clock::time_point{}) frame_started_ = clock::now();
  // An armed timer fires by this frame's deadline (see next_deadline).
  if (!timer_) arm_deadline();
}

}  // namespace fastnet::detail
