// fastnet — a connection's public calls, and the outbox that orders the calls
// made off its loop. Input, output and the lifecycle have files of their own.
#include <netinet/in.h>
#include <sys/epoll.h>

#include <cstring>

#include "connection_impl.hpp"
#include "log.hpp"
#include "loop_inbox.hpp"

namespace fastnet {

const char* to_string(frame_kind k) {
  switch (k) {
    case frame_kind::data:
      return "data";
    case frame_kind::text:
      return "text";
    case frame_kind::binary:
      return "binary";
    case frame_kind::close:
      return "close";
    case frame_kind::ping:
      return "ping";
    case frame_kind::pong:
      return "pong";
    case frame_kind::open:
      return "open";
  }
  return "unknown";
}

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
    case close_reason::frame_timeout:
      return "frame_timeout";
    case close_reason::server_stopping:
      return "server_stopping";
    case close_reason::protocol_error:
      return "protocol_error";
    case close_reason::output_overflow:
      return "output_overflow";
    case close_reason::handler_error:
      return "handler_error";
    case close_reason::handshake_failed:
      return "handshake_failed";
  }
  return "unknown";
}

// ---- the public API forwards to the implementation -------------------------

using detail::impl_of;

uint64_t connection::id() const {
  return impl_of(*this).id();
}
socket_address connection::peer_address() const {
  return impl_of(*this).peer_address();
}
socket_address connection::local_address() const {
  return impl_of(*this).local_address();
}
event_loop& connection::loop() const {
  return impl_of(*this).loop();
}
bool connection::send(std::span<const std::byte> payload) {
  return impl_of(*this).send(payload, {});
}
bool connection::send(std::string&& payload) {
  return impl_of(*this).send(std::move(payload), {});
}
bool connection::send_all(std::vector<std::string>&& frames) {
  return impl_of(*this).send_all(std::move(frames));
}
bool connection::send(std::span<const std::byte> payload, fastnet::frame_kind kind, fragment frag) {
  return impl_of(*this).send(payload, {kind, frag});
}
bool connection::send(std::string&& payload, fastnet::frame_kind kind, fragment frag) {
  return impl_of(*this).send(std::move(payload), {kind, frag});
}
void connection::shutdown() {
  impl_of(*this).shutdown();
}
void connection::close() {
  impl_of(*this).close(close_reason::local_close);
}
void connection::abort() {
  impl_of(*this).abort();
}
void connection::pause_reading(pause_source source) {
  impl_of(*this).pause_reading(source);
}
void connection::resume_reading(pause_source source) {
  impl_of(*this).resume_reading(source);
}
bool connection::connected() const {
  return impl_of(*this).connected();
}
size_t connection::pending_output() const {
  return impl_of(*this).pending_output();
}
std::any& connection::context() {
  return impl_of(*this).context();
}
frame_kind connection::frame_kind() const {
  return impl_of(*this).frame_kind();
}
void connection::set_codec(std::unique_ptr<codec> next) {
  impl_of(*this).set_codec(std::move(next));
}
void connection::set_protocol(std::unique_ptr<fastnet::protocol> next) {
  impl_of(*this).set_protocol(std::move(next));
}
void connection::upgrade_transport(std::unique_ptr<fastnet::transport> next) {
  impl_of(*this).upgrade_transport(std::move(next));
}
const fastnet::transport& connection::current_transport() const {
  return impl_of(*this).current_transport();
}
fastnet::protocol* connection::current_protocol() const {
  return impl_of(*this).current_protocol();
}
codec& connection::current_codec() const {
  return impl_of(*this).current_codec();
}

