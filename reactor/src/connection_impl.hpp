// fastnet — what a connection is made of, for the loop that owns it.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "connection_owner.hpp"
#include "fastnet/connection.hpp"
#include "fastnet/ring_buffer.hpp"
#include "fastnet/socket.hpp"
#include "mpsc_stack.hpp"
#include "poller.hpp"
#include "transport.hpp"

namespace fastnet::detail {

class loop_inbox;

/// How one send is framed: its kind and whether its message goes on.
struct frame_type {
  frame_kind kind = frame_kind::data;
  fragment frag = fragment::last;
};

/// A connection's lifecycle. Every change of state goes through
/// connection_impl::enter(), which does what the new state implies.
enum class conn_state : uint8_t {
  handshaking,  ///< the transport's handshake (TLS) runs; the handler has not seen the
                ///< connection yet, nothing is delivered or sent
  open,         ///< reading and writing
  upgrading,    ///< an open connection's new transport (STARTTLS) handshakes: sends
                ///< are queued until it is ready, nothing is delivered
  peer_closed,  ///< the peer finished (EOF or its protocol's close): nothing more is
                ///< read; sends go on until the handler closes (or peer_close_linger)
  half_closed,  ///< shutdown(): sends refused; FIN once the output drains; still reading
  closing,      ///< close(): input dropped; output, the protocol's farewell and the
                ///< FIN go out, then the peer's EOF is awaited (close_linger)
  failing,      ///< a write failed inside a caller's send(): reset on the next loop pass
  closed,       ///< done: no socket, no buffers, the handler was told
};

/// The connection behind a fastnet::connection: its layers are the socket, a
/// transport (plain TCP or TLS), the ring buffers, the codec or protocol, and
/// the handler.
/// Its code is split by concern: connection.cpp (public calls and the
/// outbox of calls made off the loop), connection_input.cpp (reading,
/// decoding, pausing, the frame deadline), connection_output.cpp (sending,
/// water marks), connection_lifecycle.cpp (states, closing, timers).
/// Thread safety: as connection's; everything not public is loop-thread only.
class connection_impl final : public connection, private io_handler {
 public:
  /// A connection of `owner` (whose codec it takes: see connection_owner);
  /// the owner is told when it closes. Loop thread only.
  connection_impl(owner_ref owner, unique_fd fd, uint64_t id, const socket_address& peer,
                  tcp_handler& handler);
  ~connection_impl() override;

  /// Registers with the loop and starts the transport; once it is ready
  /// (at once for plain TCP, after its handshake for TLS) writes the
  /// protocol's greeting and calls on_connect. Loop thread only.
  void start();
  /// True once on_connect ran (the handler knows the connection). Loop thread only.
  bool opened() const { return opened_; }
  /// Closes gracefully with `why` as the reason (a server that stops says
  /// server_stopping). Any thread.
  void close(close_reason why);
  /// Writes what the socket takes right now, then closes (FIN, or RST if
  /// unread input remains) without waiting. Loop thread only.
  void close_now(close_reason why);

  // ---- the public API's implementation (see connection) ----
  uint64_t id() const { return id_; }
  socket_address peer_address() const;
  socket_address local_address() const;
  event_loop& loop() const { return owner_->loop; }
  bool send(std::span<const std::byte> payload, frame_type type);
  bool send(std::string&& payload, frame_type type);
  bool send_all(std::vector<std::string>&& frames);
  void shutdown();
  void abort();
  void pause_reading(pause_source source);
  void resume_reading(pause_source source);
  bool connected() const {
    auto s = state_.load(std::memory_order_acquire);
    return s == conn_state::open || s == conn_state::peer_closed || s == conn_state::upgrading;
  }
  size_t pending_output() const { return pending_output_.load(std::memory_order_relaxed); }
  std::any& context() { return context_; }
  fastnet::frame_kind frame_kind() const { return frame_kind_; }
  void set_codec(std::unique_ptr<codec> next);
  void set_protocol(std::unique_ptr<protocol> next);
  void upgrade_transport(std::unique_ptr<transport> next);
  codec& current_codec() const { return layers_.framing(); }
  const fastnet::transport& current_transport() const { return *transport_.get(); }
  fastnet::protocol* current_protocol() const { return layers_.proto(); }

