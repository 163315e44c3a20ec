// fastnet — why a connection ended.
#pragma once

namespace fastnet {

/// Why a connection ended; passed to tcp_handler::on_close (and to a
/// connection actor's `closed` message).
enum class close_reason : unsigned char {
  peer_closed,      ///< the peer finished (EOF or its protocol's close) and our output was flushed
  reset,            ///< the peer reset the connection or the socket failed
  local_close,      ///< close() or shutdown() from this side completed
  aborted,          ///< abort() from this side (RST sent)
  idle_timeout,     ///< nothing was read or written for the idle timeout
  frame_timeout,    ///< a frame begun by the peer was not complete within the frame timeout
  server_stopping,  ///< the server or client is stopping
  protocol_error,   ///< the codec rejected the input
  output_overflow,  ///< queued output passed max_output_bytes (peer not reading)
  handler_error,    ///< a handler callback threw; the connection was reset
  /// the transport's handshake (TLS) failed or did not finish in time; the
  /// handler never saw the connection (no on_connect, no on_close)
  handshake_failed,
};

/// Printable name of a close reason ("peer_closed", ...). Any thread.
const char* to_string(close_reason r);

}  // namespace fastnet
