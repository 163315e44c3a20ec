// fastnet — one TCP (or Unix domain) connection owned by one event loop.
#pragma once

#include <any>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fastnet/codec.hpp"
#include "fastnet/event_loop.hpp"
#include "fastnet/handler.hpp"
#include "fastnet/ring_buffer.hpp"
#include "fastnet/socket.hpp"

namespace fastnet {

/// Per-connection limits and policies. Defaults are chosen for many small
/// connections; every bound has a documented policy when it is reached.
struct connection_options {
  /// Queued output at which on_high_water fires (and reading pauses, see below).
  size_t high_water_mark = 4 << 20;
  /// Queued output at which on_low_water fires after a high-water crossing.
  size_t low_water_mark = 1 << 20;
  /// Stop reading from a connection while its output is above the high water
  /// mark, so a peer that sends but never reads cannot grow the server's
  /// memory (the echo case); reading resumes at the low water mark.
  bool pause_reading_on_high_water = true;
  /// Hard cap on queued output. A send that would pass it fails (returns
  /// false) and the connection is reset with close_reason::output_overflow.
  size_t max_output_bytes = 64 << 20;
  /// Close connections that neither read nor write for this long; 0 = never.
  std::chrono::milliseconds idle_timeout{0};
  /// How long close() waits for the output to flush and the peer's FIN after
  /// our half-close before resetting the connection.
  std::chrono::milliseconds close_linger{3000};
};

/// A connection: the socket, its input and output ring buffers, its codec.
/// Created by tcp_server / tcp_client, owned by one loop for its whole life.
///
/// Thread safety: send, send_all, shutdown, close, abort, pause_reading,
/// resume_reading, connected, pending_output, id and the address accessors
/// may be called from any thread. Calls take effect in the order they were
/// made (happens-before), also when the caller moves between threads, as an
/// actor does between CAF workers: calls off the loop wait in the
/// connection's lock-free outbox, and one loop task runs them in order.
/// Queued sends count against max_output_bytes; the other calls are one
/// small command each and are bounded only by the caller's rate.
/// context() is loop-thread only.
class connection final : public std::enable_shared_from_this<connection>, private io_handler {
 public:
  /// Internal: called when the connection is fully closed, on its loop thread.
  using closed_hook = std::function<void(const connection_ptr&)>;

  /// Internal: made by tcp_server and tcp_client; call start() on the loop.
  connection(event_loop& loop, unique_fd fd, uint64_t id, const socket_address& peer,
             std::unique_ptr<codec> codec, tcp_handler& handler,
             std::shared_ptr<const connection_options> opts, closed_hook on_closed);
  ~connection() override;
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  /// Internal: registers with the loop and calls on_connect. Loop thread only.
  void start();

  /// Stable id, unique within the owning server or client.
  uint64_t id() const { return id_; }
  /// The peer's address. Any thread.
  socket_address peer_address() const;
  /// The socket's local address, read from the kernel (getsockname); empty
  /// once the connection is closed. Not kept per connection: with many
  /// connections it is memory nobody reads. Loop thread only.
  socket_address local_address() const;
  event_loop& loop() const { return loop_; }

  /// Frames `payload` with the codec and sends it. On the loop thread with
  /// nothing queued it writes directly and buffers only what the socket did
  /// not take; from other threads the bytes are copied once and queued.
  /// Returns false when the connection is closing or closed, or when the
  /// output cap is reached (the connection is then reset). Any thread.
  bool send(std::span<const std::byte> payload);
  bool send(std::string_view payload) {
    return send(std::as_bytes(std::span(payload.data(), payload.size())));
  }
  /// Sends a string it takes over, avoiding the copy when called off the loop.
  bool send(std::string&& payload);
  /// Sends several frames in order as one command (one queue entry and one
  /// wake when called off the loop). Returns false as send() does.
  bool send_all(std::vector<std::string>&& frames);

  /// Sends `payload` as a frame of `kind` (the codec's meaning, as in
  /// decode_result::kind: WebSocket 1 text, 2 binary, 8 close, 9 ping; 0 is
  /// the codec's default). Otherwise exactly like send(payload). Any thread.
  bool send(std::span<const std::byte> payload, uint8_t kind);
  bool send(std::string_view payload, uint8_t kind) {
    return send(std::as_bytes(std::span(payload.data(), payload.size())), kind);
  }
  bool send(std::string&& payload, uint8_t kind);

  /// Flushes queued output, then half-closes (FIN); reading continues until
  /// the peer closes. Any thread.
  void shutdown();
  /// Stops delivering input, flushes queued output, half-closes and closes
  /// when the peer's FIN arrives or close_linger passes (then resets). Any thread.
  void close();
  /// Drops queued output and resets the connection (RST) now. Any thread.
  void abort();

  /// Who asked to pause reading. Each source pauses and resumes on its own,
  /// so a layer's flow control never undoes the application's pause.
  enum class pause_source : uint8_t {
    user,     ///< the application (pause_reading() / resume_reading())
    inbound,  ///< a consumer layered on top ran out of inbound budget (actors/)
  };

