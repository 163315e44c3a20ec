// fastnet — a connection's lifecycle: its states, the one function that
// changes them, and the timer that bounds each wait (idle, frame, lingers).
#include <sys/epoll.h>

#include <algorithm>
#include <string>

#include "connection_impl.hpp"
#include "log.hpp"

namespace fastnet::detail {

connection_options normalized(connection_options o) {
  constexpr std::chrono::milliseconds most = std::chrono::hours(24 * 365 * 10);
  for (auto* t : {&o.idle_timeout, &o.frame_timeout, &o.close_linger, &o.peer_close_linger})
    *t = std::clamp(*t, std::chrono::milliseconds{0}, most);
  return o;
}

void connection_impl::start() {
  loop().assert_in_loop_thread();
  owner_->stats.accepted.add();
  touch();
  interest_ = EPOLLIN;
  // Plain TCP on a loop that receives for its streams (io_uring); a
  // transport of its own (TLS) reads the socket itself, on readiness.
  loop_receives_ =
      loop().poller().reads_streams() && transport_.get() == &tcp_transport::instance();
  try {
    if (loop_receives_)
      loop().poller().watch_stream(fd_.get(), interest_, this, &connection_impl::received);
    else
      loop().watch(fd_.get(), interest_, this);
  } catch (const std::system_error& e) {
    // The handler never saw this connection: undo the owner's bookkeeping only.
    detail::log().error("conn {} {}: cannot watch socket: {}", id_, peer_address().to_string(),
                        e.what());
    state_.store(conn_state::closed, std::memory_order_release);
    fd_.reset();
    owner_->stats.closed[static_cast<size_t>(close_reason::reset)].add();
    owner_->connection_closed(*this);
    return;
  }
  registered_ = true;
  transport_->start(fd_.get(), {});
  if (transport_->ready()) {
    enter(conn_state::open, close_reason::local_close);
    return;
  }
  arm_handshake_deadline();
  update_interest();  // the transport may have bytes to send (a client's hello)
}

void connection_impl::arm_handshake_deadline() {
  auto limit = std::min(transport_->handshake_timeout(),
                        std::chrono::milliseconds(std::chrono::hours(24 * 365 * 10)));
  if (limit.count() <= 0) return;
  std::weak_ptr<connection_impl> weak = self();
  timer_ = loop().run_after(limit, [weak] {
    auto self = weak.lock();
    if (!self || !self->handshaking()) return;
    self->timer_ = {};
    detail::log().debug("conn {} {}: {} handshake not done in time; closing", self->id_,
                        self->peer_address().to_string(), self->transport_->name());
    self->fail(close_reason::handshake_failed);
  });
}

// Every transition is made here. What is sent because of the peer (the
// protocol's farewell, the FIN) is written when the connection enters
// `closing`, that is after every reply the handler gave until it closed, and
// goes out behind them in the output ring.
void connection_impl::enter(conn_state next, close_reason why) {
  const conn_state from = state();
  if (from == conn_state::closed || from == next) return;
  switch (next) {
    case conn_state::handshaking:
      return;  // the initial state only

    case conn_state::open:
      if (from == conn_state::upgrading) {  // the new transport is ready
        state_.store(conn_state::open, std::memory_order_release);
        cancel_timer();  // the handshake deadline
        arm_deadline();
        update_interest();  // sends queued meanwhile go out now
        return;
      }
      if (from != conn_state::handshaking) return;
      state_.store(conn_state::open, std::memory_order_release);
      cancel_timer();  // the handshake deadline
      opened_ = true;
      arm_deadline();
      start_layers();
      guarded([&](const connection_ptr& me) { handler_.on_connect(me); });
      return;

    case conn_state::upgrading:
      if (from != conn_state::open) return;
      state_.store(conn_state::upgrading, std::memory_order_release);
      cancel_timer();  // the idle and frame deadlines; the handshake's replaces them
      track_partial_frame(false, true);
      return;

    case conn_state::peer_closed: {
      if (from != conn_state::open) return;
      state_.store(conn_state::peer_closed, std::memory_order_release);
      close_why_ = why;
      // A protocol's close: stop reading now (after an EOF the read side
      // drops input on its own).
      if (!eof_) update_interest();
      bool close_now = true;
      guarded([&](const connection_ptr& me) { close_now = handler_.on_peer_eof(me); });
      if (state() != conn_state::peer_closed) return;  // the handler closed or failed it
      if (close_now) {
        enter(conn_state::closing, close_reason::peer_closed);
        return;
      }
      // The handler finishes its replies and closes; this bounds the wait
      // (nothing is read any more: the idle and frame deadlines are over).
      cancel_timer();
      std::weak_ptr<connection_impl> weak = self();
      timer_ = loop().run_after(opts().peer_close_linger, [weak] {
        auto self = weak.lock();
        if (!self || self->state() != conn_state::peer_closed) return;
        self->timer_ = {};
        detail::log().debug("conn {}: the handler did not close within {} ms of the peer; closing",
                            self->id_, self->opts().peer_close_linger.count());
        self->enter(conn_state::closing, close_reason::peer_closed);
      });
      return;
    }

    case conn_state::half_closed:
      if (from == conn_state::upgrading) {  // as closing, above
        fail(why);
        return;
      }
      if (from == conn_state::peer_closed) {
        enter(conn_state::closing, close_reason::peer_closed);  // both sides are done
        return;
      }
      if (from != conn_state::open) return;
      state_.store(conn_state::half_closed, std::memory_order_release);
      advance();  // the FIN goes out now if nothing is queued
      return;

    case conn_state::closing: {
      if (from == conn_state::failing) return;
      if (from == conn_state::handshaking || from == conn_state::upgrading) {
        // Nothing can be flushed before the transport is ready.
        fail(why);
        return;
      }
      // After the peer finished, the close completes what the peer started
      // (and keeps the reason it finished with).
      if (from != conn_state::peer_closed) close_why_ = eof_ ? close_reason::peer_closed : why;
      state_.store(conn_state::closing, std::memory_order_release);
      cancel_timer();  // the idle and frame deadlines, or the peer's linger
      if (!delivering_) input_.clear();
      track_partial_frame(false, true);
      if (auto* p = layers_.proto())
        if (auto bye = p->farewell(close_why_); !bye.empty()) write_reply(bye);
      if (state() != conn_state::closing) return;  // writing it failed
      update_interest();  // keep reading (and dropping) input to see the peer's FIN
      last_activity_ = clock::now();
      arm_close_linger();
      advance();
      return;
    }

    case conn_state::failing:
      // A write failed inside a caller's send(): not from in there, on the
      // next loop pass. Until then nothing more is sent or delivered.
      state_.store(conn_state::failing, std::memory_order_release);
      loop().queue_in_loop([self = self(), why] { self->fail(why); });
      return;

    case conn_state::closed:
      finish(why);
      return;
  }
}

void connection_impl::advance() {
  switch (state()) {
    case conn_state::half_closed:
      if (output_.empty() && !fin_sent_) send_fin();
      return;
    case conn_state::closing:
      if (!output_.empty()) return;
      if (!fin_sent_) send_fin();
      if (eof_) enter(conn_state::closed, close_why_);
      return;
    default:
      return;
  }
}

void connection_impl::send_fin() {
  fin_sent_ = true;
  transport_->shutdown_write(fd_.get());
}

void connection_impl::close_now(close_reason why) {
  loop().assert_in_loop_thread();
  if (state() == conn_state::closed) return;
  if (!output_.empty()) handle_write();  // one last non-blocking attempt
  finish(why);
}

void connection_impl::fail(close_reason why) {
  if (state() == conn_state::closed) return;
  sockets::set_linger_zero(fd_.get());  // RST: the peer must not take a cut stream as complete
  finish(why);
}

void connection_impl::finish(close_reason why) {
  if (state() == conn_state::closed) return;
  state_.store(conn_state::closed, std::memory_order_release);
  cancel_timer();
  if (registered_) {
    loop().unwatch(fd_.get());
    registered_ = false;
  }
  fd_.reset();
  // Sends still queued on the loop give back their own reservations when they run.
  pending_output_.fetch_sub(output_.size(), std::memory_order_relaxed);
  owner_->stats.output_queued.adjust(-static_cast<int64_t>(output_.size()));
  output_.clear();
  // A closed connection is paused no longer, whatever paused it.
  for (uint8_t bit : {pause_user, pause_high_water, pause_inbound})
    flip_pause(bit, false);
  owner_->stats.closed[static_cast<size_t>(why)].add();
  if (!delivering_) input_.clear();
  auto keep = shared_from_this();
  // The owner's bookkeeping first: once on_close runs, the connection no
  // longer counts against max_connections or its loop's load.
  owner_->connection_closed(*this);
  // A connection that never opened was never the handler's.
  if (opened_) {
    try {
      handler_.on_close(keep, why);
    } catch (const std::exception& e) {
      detail::log().error("conn {}: on_close threw: {}", id_, e.what());
    } catch (...) {
      detail::log().error("conn {}: on_close threw", id_);
    }
  }
  // Other events of the current epoll batch may still name this object:
  // keep it alive until the batch is over.
  loop().queue_in_loop([keep] {});
}

// While closing, the linger bounds a stall, not the whole drain: a peer that
// reads its last replies slowly (below the queued output per close_linger)
// still gets them all, as nginx's send_timeout bounds the time between two
// writes. A peer that reads nothing for close_linger is reset.
void connection_impl::arm_close_linger() {
  std::weak_ptr<connection_impl> weak = self();
  timer_ = loop().run_after(last_activity_ + opts().close_linger - clock::now(), [weak] {
    auto self = weak.lock();
    if (!self || self->state() == conn_state::closed) return;
    self->timer_ = {};
    if (!self->output_.empty() && clock::now() - self->last_activity_ < self->opts().close_linger) {
      self->arm_close_linger();  // still draining
      return;
    }
    detail::log().debug("conn {}: close linger expired with {} bytes unsent; resetting", self->id_,
                        self->output_.size());
    self->fail(self->close_why_);
  });
}

// ---- the deadlines of an open connection -----------------------------------
//
// The idle timeout re-arms on every byte, so a peer trickling a frame one
// byte at a time would hold the connection forever. Once a frame has begun
// and the decoder waits for its rest, the rest must come within
// frame_timeout. Both deadlines share one timer, armed while either
// applies: activity and frames only move their stamps, and the timer
// checks the stamps when it fires, then re-arms for what is left. Small
// whole frames never touch it.

void connection_impl::cancel_timer() {
  if (timer_) loop().cancel(std::exchange(timer_, {}));
}

std::optional<clock::time_point> connection_impl::next_deadline() const {
  std::optional<clock::time_point> due;
  auto earliest = [&due](clock::time_point t) {
    if (!due || t < *due) due = t;
  };
  const auto& o = opts();
  if (o.idle_timeout.count() > 0) earliest(last_activity_ + o.idle_timeout);
  if (o.frame_timeout.count() > 0) {
    if (frame_started_ != clock::time_point{}) {
      earliest(frame_started_ + o.frame_timeout);
    } else if (due) {
      // A frame that begins while this timer is armed finds it armed and
      // relies on it: it must fire by that frame's deadline at the latest.
      earliest(clock::now() + o.frame_timeout);
    }
  }
  return due;
}

void connection_impl::arm_deadline() {
  auto due = next_deadline();
  if (!due) return;
  std::weak_ptr<connection_impl> weak = self();
  timer_ = loop().run_after(*due - clock::now(), [weak] {
    if (auto self = weak.lock()) self->on_deadline();
  });
}

void connection_impl::on_deadline() {
  timer_ = {};
  // peer_closed and closing have their lingers (and cancelled this).
  if (state() != conn_state::open && state() != conn_state::half_closed) return;
  const auto now = clock::now();
  const auto& o = opts();
  const bool frame_late = o.frame_timeout.count() > 0 && frame_started_ != clock::time_point{} &&
                          now - frame_started_ >= o.frame_timeout;
  const bool idle_late = o.idle_timeout.count() > 0 && now - last_activity_ >= o.idle_timeout;
  // Both late: the reason is the one whose deadline came first.
  if (frame_late &&
      (!idle_late || frame_started_ + o.frame_timeout <= last_activity_ + o.idle_timeout)) {
    detail::log().info("conn {} {}: a {} frame begun {} ms ago is still incomplete; closing", id_,
                       peer_address().to_string(), layers_.framing().name(),
                       o.frame_timeout.count());
    enter(conn_state::closing, close_reason::frame_timeout);
    return;
  }
  if (idle_late) {
    detail::log().debug("conn {} {}: idle timeout", id_, peer_address().to_string());
    enter(conn_state::closing, close_reason::idle_timeout);
    return;
  }
  arm_deadline();
}

void connection_impl::upgrade_in_loop(std::unique_ptr<transport> next) {
  if (state() != conn_state::open) {
    detail::log().debug("conn {}: upgrade_transport ignored: the connection is not open", id_);
    return;
  }
  // What was sent before goes out over the old transport, and all of it:
  // the peer must read it in the clear before the new transport's bytes.
  if (!output_.empty()) handle_write();
  if (state() != conn_state::open) return;  // the write failed
  if (!output_.empty()) {
    detail::log().warn(
        "conn {} {}: {} bytes still unsent at upgrade_transport (the peer does not "
        "read); closing",
        id_, peer_address().to_string(), output_.size());
    fail(close_reason::handshake_failed);
    return;
  }
  if (next) owner_->attach(*next);
  transport_.reset(std::move(next));
  // A protocol's hold (or the user's pause) kept the peer's handshake
  // undecoded for this call: the new transport reads from here on.
  // (Not set_pause: it would decode what is buffered with the old codec.)
  flip_pause(pause_user, false);
  enter(conn_state::upgrading, close_reason::local_close);
  // Inside on_message the decode loop hands over the rest of its input
  // when the handler returns; otherwise the rest is what input_ holds.
  if (!delivering_) start_upgraded(input_.linearize());
}

void connection_impl::start_upgraded(std::span<const std::byte> rest) {
  std::string joined;
  if (loop_receives_) {
    // The new transport reads the socket itself: the loop's receive goes,
    // and what it received and has not delivered yet comes after `rest`.
    detail::poller& p = loop().poller();
    if (std::string more = p.unwatch_stream(fd_.get()); !more.empty()) {
      joined.assign(reinterpret_cast<const char*>(rest.data()), rest.size());
      joined += more;
      rest = std::as_bytes(std::span(joined.data(), joined.size()));
    }
    loop_receives_ = false;
    interest_ = 0;
    p.watch(fd_.get(), 0, this);  // readiness from here on (update_interest sets it)
  }
  transport_->start(fd_.get(), rest);  // takes a copy: `rest` may be input_ itself
  input_.clear();
  arm_handshake_deadline();
  after_handshake_io();
  // `rest` may hold a whole handshake message that the socket will not
  // announce again: read once without waiting for it.
  if (!rest.empty())
    loop().defer([self = self()] {
      if (self->handshaking()) self->handle_read();
    });
}

}  // namespace fastnet::detail
