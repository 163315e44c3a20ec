// fastnet — outbound connections on an event loop, with retry and back-off.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>

#include "fastnet/codec.hpp"
#include "fastnet/connection.hpp"
#include "fastnet/event_loop.hpp"
#include "fastnet/handler.hpp"
#include "fastnet/protocol.hpp"
#include "fastnet/socket_address.hpp"
#include "fastnet/stats.hpp"
#include "fastnet/transport.hpp"

namespace fastnet {

/// How a client connects and retries. Every field has a documented default.
struct tcp_client_options {
  socket_address address;  ///< where to connect (required)
  /// One attempt may take this long before it counts as failed (ETIMEDOUT).
  std::chrono::milliseconds connect_timeout{3000};
  /// Delay before the first retry; doubled (times `backoff_multiplier`) after
  /// each failure up to `retry_max`.
  std::chrono::milliseconds retry_initial{100};
  /// The longest delay between attempts.
  std::chrono::milliseconds retry_max{5000};
  /// What the delay is multiplied by after each failed attempt.
  double backoff_multiplier = 2.0;
  /// Attempts before giving up (on_connect_failed); 0 = keep trying.
  size_t max_attempts = 8;
  /// Connect again (with the same back-off) when an established connection closes.
  bool reconnect = false;
  codec_factory codec;  ///< default raw; a shareable() codec is made once and kept
  /// When set, the connection speaks this protocol (which brings its own
  /// framing, so `codec` is unused): WebSocket is ws::client_protocol_factory().
  protocol_factory protocol;
  /// The connection's transport; empty = plain TCP. TLS:
  /// fastnet::tls::context::client(cfg)->transports().
  transport_factory transport;
  /// Water marks, output cap, timeouts and lingers of the connection.
  connection_options connection;
  /// TCP_NODELAY, keepalive and buffer sizes of the connecting socket (the
  /// listener options reuse_addr and reuse_port are unused).
  socket_options socket;
};

/// One outbound connection at a time, owned by one loop. Callbacks go to
/// `handler` on that loop's thread, like a server's. disconnect() closes
/// gracefully (flush, half-close, linger); destroying the client closes its
/// connection at once: what the socket takes immediately is sent, the rest of
/// the queued output is dropped. Call disconnect() first for a graceful end.
/// Thread safety: every method may be called from any thread except that
/// the destructor must not run on the client's own loop thread (it waits for
/// the loop to let go of the client).
class tcp_client {
 public:
  /// `loop` and `handler` must outlive the client.
  tcp_client(event_loop& loop, tcp_client_options opts, tcp_handler& handler);
  /// Closes the connection at once (see above) and waits for the loop to
  /// let go of the client: never on the client's loop thread.
  ~tcp_client();
  tcp_client(const tcp_client&) = delete;
  tcp_client& operator=(const tcp_client&) = delete;

  /// Starts connecting with a fresh retry budget (a no-op while connecting,
  /// waiting to retry, or connected).
  void connect();
  /// Stops retrying and closes the connection gracefully, if any.
  void disconnect();

  /// The live connection, or null. Any thread.
  connection_ptr connection() const;
  /// Connection attempts made so far. Any thread.
  size_t attempts() const;
  /// What the client's connections have done so far (accepted counts
  /// connections made; see connection_stats). Any thread.
  connection_stats stats() const;

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace fastnet
