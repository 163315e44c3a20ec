#include "fastnet/connection.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "log.hpp"
#include "loop_inbox.hpp"

namespace fastnet {
namespace {

// Size of the stack spill area of one read: with the ring's free space in
// front of it, a single readv takes at least this much.
constexpr size_t read_spill = 64 * 1024;

bool would_block(int err) {
  return err == EAGAIN || err == EWOULDBLOCK || err == EINTR;
}

// One buffer goes through recv/send rather than readv/sendmsg: the kernel
// then skips copying and checking an iovec array (and a msghdr), which perf
// put at 3 % of a small-message echo server's time (import_iovec,
// copy_msghdr_from_user). Most reads and writes are a single buffer.
ssize_t read_some(int fd, const iovec* iov, int count) {
  if (count == 1) return ::recv(fd, iov[0].iov_base, iov[0].iov_len, 0);
  return ::readv(fd, iov, count);
}

ssize_t write_some(int fd, const iovec* iov, size_t count) {
  if (count == 1) return ::send(fd, iov[0].iov_base, iov[0].iov_len, MSG_NOSIGNAL);
  msghdr msg{};
  msg.msg_iov = const_cast<iovec*>(iov);
  msg.msg_iovlen = count;
  return ::sendmsg(fd, &msg, MSG_NOSIGNAL);
}

}  // namespace

const char* to_string(close_reason r) {
  switch (r) {
    case close_reason::peer_closed:
      return "peer_closed";
    case close_reason::reset:
      return "reset";
    case close_reason::local_close:
      return "local_close";
    case close_reason::aborted:
      return "aborted";
    case close_reason::idle_timeout:
      return "idle_timeout";
    case close_reason::server_stopping:
      return "server_stopping";
    case close_reason::protocol_error:
      return "protocol_error";
    case close_reason::output_overflow:
      return "output_overflow";
    case close_reason::handler_error:
      return "handler_error";
  }
  return "unknown";
}

/// One call made off the loop thread, waiting in the connection's outbox.
struct connection::command {
  enum class kind : uint8_t { send, send_all, shutdown, close, abort, pause, resume };
  kind what = kind::send;
  close_reason why = close_reason::local_close;
  uint8_t pause_bit = 0;
  uint8_t kind = 0;     // send: the frame kind handed to the codec
  size_t reserved = 0;  // bytes reserved against max_output_bytes by the caller
  std::string data;
  std::vector<std::string> frames;
  command* next = nullptr;
};

connection::connection(event_loop& loop, unique_fd fd, uint64_t id, const socket_address& peer,
                       std::unique_ptr<codec> codec, tcp_handler& handler,
                       std::shared_ptr<const connection_options> opts, closed_hook on_closed)
    : loop_(loop),
      inbox_(loop.inbox()),
      fd_(std::move(fd)),
      id_(id),
      codec_(std::move(codec)),
      handler_(handler),
      opts_(std::move(opts)),
      on_closed_(std::move(on_closed)) {
  if (peer.size() <= peer_inline) {
    std::memcpy(peer_bytes_.data(), peer.data(), peer.size());
    peer_len_ = static_cast<uint8_t>(peer.size());
  } else {
    long_peer_ = std::make_unique<const socket_address>(peer);
  }
}

socket_address connection::peer_address() const {
  if (long_peer_) return *long_peer_;
  return {reinterpret_cast<const sockaddr*>(peer_bytes_.data()), peer_len_};
}

socket_address connection::local_address() const {
  if (state_.load(std::memory_order_acquire) == state::closed || !fd_) return {};
  return sockets::local_address(fd_.get());
}

connection::~connection() {
  // Commands never run (the loop went away first) are freed here.
  command* c = outbox_.exchange(nullptr, std::memory_order_acquire);
  while (c != nullptr)
    std::unique_ptr<command> owned(std::exchange(c, c->next));
}

// ---- the ordered outbox ---------------------------------------------------
//
// Calls from other threads must take effect in the order they were made, also
// when the caller moves between threads (an actor runs on whichever CAF worker
// is free). The loop's moodycamel queue orders items per producer thread
// only, so the calls themselves wait here, in a lock-free LIFO (one CAS per
// call) that the loop reverses; the loop queue only carries one "run the
// outbox" task per transition from empty.

void connection::post(std::unique_ptr<command> c) {
  command* raw = c.release();
  command* head = outbox_.load(std::memory_order_relaxed);
  do {
    raw->next = head;
  } while (!outbox_.compare_exchange_weak(head, raw, std::memory_order_release,
                                          std::memory_order_relaxed));
  // After the loop is gone (a handle kept past its server) the task is
  // dropped by post() and the commands are freed with the connection.
  if (head == nullptr) inbox_->post([self = shared_from_this()] { self->run_outbox(); });
}

void connection::dispatch(std::unique_ptr<command> c) {
  if (!inbox_->in_loop_thread()) {
    post(std::move(c));
    return;
  }
  run_outbox();  // what other threads queued earlier goes first
  execute(*c);
}

void connection::run_outbox() {
  // A handler callback run by one of these commands may call back in (a send
  // from on_close, say). Running the outbox again there would let commands
  // queued meanwhile overtake the rest of this batch; instead the outer call
  // picks them up after it.
  if (in_outbox_) return;
  in_outbox_ = true;
  while (command* list = outbox_.exchange(nullptr, std::memory_order_acquire)) {
    command* ordered = nullptr;
    while (list != nullptr) {  // reverse: the stack holds the newest first
      command* next = list->next;
      list->next = ordered;
      ordered = list;
      list = next;
    }
    while (ordered != nullptr) {
      std::unique_ptr<command> c(std::exchange(ordered, ordered->next));
      execute(*c);
    }
  }
  in_outbox_ = false;
}

void connection::execute(command& c) {
  pending_output_.fetch_sub(c.reserved, std::memory_order_relaxed);
  if (state_.load(std::memory_order_relaxed) == state::closed) return;
  switch (c.what) {
    case command::kind::send:
      send_in_loop(std::as_bytes(std::span(c.data)), c.kind);
      break;
    case command::kind::send_all:
      for (auto& f : c.frames)
        if (!send_in_loop(std::as_bytes(std::span(f)))) break;
      break;
    case command::kind::shutdown:
      shutdown_in_loop();
      break;
    case command::kind::close:
      close_in_loop(c.why);
      break;
    case command::kind::abort:
      fail(close_reason::aborted);
      break;
    case command::kind::pause:
      set_pause(c.pause_bit, true);
      break;
    case command::kind::resume:
      set_pause(c.pause_bit, false);
      break;
  }
}

bool connection::reserve_output(size_t n) {
  size_t before = pending_output_.fetch_add(n, std::memory_order_relaxed);
  if (before + n <= opts_->max_output_bytes) return true;
  pending_output_.fetch_sub(n, std::memory_order_relaxed);
  inbox_->post([self = shared_from_this()] { self->fail(close_reason::output_overflow); });
  return false;
}

void connection::start() {
  loop_.assert_in_loop_thread();
  touch();
  interest_ = EPOLLIN;
  try {
    loop_.watch(fd_.get(), interest_, this);
  } catch (const std::system_error& e) {
    // The handler never saw this connection: undo the owner's bookkeeping only.
    detail::log().error("conn {} {}: cannot watch socket: {}", id_, peer_address().to_string(),
                        e.what());
    state_.store(state::closed, std::memory_order_release);
    fd_.reset();
    if (on_closed_) on_closed_(shared_from_this());
    return;
  }
  registered_ = true;
  arm_idle_timer();
  start_codec();
  guarded([&](const connection_ptr& self) { handler_.on_connect(self); });
}

void connection::start_codec() {
  if (auto hello = codec_->greeting(); !hello.empty()) write_reply(hello);
  auto deadline = codec_->handshake_timeout();
  if (deadline.count() <= 0) return;
  // Not cancelled on success: the check is cheap and the weak reference
  // lets a closed connection go.
  std::weak_ptr<connection> weak = shared_from_this();
  const codec* armed_for = codec_.get();
  loop_.run_after(deadline, [weak, armed_for] {
    auto self = weak.lock();
    if (!self || self->state_.load(std::memory_order_relaxed) == state::closed) return;
    if (self->codec_.get() != armed_for || self->codec_->handshake_done()) return;
    detail::log().warn("conn {} {}: {} handshake not done in time; resetting", self->id_,
                       self->peer_address().to_string(), self->codec_->name());
    self->fail(close_reason::protocol_error);
  });
}

template <typename F>
void connection::guarded(F&& callback) {
  auto self = shared_from_this();
  try {
    callback(self);
  } catch (const std::exception& e) {
    detail::log().error("conn {} {}: handler threw: {}; resetting the connection", id_,
                        peer_address().to_string(), e.what());
    fail(close_reason::handler_error);
  } catch (...) {
    detail::log().error("conn {} {}: handler threw; resetting the connection", id_,
                        peer_address().to_string());
    fail(close_reason::handler_error);
  }
}

// ---- events -------------------------------------------------------------

void connection::handle_events(uint32_t events) {
  if (state_.load(std::memory_order_relaxed) == state::closed) return;
  auto self = shared_from_this();  // callbacks may drop every other reference
  if (events & EPOLLERR) {
    int err = sockets::pending_error(fd_.get());
    detail::log().debug("conn {} {}: socket error: {}", id_, peer_address().to_string(),
                        std::strerror(err));
    fail(close_reason::reset);
    return;
  }
  if (events & (EPOLLIN | EPOLLHUP)) {
    if (interest_ & EPOLLIN) {
      handle_read();
    } else if (events & EPOLLHUP) {
      // Both directions are down while we were not reading.
      finish(write_shut_ ? close_why_ : close_reason::reset);
      return;
    }
  }
  if ((events & EPOLLOUT) && state_.load(std::memory_order_relaxed) != state::closed)
    handle_write();
}

void connection::handle_read() {
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
  ssize_t n = read_some(fd_.get(), iov, count);
  if (n < 0) {
    if (would_block(errno)) return;
    detail::log().debug("conn {} {}: read: {}", id_, peer_address().to_string(),
                        std::strerror(errno));
    fail(close_reason::reset);
    return;
  }
  if (n == 0) {
    // EOF: the peer sends nothing more. Stop watching for input (level
    // triggering would report EOF forever) and close once our output is out.
    // The epoll interest is updated only if the connection stays open: a
    // short connection closing right here saves that syscall.
    paused_ |= pause_eof;
    input_.clear();
    if (!discard_input_) {
      close_why_ = close_reason::peer_closed;
      // The handler may keep the connection half-open to finish its replies
      // (a consumer that is still working through frames it was given).
      bool close_now = true;
      guarded([&](const connection_ptr& self) { close_now = handler_.on_peer_eof(self); });
      if (state_.load(std::memory_order_relaxed) == state::closed) return;
      if (!close_now) {
        // Dropping EPOLLIN waits until this iteration's events are handled:
        // the consumer (an actor run from the loop's deferred queue) usually
        // closes the connection by then, and closing makes that epoll_ctl
        // needless. Until then the loop does not poll, so the EOF that level
        // triggering keeps reporting is not seen again.
        loop_.defer([self = shared_from_this()] {
          if (self->state_.load(std::memory_order_relaxed) != state::closed)
            self->update_interest();
        });
        return;
      }
    }
    if (output_.empty()) {
      finish(close_why_);
    } else {
      close_after_flush_ = true;
      update_interest();
    }
    return;
  }
  touch();
  auto got = static_cast<size_t>(n);
  if (discard_input_) {
    input_.clear();
    return;
  }
  if (!ring_in_use) {
    // The common small-message case: frames are cut straight from the stack
    // and only an incomplete tail is copied into the ring.
    decode_input({spill, got}, false);
    return;
  }
  size_t in_ring = std::min(got, ring_space);
  input_.commit(in_ring);
  input_.append(spill, got - in_ring);
  decode_input(input_.linearize(), true);
}

void connection::decode_input(std::span<const std::byte> data, bool from_ring) {
  auto self = shared_from_this();
  size_t offset = 0;
  delivering_ = true;
  while (!discard_input_ && state_.load(std::memory_order_relaxed) != state::closed &&
         (paused_ & pause_delivery) == 0) {
    // codec_ is read afresh for every frame: set_codec() from a handler
    // switches it between two frames of the same read.
    decode_result r = codec_->decode(data.subspan(offset));
    if (r.state == decode_result::status::need_more) break;
    // The codec's own answer (a pong, a close reply, a handshake response)
    // goes out before the frame is delivered, so it precedes any reply to it.
    if (!r.reply.empty()) write_reply(r.reply);
    if (r.state == decode_result::status::error) {
      detail::log().warn("conn {} {}: {} codec: {}; closing", id_, peer_address().to_string(),
                         codec_->name(), r.error);
      close_in_loop(close_reason::protocol_error);
      break;
    }
    if (r.state == decode_result::status::frame && !discard_input_ &&
        state_.load(std::memory_order_relaxed) != state::closed) {
      frame_kind_ = r.kind;
      guarded([&](const connection_ptr& me) { handler_.on_message(me, r.frame); });
    }
    offset += r.consumed;
    retired_codec_.reset();  // the frame that pointed into it has been handled
    if (r.close_after != decode_result::close_mode::none) {
      close_in_loop(r.close_after == decode_result::close_mode::peer ? close_reason::peer_closed
                                                                     : close_reason::local_close);
      break;
    }
  }
  delivering_ = false;
  if (discard_input_ || state_.load(std::memory_order_relaxed) == state::closed) {
    input_.clear();
  } else if (from_ring) {
    input_.consume(offset);
  } else {
    input_.append(data.subspan(offset));
  }
}

void connection::deliver_buffered() {
  if (delivering_ || input_.empty()) return;
  decode_input(input_.linearize(), true);
}

void connection::set_codec(std::unique_ptr<codec> next) {
  loop_.assert_in_loop_thread();
  if (!next) return;
  if (delivering_) {
    // The frame being delivered may point into the old codec's storage:
    // keep it until the callback returns. The decode loop picks up codec_
    // afresh for the next frame.
    if (retired_codec_) {
      codec_ = std::move(next);  // a second switch: the first old codec is the one to keep
    } else {
      retired_codec_ = std::exchange(codec_, std::move(next));
    }
    start_codec();
    return;
  }
  codec_ = std::move(next);
  start_codec();
  if ((paused_ & pause_delivery) == 0) deliver_buffered();
}

void connection::handle_write() {
  if (output_.empty()) {
    update_interest();
    return;
  }
  iovec iov[2];
  int count = output_.readable_iov(iov);
  ssize_t n = write_some(fd_.get(), iov, static_cast<size_t>(count));
  if (n < 0) {
    if (would_block(errno)) return;
    detail::log().debug("conn {} {}: write: {}", id_, peer_address().to_string(),
                        std::strerror(errno));
    fail(close_reason::reset);
    return;
  }
  touch();
  size_t before = output_.size();
  output_.consume(static_cast<size_t>(n));
  pending_output_.fetch_sub(static_cast<size_t>(n), std::memory_order_relaxed);
  after_output_change(before);
  if (output_.empty()) on_output_drained();
}

void connection::on_output_drained() {
  auto self = shared_from_this();
  update_interest();
  guarded([&](const connection_ptr& me) { handler_.on_write_complete(me); });
  if (state_.load(std::memory_order_relaxed) == state::closed) return;
  if (shutdown_pending_ && output_.empty()) {
    shutdown_pending_ = false;
    write_shut_ = true;
    ::shutdown(fd_.get(), SHUT_WR);
  }
  if (close_after_flush_ && output_.empty()) finish(close_why_);
}

// ---- sending ------------------------------------------------------------

bool connection::send(std::span<const std::byte> payload) {
  return send(payload, uint8_t{0});
}

bool connection::send(std::string&& payload) {
  return send(std::move(payload), uint8_t{0});
}

bool connection::send(std::span<const std::byte> payload, uint8_t kind) {
  if (!connected()) return false;
  if (inbox_->in_loop_thread()) {
    if (outbox_.load(std::memory_order_relaxed) != nullptr) run_outbox();
    return send_in_loop(payload, kind);
  }
  return send(std::string(reinterpret_cast<const char*>(payload.data()), payload.size()), kind);
}

bool connection::send(std::string&& payload, uint8_t kind) {
  if (!connected()) return false;
  if (inbox_->in_loop_thread()) return send(std::as_bytes(std::span(payload)), kind);
  // Reserved before queueing, so that many threads sending at once cannot
  // queue past the cap.
  if (!reserve_output(payload.size())) return false;
  auto c = std::make_unique<command>();
  c->what = command::kind::send;
  c->kind = kind;
  c->reserved = payload.size();
  c->data = std::move(payload);
  post(std::move(c));
  return true;
}

bool connection::send_all(std::vector<std::string>&& frames) {
  if (!connected()) return false;
  if (inbox_->in_loop_thread()) {
    if (outbox_.load(std::memory_order_relaxed) != nullptr) run_outbox();
    for (auto& f : frames)
      if (!send_in_loop(std::as_bytes(std::span(f)))) return false;
    return true;
  }
  size_t n = 0;
  for (auto& f : frames)
    n += f.size();
  if (!reserve_output(n)) return false;
  auto c = std::make_unique<command>();
  c->what = command::kind::send_all;
  c->reserved = n;
  c->frames = std::move(frames);
  post(std::move(c));
  return true;
}

bool connection::send_in_loop(std::span<const std::byte> payload, uint8_t kind) {
  if (state_.load(std::memory_order_relaxed) != state::connected || shutdown_pending_ ||
      write_shut_)
    return false;
  encoded_frame f;
  try {
    codec_->encode_as(payload, kind, f);
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
  if (total == 0) return true;
  return write_pieces({pieces, count}, total);
}

bool connection::write_reply(std::span<const std::byte> bytes) {
  // Not gated on `connected`: a codec's close reply must still go out while
  // the connection is closing; only a finished write side stops it.
  if (state_.load(std::memory_order_relaxed) == state::closed || shutdown_pending_ || write_shut_)
    return false;
  iovec piece{const_cast<std::byte*>(bytes.data()), bytes.size()};
  return write_pieces({&piece, 1}, bytes.size());
}

bool connection::write_pieces(std::span<const iovec> pieces, size_t total) {
  size_t written = 0;
  if (output_.empty()) {
    // Nothing queued: try the socket first and buffer only the rest.
    ssize_t n = write_some(fd_.get(), pieces.data(), pieces.size());
    if (n < 0 && !would_block(errno)) {
      detail::log().debug("conn {} {}: write: {}", id_, peer_address().to_string(),
                          std::strerror(errno));
      // Not from inside a callback's send(): finish on the next loop pass.
      state_.store(state::disconnecting, std::memory_order_release);
      discard_input_ = true;
      loop_.queue_in_loop([self = shared_from_this()] { self->fail(close_reason::reset); });
      return false;
    }
    if (n > 0) {
      written = static_cast<size_t>(n);
      touch();
    }
    if (written == total) return true;
  }
  if (output_.size() + (total - written) > opts_->max_output_bytes) {
    detail::log().warn("conn {} {}: output above {} bytes (peer not reading); resetting", id_,
                       peer_address().to_string(), opts_->max_output_bytes);
    state_.store(state::disconnecting, std::memory_order_release);
    discard_input_ = true;
    loop_.queue_in_loop([self = shared_from_this()] { self->fail(close_reason::output_overflow); });
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

void connection::after_output_change(size_t before) {
  size_t now = output_.size();
  if (!above_high_water_ && now >= opts_->high_water_mark && before < opts_->high_water_mark) {
    above_high_water_ = true;
    guarded([&](const connection_ptr& me) { handler_.on_high_water(me, now); });
    if (opts_->pause_reading_on_high_water) set_pause(pause_high_water, true);
  } else if (above_high_water_ && now <= opts_->low_water_mark) {
    above_high_water_ = false;
    guarded([&](const connection_ptr& me) { handler_.on_low_water(me, now); });
    if (paused_ & pause_high_water) set_pause(pause_high_water, false);
  }
}

// ---- reading control ----------------------------------------------------

void connection::update_interest() {
  if (!registered_) return;
  uint32_t want = 0;
  bool reading = (paused_ & pause_eof) == 0 && (paused_ == 0 || discard_input_);
  if (reading) want |= EPOLLIN;
  if (!output_.empty()) want |= EPOLLOUT;
  if (want != interest_) {
    loop_.modify(fd_.get(), want, this);
    interest_ = want;
  }
}

void connection::set_pause(uint8_t bit, bool on) {
  uint8_t was = paused_;
  paused_ = on ? static_cast<uint8_t>(paused_ | bit) : static_cast<uint8_t>(paused_ & ~bit);
  if (paused_ == was) return;
  update_interest();
  // Frames already buffered were held back while paused: hand them over now.
  if (!on && (paused_ & pause_delivery) == 0) deliver_buffered();
}

void connection::pause_reading(pause_source source) {
  if (state_.load(std::memory_order_acquire) == state::closed) return;
  auto c = std::make_unique<command>();
  c->what = command::kind::pause;
  c->pause_bit = bit_of(source);
  dispatch(std::move(c));
}

void connection::resume_reading(pause_source source) {
  if (state_.load(std::memory_order_acquire) == state::closed) return;
  auto c = std::make_unique<command>();
  c->what = command::kind::resume;
  c->pause_bit = bit_of(source);
  dispatch(std::move(c));
}

// ---- closing ------------------------------------------------------------

void connection::shutdown() {
  if (state_.load(std::memory_order_acquire) == state::closed) return;
  auto c = std::make_unique<command>();
  c->what = command::kind::shutdown;
  dispatch(std::move(c));
}

void connection::shutdown_in_loop() {
  if (state_.load(std::memory_order_relaxed) == state::closed || write_shut_) return;
  // After a half-close nothing more may be sent: send() now fails.
  state_.store(state::disconnecting, std::memory_order_release);
  if (output_.empty()) {
    write_shut_ = true;
    ::shutdown(fd_.get(), SHUT_WR);
  } else {
    shutdown_pending_ = true;
  }
}

void connection::close() {
  close(close_reason::local_close);
}

void connection::close(close_reason why) {
  if (state_.load(std::memory_order_acquire) == state::closed) return;
  auto c = std::make_unique<command>();
  c->what = command::kind::close;
  c->why = why;
  dispatch(std::move(c));
}

void connection::close_in_loop(close_reason why) {
  if (state_.load(std::memory_order_relaxed) == state::closed || discard_input_) return;
  state_.store(state::disconnecting, std::memory_order_release);
  // After the peer's EOF the close completes what the peer started.
  close_why_ = (paused_ & pause_eof) ? close_reason::peer_closed : why;
  discard_input_ = true;
  if (!delivering_) input_.clear();
  if (paused_ & pause_eof) {
    // The peer already closed its side: nothing to wait for but our output.
    if (output_.empty()) {
      finish(close_why_);
    } else {
      close_after_flush_ = true;
    }
    return;
  }
  shutdown_in_loop();
  update_interest();  // keep reading (and dropping) input to see the peer's FIN
  std::weak_ptr<connection> weak = shared_from_this();
  linger_timer_ = loop_.run_after(opts_->close_linger, [weak] {
    if (auto self = weak.lock()) {
      if (self->state_.load(std::memory_order_relaxed) != state::closed) {
        detail::log().debug("conn {}: close linger expired; resetting", self->id_);
        self->fail(self->close_why_);
      }
    }
  });
}

void connection::close_now(close_reason why) {
  loop_.assert_in_loop_thread();
  if (state_.load(std::memory_order_relaxed) == state::closed) return;
  if (!output_.empty()) handle_write();  // one last non-blocking attempt
  finish(why);
}

void connection::abort() {
  if (state_.load(std::memory_order_acquire) == state::closed) return;
  auto c = std::make_unique<command>();
  c->what = command::kind::abort;
  dispatch(std::move(c));
}

void connection::fail(close_reason why) {
  if (state_.load(std::memory_order_relaxed) == state::closed) return;
  sockets::set_linger_zero(fd_.get());  // RST: the peer must not take a cut stream as complete
  finish(why);
}

void connection::finish(close_reason why) {
  if (state_.load(std::memory_order_relaxed) == state::closed) return;
  state_.store(state::closed, std::memory_order_release);
  if (idle_timer_) loop_.cancel(idle_timer_);
  if (linger_timer_) loop_.cancel(linger_timer_);
  if (registered_) {
    loop_.unwatch(fd_.get());
    registered_ = false;
  }
  fd_.reset();
  // Sends still queued on the loop give back their own reservations when they run.
  pending_output_.fetch_sub(output_.size(), std::memory_order_relaxed);
  output_.clear();
  if (!delivering_) input_.clear();
  auto self = shared_from_this();
  // The owner's bookkeeping first: once on_close runs, the connection no
  // longer counts against max_connections or its loop's load.
  if (on_closed_) on_closed_(self);
  try {
    handler_.on_close(self, why);
  } catch (const std::exception& e) {
    detail::log().error("conn {}: on_close threw: {}", id_, e.what());
  } catch (...) {
    detail::log().error("conn {}: on_close threw", id_);
  }
  // Other events of the current epoll batch may still name this object:
  // keep it alive until the batch is over.
  loop_.queue_in_loop([self] {});
}

// ---- idle timeout -------------------------------------------------------

void connection::arm_idle_timer() {
  if (opts_->idle_timeout.count() <= 0) return;
  auto due = last_activity_ + opts_->idle_timeout;
  std::weak_ptr<connection> weak = shared_from_this();
  // One timer per connection, re-armed only when it fires: activity just
  // moves the last_activity_ stamp, so busy connections cost no timer work.
  idle_timer_ = loop_.run_after(due - clock::now(), [weak] {
    auto self = weak.lock();
    if (!self || self->state_.load(std::memory_order_relaxed) != state::connected) return;
    if (clock::now() - self->last_activity_ >= self->opts_->idle_timeout) {
      detail::log().debug("conn {} {}: idle timeout", self->id_, self->peer_address().to_string());
      self->close_in_loop(close_reason::idle_timeout);
    } else {
      self->arm_idle_timer();
    }
  });
}

}  // namespace fastnet