  /// The owner's bookkeeping: where it keeps this connection (an index into
  /// its table). Loop thread only.
  uint32_t owner_slot() const { return owner_slot_; }
  void set_owner_slot(uint32_t slot) { owner_slot_ = slot; }

 private:
  enum pause_bits : uint8_t {
    pause_user = 1,
    pause_high_water = 2,
    pause_inbound = 4,
  };
  static uint8_t bit_of(pause_source s) {
    return s == pause_source::user ? pause_user : pause_inbound;
  }
  static pause_cause cause_of(uint8_t bit) {
    return bit == pause_user         ? pause_cause::user
           : bit == pause_high_water ? pause_cause::output
                                     : pause_cause::inbound;
  }

  // ---- connection.cpp: calls made off the loop, in call order ----
  struct command;
  void post(std::unique_ptr<command> c);
  void dispatch(std::unique_ptr<command> c);
  void run_outbox();
  void execute(command& c);
  bool reserve_output(size_t n);
  /// Runs a handler callback; if it throws, logs and resets the connection.
  template <typename F>
  void guarded(F&& callback) {
    auto me = shared_from_this();
    try {
      callback(me);
    } catch (const std::exception& e) {
      handler_threw(e.what());
    } catch (...) {
      handler_threw(nullptr);
    }
  }
  void handler_threw(const char* what);
  void handle_events(uint32_t events) override;
  /// The loop's receive (io_uring) hands over bytes, EOF or an error; see
  /// detail::receive_fn.
  void handle_received(std::span<const std::byte> data, int error);
  static void received(io_handler* h, std::span<const std::byte> data, int error) {
    static_cast<connection_impl*>(h)->handle_received(data, error);
  }

  // ---- connection_input.cpp ----
  void handle_read();
  /// After transport IO while handshaking: opens the connection once the
  /// transport is ready, and keeps epoll interest in step with it.
  void after_handshake_io();
  /// The transport's handshake runs (handshaking, upgrading).
  bool handshaking() const {
    auto s = state();
    return s == conn_state::handshaking || s == conn_state::upgrading;
  }
  /// Loop: switches to `next` (see connection::upgrade_transport).
  void upgrade_in_loop(std::unique_ptr<transport> next);
  /// Hands input read and not decoded (`rest`) to the new transport and
  /// drives its handshake.
  void start_upgraded(std::span<const std::byte> rest);
  /// Reads again on the next loop pass when the transport holds input.
  void read_buffered_later();
  /// A transport call failed with `err` (not "would block"): closes with
  /// the reason it implies.
  void transport_failed(const char* what, int err);
  void on_eof();
  /// The peer sends nothing more that will be read: its EOF, its protocol's
  /// close, or input the codec rejected (`why` says which).
  void peer_finished(close_reason why);
  void decode_input(std::span<const std::byte> data, bool from_ring);
  void deliver_buffered();
  /// Replaces the layers above the transport (set_codec, set_protocol).
  void replace_layers(layer_ref next);
  /// The protocol's greeting and handshake deadline, when layers take over.
  void start_layers();
  /// Hands one decoded frame on: through the protocol, if any, to the
  /// handler. False: stop decoding (the connection no longer reads).
  bool on_frame(const decode_result& r);
  /// Sets or clears one pause bit, with the owner's paused-time count in
  /// step; false when it was already so. set_pause() also acts on it.
  bool flip_pause(uint8_t bit, bool on);
  void set_pause(uint8_t bit, bool on);
  /// Epoll interest: input while reading, output while any is queued.
  void update_interest();
  /// Input is decoded and delivered (open, half_closed); otherwise dropped.
  bool accepting_input() const;
  /// The frame deadline: stamps when a partial frame is left waiting; a
  /// frame `completed` in the same pass starts the clock again.
  void track_partial_frame(bool partial, bool completed);

  // ---- connection_output.cpp ----
  bool send_in_loop(std::span<const std::byte> payload, frame_type type = {});
  bool write_reply(std::span<const std::byte> bytes);
  bool write_pieces(std::span<const iovec> pieces, size_t total);
  void handle_write();
  void after_output_change(size_t before);
  void on_output_drained();