namespace detail {

/// One call made off the loop thread, waiting in the connection's outbox.
struct connection_impl::command {
  enum class kind : uint8_t { send, send_all, shutdown, close, abort, pause, resume, upgrade };
  kind what = kind::send;
  close_reason why = close_reason::local_close;
  uint8_t pause_bit = 0;
  frame_type type;      // send: how the codec frames it
  size_t reserved = 0;  // bytes reserved against max_output_bytes by the caller
  std::string data;
  std::vector<std::string> frames;
  std::unique_ptr<fastnet::transport> next_transport;  // upgrade: the new one
  command* next = nullptr;
};

connection_impl::connection_impl(owner_ref owner, unique_fd fd, uint64_t id,
                                 const socket_address& peer, tcp_handler& handler)
    : owner_(std::move(owner)),
      transport_(owner_->new_transport()),
      handler_(handler),
      layers_(owner_->new_layers()),
      id_(id),
      fd_(std::move(fd)) {
  if (peer.family() == AF_INET && peer.size() == sizeof(sockaddr_in)) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(peer.data());
    peer_ip4_ = in->sin_addr.s_addr;
    peer_port_ = in->sin_port;
  } else {
    peer_len_ = static_cast<uint8_t>(peer.size());  // at most sizeof(sockaddr_storage)
    other_peer_ = std::make_unique_for_overwrite<std::byte[]>(peer.size());
    std::memcpy(other_peer_.get(), peer.data(), peer.size());
  }
}

// An idle connection's memory is a measured target (bench idle-10k, under
// 0.25 KiB of RSS with the owner's table): grow this object knowingly.
#if defined(__x86_64__) && defined(__GLIBCXX__)
static_assert(sizeof(connection_impl) <= 168);
#endif

// Commands never run (the loop went away first) are freed with the outbox.
connection_impl::~connection_impl() = default;

socket_address connection_impl::peer_address() const {
  if (other_peer_) return {reinterpret_cast<const sockaddr*>(other_peer_.get()), peer_len_};
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_addr.s_addr = peer_ip4_;
  in.sin_port = peer_port_;
  return {reinterpret_cast<const sockaddr*>(&in), sizeof in};
}

socket_address connection_impl::local_address() const {
  if (state_.load(std::memory_order_acquire) == conn_state::closed || !fd_) return {};
  return sockets::local_address(fd_.get());
}

// ---- the ordered outbox ---------------------------------------------------
//
// Calls from other threads must take effect in the order they were made, also
// when the caller moves between threads (an actor runs on whichever CAF worker
// is free). The loop's moodycamel queue orders items per producer thread
// only, so the calls themselves wait in an mpsc_stack; the loop queue only
// carries one "run the outbox" task per transition from empty.

void connection_impl::post(std::unique_ptr<command> c) {
  // After the loop is gone (a handle kept past its server) the task is
  // dropped by post() and the commands are freed with the connection.
  if (outbox_.push(std::move(c))) inbox().post([self = self()] { self->run_outbox(); });
}

void connection_impl::dispatch(std::unique_ptr<command> c) {
  if (!inbox().in_loop_thread()) {
    post(std::move(c));
    return;
  }
  run_outbox();  // what other threads queued earlier goes first
  execute(*c);
}

void connection_impl::run_outbox() {
  // A handler callback run by one of these commands may call back in (a send
  // from on_close, say). Running the outbox again there would let commands
  // queued meanwhile overtake the rest of this batch; instead the outer call
  // picks them up after it.
  if (in_outbox_) return;
  in_outbox_ = true;
  for (auto batch = outbox_.take(); !batch.empty(); batch = outbox_.take())
    while (auto c = batch.pop())
      execute(*c);
  in_outbox_ = false;
}

void connection_impl::execute(command& c) {
  pending_output_.fetch_sub(c.reserved, std::memory_order_relaxed);
  if (state() == conn_state::closed) return;
  switch (c.what) {
    case command::kind::send:
      send_in_loop(std::as_bytes(std::span(c.data)), c.type);
      break;
    case command::kind::send_all:
      for (auto& f : c.frames)
        if (!send_in_loop(std::as_bytes(std::span(f)))) break;
      break;
    case command::kind::shutdown:
      enter(conn_state::half_closed, close_reason::local_close);
      break;
    case command::kind::close:
      enter(conn_state::closing, c.why);
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
    case command::kind::upgrade:
      upgrade_in_loop(std::move(c.next_transport));
      break;
  }
}

bool connection_impl::reserve_output(size_t n) {
  size_t before = pending_output_.fetch_add(n, std::memory_order_relaxed);
  if (before + n <= opts().max_output_bytes) return true;
  pending_output_.fetch_sub(n, std::memory_order_relaxed);
  inbox().post([self = self()] { self->fail(close_reason::output_overflow); });
  return false;
}

