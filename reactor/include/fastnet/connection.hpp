// fastnet — one TCP (or Unix domain) connection owned by one event loop.
#pragma once

#include <any>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fastnet/close_reason.hpp"
#include "fastnet/codec.hpp"
#include "fastnet/event_loop.hpp"
#include "fastnet/handler.hpp"
#include "fastnet/protocol.hpp"
#include "fastnet/socket_address.hpp"
#include "fastnet/transport.hpp"

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
  /// Once the first byte of a frame (or of a protocol's handshake) has
  /// arrived, the whole frame must arrive within this, or the connection is
  /// closed with close_reason::frame_timeout; 0 = no deadline. The idle
  /// timeout cannot catch a peer that trickles a frame a byte at a time.
  /// 60 s, as nginx's and HAProxy's request timeouts: a 16 MiB frame still
  /// gets through at about 300 KB/s, and a trickling peer holds a
  /// connection a minute at most.
  std::chrono::milliseconds frame_timeout{60000};
  /// How long close() waits for the output to flush and the peer's FIN after
  /// our half-close before resetting the connection.
  std::chrono::milliseconds close_linger{3000};
  /// After the peer finished, how long a handler that kept the connection
  /// open (on_peer_eof returned false; an actor still replying) has to
  /// close it; then the connection closes anyway.
  std::chrono::milliseconds peer_close_linger{5000};
};

/// A connection: the socket, its input and output ring buffers, its codec.
/// Created by tcp_server / tcp_client, owned by one loop for its whole life.
///
/// Lifecycle: open → (the peer finishes) peer_closed → closing → closed, or
/// open → closing → closed, or straight to closed on a reset. Whatever the
/// connection sends because of the peer (a protocol's closing reply, the
/// FIN) goes out after every reply the handler gave before it closed.
///
/// Thread safety: send, send_all, shutdown, close, abort, pause_reading,
/// resume_reading, connected, pending_output, id and peer_address may be
/// called from any thread. Calls take effect in the order they were made
/// (happens-before), also when the caller moves between threads, as an
/// actor does between CAF workers: calls off the loop wait in the
/// connection's lock-free outbox, and one loop task runs them in order.
/// Queued sends count against max_output_bytes; the other calls are one
/// small command each and are bounded only by the caller's rate. The other
/// methods are loop-thread only.
class connection : public std::enable_shared_from_this<connection> {
 public:
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  /// Stable id, unique within the owning server or client. Any thread.
  uint64_t id() const;
  /// The peer's address. Any thread.
  socket_address peer_address() const;
  /// The socket's local address, read from the kernel (getsockname); empty
  /// once the connection is closed. Not kept per connection: with many
  /// connections it is memory nobody reads. Loop thread only.
  socket_address local_address() const;
  /// The loop that owns this connection. Any thread.
  event_loop& loop() const;

  /// Frames `payload` with the codec and sends it. On the loop thread with
  /// nothing queued it writes directly and buffers only what the socket did
  /// not take; from other threads the bytes are copied once and queued.
  /// Returns false when the connection is closing or closed, or when the
  /// output cap is reached (the connection is then reset). Any thread.
  bool send(std::span<const std::byte> payload);
  /// Sends a string's bytes, as send(span). Any thread.
  bool send(std::string_view payload) {
    return send(std::as_bytes(std::span(payload.data(), payload.size())));
  }
  /// Sends a string it takes over, avoiding the copy when called off the loop.
  bool send(std::string&& payload);
  /// A string literal or C string (which would otherwise match both
  /// overloads above).
  bool send(const char* payload) { return send(std::string_view(payload)); }
  /// Sends several frames in order as one command (one queue entry and one
  /// wake when called off the loop). Returns false as send() does.
  bool send_all(std::vector<std::string>&& frames);

  /// Sends `payload` as a frame of `kind` (WebSocket: text, binary, close,
  /// ping, pong; `data` is the codec's default), ending its message or,
  /// with fragment::more, a fragment the next sends continue. Otherwise
  /// exactly like send(payload). Any thread.
  bool send(std::span<const std::byte> payload, fastnet::frame_kind kind,
            fragment frag = fragment::last);
  /// Sends a string's bytes as a frame of `kind`, as above. Any thread.
  bool send(std::string_view payload, fastnet::frame_kind kind, fragment frag = fragment::last) {
    return send(std::as_bytes(std::span(payload.data(), payload.size())), kind, frag);
  }
  /// Sends a string it takes over as a frame of `kind`, avoiding the copy
  /// when called off the loop. Any thread.
  bool send(std::string&& payload, fastnet::frame_kind kind, fragment frag = fragment::last);