  // ---- connection_lifecycle.cpp ----
  /// The one place a state changes; does what entering `next` implies.
  void enter(conn_state next, close_reason why);
  /// Checks whether the current state has run its course (output flushed,
  /// FIN due, peer's EOF seen) and moves on. Called after IO.
  void advance();
  void send_fin();
  void fail(close_reason why);
  void finish(close_reason why);
  /// The deadlines of an open (or half-closed) connection: idle and frame.
  /// One timer serves both; it is armed when one applies and none is armed,
  /// and re-armed when it fires (activity and new frames move the stamps,
  /// not the timer).
  void arm_deadline();
  std::optional<clock::time_point> next_deadline() const;
  void on_deadline();
  void cancel_timer();
  void arm_close_linger();
  void arm_handshake_deadline();
  void touch() {
    if (opts().idle_timeout.count() > 0) last_activity_ = clock::now();
  }
  const connection_options& opts() const { return owner_->opts; }
  /// Where other threads post; in_loop_thread() costs the same through the
  /// owner as through a pointer of the connection's own (loop_inbox).
  loop_inbox& inbox() const { return owner_->inbox; }
  conn_state state() const { return state_.load(std::memory_order_relaxed); }
  std::shared_ptr<connection_impl> self() {
    return std::static_pointer_cast<connection_impl>(shared_from_this());
  }

  // Every idle connection pays for each member (168 bytes in all on x86-64,
  // checked in connection.cpp): what the connections of an owner share
  // lives in the owner, and the small fields are packed at the end.
  owner_ref owner_;          // loop, inbox, options, shared codec, bookkeeping; outlives the loop
  transport_ref transport_;  // its own (TLS) or the shared plain one
  tcp_handler& handler_;
  layer_ref layers_;  // its codec or protocol, or the owner's shared codec
  const uint64_t id_;
  std::atomic<size_t> pending_output_{0};
  mpsc_stack<command> outbox_;  // calls from other threads
  ring_buffer input_;
  ring_buffer output_;
  std::any context_;
  clock::time_point last_activity_;
  clock::time_point frame_started_{};  // a partial frame waits since; epoch = none
  // The one timer: the idle and frame deadlines while open or half-closed
  // (see arm_deadline), close_linger or peer_close_linger while closing.
  timer_id timer_;
  // The peer: an IPv4 address and port in place (peer_ip4_, peer_port_), as
  // most peers of a server are; any other address (IPv6, Unix) in a heap
  // copy of its exact length (peer_len_ bytes).
  std::unique_ptr<std::byte[]> other_peer_;

  unique_fd fd_;
  uint32_t owner_slot_ = 0;  // see owner_slot()
  uint32_t peer_ip4_ = 0;    // network byte order
  uint16_t peer_port_ = 0;   // network byte order
  uint8_t peer_len_ = 0;
  std::atomic<conn_state> state_{conn_state::handshaking};
  uint8_t interest_ = 0;              // events registered with the loop (EPOLLIN, EPOLLOUT)
  uint8_t paused_ = 0;                // pause_bits
  fastnet::frame_kind frame_kind_{};  // decode_result::kind of the frame being delivered
  close_reason close_why_ = close_reason::local_close;
  bool registered_ : 1 = false;        // watched by the loop (between start and finish)
  bool opened_ : 1 = false;            // on_connect ran: on_close is owed
  bool eof_ : 1 = false;               // the transport read the peer's EOF
  bool fin_sent_ : 1 = false;          // our sending side is shut
  bool above_high_water_ : 1 = false;  // between a high-water crossing and the low one
  bool delivering_ : 1 = false;        // inside the decode loop (re-entrancy guard)
  bool in_outbox_ : 1 = false;         // inside run_outbox (re-entrancy guard)
  bool loop_receives_ : 1 = false;     // the loop receives its bytes (io_uring; plain TCP
                                       // only): handle_received, never handle_read
  bool eof_held_ : 1 = false;          // the peer's EOF came while paused: acted on after the
                                       // input buffered before it (see handle_received)
};

/// The implementation behind a connection handed out by tcp_server/tcp_client.
inline connection_impl& impl_of(connection& c) {
  return static_cast<connection_impl&>(c);
}
inline const connection_impl& impl_of(const connection& c) {
  return static_cast<const connection_impl&>(c);
}

}  // namespace fastnet::detail
