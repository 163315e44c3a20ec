// fastnet — the protocol layer: what a connection says on its own between
// the framing codec and the handler (handshakes, automatic replies, the
// closing handshake, typed events). Optional: a connection without one
// hands its codec's frames straight to the handler.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "fastnet/close_reason.hpp"
#include "fastnet/codec.hpp"
#include "fastnet/frame_kind.hpp"
#include "fastnet/layer_events.hpp"

namespace fastnet {

/// What a protocol makes of one frame its framing decoded.
struct protocol_step {
  /// What the connection does after writing `reply` and delivering.
  enum class next : uint8_t {
    go_on,        ///< keep reading
    peer_closed,  ///< the peer ended the protocol (it sent a close): as its EOF (on_peer_eof)
    finished,     ///< our own close completed (the peer answered it): close as local_close
    fail,         ///< the frame breaks the protocol: `error` says why; close as protocol_error
    /// Stop after this frame, as if the handler called pause_reading():
    /// the bytes behind it stay buffered, undecoded, until
    /// connection::upgrade_transport() hands them to the new transport or
    /// resume_reading() decodes them. This is how a consumer that answers
    /// later (an actor) takes STARTTLS with the ClientHello in the same
    /// write: the loop must not decode the handshake as plaintext meanwhile.
    hold,
  };
  /// Bytes written unchanged before anything is delivered (an automatic
  /// pong, an HTTP handshake answer). A view into storage the protocol
  /// owns, valid until its next call.
  std::span<const std::byte> reply;
  /// True: `payload` goes to the handler's on_message as a frame of `kind`.
  bool deliver = false;
  /// The kind of the frame delivered.
  frame_kind kind = frame_kind::data;
  /// Valid until the protocol's or its framing's next call.
  std::span<const std::byte> payload;
  /// What the connection does after this frame.
  next then = next::go_on;
  std::string error;  ///< why, for next::fail (logged)
};

/// A protocol on top of a framing codec. One object per connection; it owns
/// the codec (or codecs: a protocol that starts with an HTTP head and goes
/// on with WebSocket frames switches between its own) and tells the
/// connection which one frames the bytes now. It may count events of its
/// own (counts_events), exported with its owner's statistics.
/// Thread safety: used by the owning loop thread only.
class protocol : public counts_events {
 public:
  virtual ~protocol() = default;

  /// The codec that decodes input and encodes sends now. The connection asks
  /// again after every on_frame(), so a protocol switches its framing there.
  virtual codec& framing() = 0;

  /// Handles one frame framing() decoded (its kind, payload and the bytes it
  /// used); says what to write, deliver and do next.
  virtual protocol_step on_frame(const decode_result& frame) = 0;

  /// Frames one send of the handler's (connection::send). The default is
  /// framing().encode_as(). May throw std::logic_error when the protocol
  /// allows no such send now (before its handshake, after its close), which
  /// makes the send fail.
  virtual void encode(std::span<const std::byte> payload, frame_kind kind, fragment frag,
                      encoded_frame& out) {
    framing().encode_as(payload, kind, frag, out);
  }

  /// Bytes the connection writes as soon as this protocol takes over (at
  /// start, before on_connect, or at set_protocol): a client's opening
  /// handshake. Valid until the next call. Default: none.
  virtual std::span<const std::byte> greeting() { return {}; }

  /// Bytes written when the connection closes gracefully, after all queued
  /// output and before the FIN: the closing handshake (WebSocket: a Close
  /// frame, echoing the peer's code when the peer closed first), or the
  /// answer to input that broke the framing or the protocol. `why` is the
  /// connection's close reason. Valid until the next call. Default: none.
  virtual std::span<const std::byte> farewell(close_reason why) {
    (void)why;
    return {};
  }

  /// For protocols with an opening handshake: how long the peer has, from
  /// the moment this protocol takes over, until handshake_done() is true;
  /// otherwise the connection is reset (protocol_error). 0 = no deadline.
  virtual std::chrono::milliseconds handshake_timeout() const { return {}; }
  /// True once the opening handshake is complete. Default: true (no handshake).
  virtual bool handshake_done() const { return true; }

  /// Short name for logs and metrics labels ("websocket").
  virtual const char* name() const = 0;
};

/// Makes one protocol per connection. Called on the connection's loop thread.
using protocol_factory = std::function<std::unique_ptr<protocol>()>;

}  // namespace fastnet
