// fastnet — a connection's lifecycle: its states, the one function that
// changes them, and the timers that bound each wait (idle, lingers).
#include <sys/epoll.h>

#include "connection_impl.hpp"
#include "log.hpp"

namespace fastnet::detail {

void connection_impl::start() {
  loop().assert_in_loop_thread();
  touch();
  interest_ = EPOLLIN;
  try {
    loop().watch(fd_.get(), interest_, this);
  } catch (const std::system_error& e) {
    // The handler never saw this connection: undo the owner's bookkeeping only.
    detail::log().error("conn {} {}: cannot watch socket: {}", id_, peer_address().to_string(),
                        e.what());
    state_.store(conn_state::closed, std::memory_order_release);
    fd_.reset();
    owner_->connection_closed(*this);
    return;
  }
  registered_ = true;
  arm_idle_timer();
  start_codec();
  guarded([&](const connection_ptr& me) { handler_.on_connect(me); });
}

// Every transition is made here. What is sent because of the peer (the
// protocol's farewell, the FIN) is written when the connection enters
// `closing`, that is after every reply the handler gave until it closed, and
// goes out behind them in the output ring.
void connection_impl::enter(conn_state next, close_reason why) {
  const conn_state from = state();
  if (from == conn_state::closed || from == next) return;
  switch (next) {
    case conn_state::open:
      return;  // the initial state only

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
      // The handler finishes its replies and closes; this bounds the wait.
      std::weak_ptr<connection_impl> weak = self();
      linger_timer_ = loop().run_after(opts().peer_close_linger, [weak] {
        auto self = weak.lock();
        if (!self || self->state() != conn_state::peer_closed) return;
        self->linger_timer_ = {};
        detail::log().debug("conn {}: the handler did not close within {} ms of the peer; closing",
                            self->id_, self->opts().peer_close_linger.count());
        self->enter(conn_state::closing, close_reason::peer_closed);
      });
      return;
    }

    case conn_state::half_closed:
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
      // After the peer finished, the close completes what the peer started
      // (and keeps the reason it finished with).
      if (from != conn_state::peer_closed) close_why_ = eof_ ? close_reason::peer_closed : why;
      state_.store(conn_state::closing, std::memory_order_release);
      if (linger_timer_) loop().cancel(std::exchange(linger_timer_, {}));
      if (!delivering_) input_.clear();
      track_partial_frame(false, true);
      if (auto bye = codec_->farewell(close_why_); !bye.empty()) write_reply(bye);
      if (state() != conn_state::closing) return;  // writing it failed
      update_interest();  // keep reading (and dropping) input to see the peer's FIN
      std::weak_ptr<connection_impl> weak = self();
      linger_timer_ = loop().run_after(opts().close_linger, [weak] {
        auto self = weak.lock();
        if (!self || self->state() == conn_state::closed) return;
        self->linger_timer_ = {};
        detail::log().debug("conn {}: close linger expired; resetting", self->id_);
        self->fail(self->close_why_);
      });
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
  for (timer_id* t : {&idle_timer_, &frame_timer_, &linger_timer_})
    if (*t) loop().cancel(std::exchange(*t, {}));
  if (registered_) {
    loop().unwatch(fd_.get());
    registered_ = false;
  }
  fd_.reset();
  // Sends still queued on the loop give back their own reservations when they run.
  pending_output_.fetch_sub(output_.size(), std::memory_order_relaxed);
  output_.clear();
  if (!delivering_) input_.clear();
  auto keep = shared_from_this();
  // The owner's bookkeeping first: once on_close runs, the connection no
  // longer counts against max_connections or its loop's load.
  owner_->connection_closed(*this);
  try {
    handler_.on_close(keep, why);
  } catch (const std::exception& e) {
    detail::log().error("conn {}: on_close threw: {}", id_, e.what());
  } catch (...) {
    detail::log().error("conn {}: on_close threw", id_);
  }
  // Other events of the current epoll batch may still name this object:
  // keep it alive until the batch is over.
  loop().queue_in_loop([keep] {});
}

// ---- idle timeout -------------------------------------------------------

void connection_impl::arm_idle_timer() {
  if (opts().idle_timeout.count() <= 0) return;
  auto due = last_activity_ + opts().idle_timeout;
  std::weak_ptr<connection_impl> weak = self();
  // One timer per connection, re-armed only when it fires: activity just
  // moves the last_activity_ stamp, so busy connections cost no timer work.
  idle_timer_ = loop().run_after(due - clock::now(), [weak] {
    auto self = weak.lock();
    if (!self) return;
    self->idle_timer_ = {};
    // peer_closed and closing have bounds of their own.
    if (self->state() != conn_state::open && self->state() != conn_state::half_closed) return;
    if (clock::now() - self->last_activity_ >= self->opts().idle_timeout) {
      detail::log().debug("conn {} {}: idle timeout", self->id_, self->peer_address().to_string());
      self->enter(conn_state::closing, close_reason::idle_timeout);
    } else {
      self->arm_idle_timer();
    }
  });
}

}  // namespace fastnet::detail