  /// Stops reading from the socket and delivering buffered frames (the
  /// peer's sends back up into its kernel buffers) until the same source
  /// resumes. Any thread.
  void pause_reading(pause_source source = pause_source::user);
  void resume_reading(pause_source source = pause_source::user);

  /// True until the connection is closing or closed. Any thread.
  bool connected() const { return state_.load(std::memory_order_acquire) == state::connected; }
  /// Output accepted by send() and not yet handed to the kernel. Any thread.
  size_t pending_output() const { return pending_output_.load(std::memory_order_relaxed); }

  /// A slot for the application's per-connection state. Loop thread only.
  std::any& context() { return context_; }

  /// The kind of the frame being delivered (decode_result::kind; 0 for
  /// codecs with one kind). Meaningful inside on_message. Loop thread only.
  uint8_t frame_kind() const { return frame_kind_; }
  /// Replaces the codec on the live connection, at once: later sends are
  /// encoded and input not yet decoded (buffered or still to come) is decoded
  /// by the new codec. Inside on_message the frame stays valid until the
  /// callback returns. Loop thread only.
  void set_codec(std::unique_ptr<codec> next);
  /// The codec in use (for protocol state such as a WebSocket handshake).
  /// Loop thread only.
  fastnet::codec& current_codec() const { return *codec_; }

  /// Internal: closes with `why` (graceful: flush, half-close, linger). Any thread.
  void close(close_reason why);
  /// Internal: writes what the socket takes right now, then closes (FIN, or
  /// RST if unread input remains) without waiting. Loop thread only.
  void close_now(close_reason why);

 private:
  enum class state : uint8_t { connected, disconnecting, closed };
  enum pause_bits : uint8_t {
    pause_user = 1,
    pause_high_water = 2,
    pause_eof = 4,
    pause_inbound = 8,
    pause_delivery = pause_user | pause_high_water | pause_inbound,  // stops frame delivery
  };
  static uint8_t bit_of(pause_source s) {
    return s == pause_source::user ? pause_user : pause_inbound;
  }

  struct command;
  void post(std::unique_ptr<command> c);
  void dispatch(std::unique_ptr<command> c);
  void run_outbox();
  void execute(command& c);
  bool reserve_output(size_t n);
  /// Runs a handler callback; if it throws, logs and resets the connection.
  template <typename F>
  void guarded(F&& callback);
  void handle_events(uint32_t events) override;
  void handle_read();
  void handle_write();
  void decode_input(std::span<const std::byte> data, bool from_ring);
  void deliver_buffered();
  void start_codec();
  bool send_in_loop(std::span<const std::byte> payload, uint8_t kind = 0);
  bool write_reply(std::span<const std::byte> bytes);
  bool write_pieces(std::span<const iovec> pieces, size_t total);
  void after_output_change(size_t before);
  void on_output_drained();
  void close_in_loop(close_reason why);
  void shutdown_in_loop();
  void finish(close_reason why);
  void fail(close_reason why);
  void update_interest();
  void set_pause(uint8_t bit, bool on);
  void arm_idle_timer();
  void touch() {
    if (opts_->idle_timeout.count() > 0) last_activity_ = clock::now();
  }

  event_loop& loop_;                           // loop-thread use only
  std::shared_ptr<detail::loop_inbox> inbox_;  // other threads post here; outlives loop_
  unique_fd fd_;
  const uint64_t id_;
  // The peer's sockaddr in place when it fits (IPv4, IPv6, short Unix
  // paths): a full sockaddr_storage would double an idle connection's size.
  static constexpr size_t peer_inline = 28;  // sizeof(sockaddr_in6)
  std::array<std::byte, peer_inline> peer_bytes_{};
  uint8_t peer_len_ = 0;
  std::unique_ptr<const socket_address> long_peer_;  // longer Unix paths only
  std::unique_ptr<codec> codec_;
  std::unique_ptr<codec> retired_codec_;  // replaced during a delivery; the frame may point into it
  tcp_handler& handler_;
  std::shared_ptr<const connection_options> opts_;  // shared by the owner's connections
  closed_hook on_closed_;

  std::atomic<state> state_{state::connected};
  std::atomic<size_t> pending_output_{0};
  std::atomic<command*> outbox_{nullptr};  // calls from other threads, newest first
  ring_buffer input_;
  ring_buffer output_;
  std::any context_;
  clock::time_point last_activity_;
  timer_id idle_timer_;
  timer_id linger_timer_;
  uint32_t interest_ = 0;  // events currently registered with epoll
  uint8_t paused_ = 0;     // pause_bits
  bool registered_ = false;
  bool above_high_water_ = false;
  uint8_t frame_kind_ = 0;          // decode_result::kind of the frame being delivered
  bool discard_input_ = false;      // close() in progress: input is read and dropped
  bool shutdown_pending_ = false;   // half-close once output drains
  bool write_shut_ = false;         // FIN sent
  bool close_after_flush_ = false;  // EOF seen: close once output drains
  bool delivering_ = false;         // inside the decode loop (re-entrancy guard)
  bool in_outbox_ = false;          // inside run_outbox (re-entrancy guard)
  close_reason close_why_ = close_reason::local_close;
};

}  // namespace fastnet