void connection_impl::handler_threw(const char* what) {
  detail::log().error("conn {} {}: handler threw{}{}; resetting the connection", id_,
                      peer_address().to_string(), what != nullptr ? ": " : "",
                      what != nullptr ? what : "");
  fail(close_reason::handler_error);
}

// ---- calls from any thread ---------------------------------------------------

bool connection_impl::send(std::span<const std::byte> payload, frame_type type) {
  if (!connected()) return false;
  if (inbox().in_loop_thread()) {
    if (!outbox_.empty()) run_outbox();
    return send_in_loop(payload, type);
  }
  return send(std::string(reinterpret_cast<const char*>(payload.data()), payload.size()), type);
}

bool connection_impl::send(std::string&& payload, frame_type type) {
  if (!connected()) return false;
  if (inbox().in_loop_thread()) return send(std::as_bytes(std::span(payload)), type);
  // Reserved before queueing, so that many threads sending at once cannot
  // queue past the cap.
  if (!reserve_output(payload.size())) return false;
  auto c = std::make_unique<command>();
  c->what = command::kind::send;
  c->type = type;
  c->reserved = payload.size();
  c->data = std::move(payload);
  post(std::move(c));
  return true;
}

bool connection_impl::send_all(std::vector<std::string>&& frames) {
  if (!connected()) return false;
  if (inbox().in_loop_thread()) {
    if (!outbox_.empty()) run_outbox();
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

void connection_impl::upgrade_transport(std::unique_ptr<transport> next) {
  if (!next || state_.load(std::memory_order_acquire) == conn_state::closed) return;
  auto c = std::make_unique<command>();
  c->what = command::kind::upgrade;
  c->next_transport = std::move(next);
  dispatch(std::move(c));
}

void connection_impl::shutdown() {
  if (state_.load(std::memory_order_acquire) == conn_state::closed) return;
  auto c = std::make_unique<command>();
  c->what = command::kind::shutdown;
  dispatch(std::move(c));
}

void connection_impl::close(close_reason why) {
  if (state_.load(std::memory_order_acquire) == conn_state::closed) return;
  auto c = std::make_unique<command>();
  c->what = command::kind::close;
  c->why = why;
  dispatch(std::move(c));
}

void connection_impl::abort() {
  if (state_.load(std::memory_order_acquire) == conn_state::closed) return;
  auto c = std::make_unique<command>();
  c->what = command::kind::abort;
  dispatch(std::move(c));
}

void connection_impl::pause_reading(pause_source source) {
  if (state_.load(std::memory_order_acquire) == conn_state::closed) return;
  auto c = std::make_unique<command>();
  c->what = command::kind::pause;
  c->pause_bit = bit_of(source);
  dispatch(std::move(c));
}

void connection_impl::resume_reading(pause_source source) {
  if (state_.load(std::memory_order_acquire) == conn_state::closed) return;
  auto c = std::make_unique<command>();
  c->what = command::kind::resume;
  c->pause_bit = bit_of(source);
  dispatch(std::move(c));
}

// ---- events ---------------------------------------------------------------

void connection_impl::handle_events(uint32_t events) {
  if (state() == conn_state::closed) return;
  auto keep = shared_from_this();  // callbacks may drop every other reference
  if (events & EPOLLERR) {
    int err = sockets::pending_error(fd_.get());
    detail::log().debug("conn {} {}: socket error: {}", id_, peer_address().to_string(),
                        std::strerror(err));
    fail(close_reason::reset);
    return;
  }
  if (events & (EPOLLIN | EPOLLHUP)) {
    if (interest_ & EPOLLIN) {
      // When the loop receives for it, its receive reports bytes, EOF and errors.
      if (!loop_receives_) handle_read();
    } else if (events & EPOLLHUP) {
      // Both directions are down while we were not reading.
      finish(fin_sent_ ? close_why_ : close_reason::reset);
      return;
    }
  }
  if ((events & EPOLLOUT) && state() != conn_state::closed) handle_write();
}

}  // namespace detail
}  // namespace fastnet