  /// Flushes queued output, then half-closes (FIN); reading continues until
  /// the peer closes. Later sends fail. Any thread.
  void shutdown();
  /// Stops delivering input, flushes queued output, writes the protocol's
  /// closing handshake if it has one (a WebSocket Close), half-closes and
  /// closes when the peer's FIN arrives or close_linger passes (then
  /// resets). Any thread.
  void close();
  /// Drops queued output and resets the connection (RST) now. Any thread.
  void abort();

  /// Who asked to pause reading. Each source pauses and resumes on its own,
  /// so a layer's flow control never undoes the application's pause.
  enum class pause_source : uint8_t {
    user,     ///< the application (pause_reading() / resume_reading()), or a protocol's hold
    inbound,  ///< a consumer layered on top ran out of inbound budget (actors/)
  };

  /// Stops reading from the socket and delivering buffered frames (the
  /// peer's sends back up into its kernel buffers) until the same source
  /// resumes. Any thread.
  void pause_reading(pause_source source = pause_source::user);
  /// Ends the pause of `source` (pauses do not nest: one call ends it).
  /// Reading and delivery start again once nothing else holds them paused:
  /// the other source, or output above the high water mark. Any thread.
  void resume_reading(pause_source source = pause_source::user);

  /// True while sends are accepted: open, or the peer finished and the
  /// connection waits for the handler's close. Any thread.
  bool connected() const;
  /// Output accepted by send() and not yet handed to the kernel. Any thread.
  size_t pending_output() const;

  /// A slot for the application's per-connection state. Loop thread only.
  std::any& context();

  /// The kind of the frame being delivered (the protocol's, else the
  /// codec's decode_result::kind; `data` for codecs with one kind). Meaningful inside on_message.
  /// Loop thread only.
  fastnet::frame_kind frame_kind() const;
  /// Replaces the layers above the transport with `next`, a framing codec
  /// whose frames go straight to the handler (any protocol goes with the
  /// old layers). At once: later sends are encoded and input not yet
  /// decoded (buffered or still to come) is decoded by the new codec.
  /// Inside on_message the frame stays valid until the callback returns.
  /// Loop thread only.
  void set_codec(std::unique_ptr<codec> next);
  /// Replaces the layers above the transport with `next`, a protocol with
  /// its own framing (an HTTP Upgrade to WebSocket), the same way as
  /// set_codec: its greeting goes out and its handshake deadline starts
  /// now, and buffered input goes to it. Loop thread only.
  void set_protocol(std::unique_ptr<fastnet::protocol> next);
  /// The protocol in use (for its state: a WebSocket handshake's request,
  /// a selected subprotocol); null when there is none. Loop thread only.
  fastnet::protocol* current_protocol() const;
  /// Switches the live connection to transport `next` (STARTTLS: a TLS
  /// transport from fastnet::tls::context::make_transport()), in call
  /// order with sends from the same thread: what was sent before goes out
  /// over the old transport first, input not yet decoded goes to the new
  /// one (it is the peer's handshake), and sends made afterwards wait for
  /// the new transport's handshake and go out over it. If the old output
  /// cannot be written at once (the peer does not read), or the handshake
  /// fails or passes its deadline, the connection closes with
  /// close_reason::handshake_failed. Reading paused by the user or by a
  /// protocol's hold (protocol_step::next::hold) resumes with it. Any thread.
  void upgrade_transport(std::unique_ptr<fastnet::transport> next);
  /// The transport under the buffers (plain TCP, or TLS: see
  /// fastnet::tls::info). Loop thread only.
  const fastnet::transport& current_transport() const;
  /// The codec framing the bytes now (the protocol's, when there is one).
  /// Loop thread only.
  fastnet::codec& current_codec() const;

 protected:
  // Only the implementation (one allocation with this) derives from it.
  connection() = default;
  ~connection() = default;
};

}  // namespace fastnet
