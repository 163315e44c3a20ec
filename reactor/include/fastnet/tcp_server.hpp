// fastnet — a TCP (or Unix domain) server on a group of event loops.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "fastnet/backend.hpp"
#include "fastnet/balancer.hpp"
#include "fastnet/codec.hpp"
#include "fastnet/connection.hpp"
#include "fastnet/handler.hpp"
#include "fastnet/loop_group.hpp"
#include "fastnet/protocol.hpp"
#include "fastnet/socket.hpp"
#include "fastnet/socket_address.hpp"
#include "fastnet/stats.hpp"
#include "fastnet/transport.hpp"

namespace fastnet {

namespace metrics {
class registry;
}

/// A Prometheus endpoint beside a server: GET /metrics on its own address,
/// answered from the server's control loop (no thread of its own) with the
/// server's statistics (fastnet/metrics/server_metrics.hpp) and what the
/// registry holds. One request per connection, then the connection closes.
struct metrics_options {
  /// Where to answer; unset (the default) = no endpoint. Prefer 127.0.0.1:
  /// the numbers tell a lot about the service.
  std::optional<socket_address> address;
  /// More to export (the application's own metrics); may be null. Do not
  /// also watch() this server in it: its statistics are already included.
  std::shared_ptr<metrics::registry> registry;
  /// The `server` label of the server's statistics.
  std::string name = "server";
  /// A request head longer than this is answered 431 and closed.
  size_t max_request = 8192;
  /// A request not complete within this (or an answer not read within it)
  /// closes that connection.
  std::chrono::milliseconds request_timeout{5000};
};

/// Everything a server can be told. Every field has a documented default.
struct tcp_server_options {
  /// Where to listen; default 0.0.0.0:0 (any port; read it back with local_address()).
  socket_address address = *socket_address::ip("0.0.0.0", 0);
  /// IO loop threads; 0 = one per core.
  size_t loops = 0;
  /// The loops' kernel interface; default automatic (see fastnet::backend).
  fastnet::backend backend = fastnet::backend::automatic;
  /// true: one SO_REUSEPORT listener per loop and the kernel spreads
  /// connections (no cross-thread hand-off; `balancer` is unused).
  /// false: one acceptor thread hands each connection to the loop `balancer`
  /// picks (with a single loop the acceptor runs on that loop instead).
  bool reuse_port = false;
  /// Chooses the loop for each accepted connection; default round_robin().
  balancer_ptr balancer;
  /// One codec per connection (one per loop when the codec is shareable());
  /// default raw (every read is one frame).
  codec_factory codec;
  /// When set, each connection speaks this protocol (which brings its own
  /// framing, so `codec` is unused): WebSocket is ws::server_protocol_factory().
  protocol_factory protocol;
  /// One transport per connection; empty = plain TCP. TLS:
  /// fastnet::tls::context::server(cfg)->transports().
  transport_factory transport;
  /// At most this many open connections; more are accepted and closed at once.
  size_t max_connections = 100000;
  /// Water marks, output cap, idle timeout, close linger.
  connection_options connection;
  /// TCP_NODELAY, keepalive, buffer sizes (SO_REUSEPORT follows `reuse_port`).
  socket_options socket;
  /// listen() backlog.
  int backlog = 4096;
  /// stop() gives connections this long to flush and close before resetting the rest.
  std::chrono::milliseconds stop_timeout{5000};
  /// A /metrics endpoint beside the server; none by default.
  metrics_options metrics;
};

/// The reactor's server: listens, spreads connections over its loops, runs
/// the handler's callbacks on each connection's loop thread.
///
/// Two ways to serve: start() runs every loop on a thread of its own and
/// returns; run() serves on the calling thread (it becomes loop 0) until
/// stop(). A one-loop server that is run() starts no thread: its loop also
/// accepts and fires the server timers, like a single-threaded Asio or
/// libuv program, and a process that never starts another thread avoids
/// the kernel's and libc's multi-thread bookkeeping on every system call.
/// With one loop the server timers run on that loop in both modes, so a
/// slow timer delays that loop's IO.
///
/// Thread safety: start() from a controlling thread; stop() from one too
/// after start(), or from any thread after run() has started serving; the
/// timer methods, connection_count, stats and local_address from any thread.
class tcp_server {
 public:
  /// `handler` must outlive the server; its callbacks run concurrently on the loop threads.
  tcp_server(tcp_server_options opts, tcp_handler& handler);
  /// Stops the server if it is running.
  ~tcp_server();
  tcp_server(const tcp_server&) = delete;
  tcp_server& operator=(const tcp_server&) = delete;

  /// Binds, listens and starts the loop threads; returns once accepting.
  /// Throws std::system_error when the address cannot be bound.
  void start();

  /// Binds and listens (throwing as start() does), then serves with loop 0
  /// on the calling thread and the other loops on threads of their own.
  /// Returns after stop(), once every connection is closed and every server
  /// thread joined; at once (after binding) when stop() was called before.
  /// Once per server; std::logic_error after start() or run().
  /// Tasks queued on loops().loop(0) before the call run on the calling
  /// thread once the server is bound: the place to report readiness.
  void run();

  /// Stops accepting, flushes what connections have queued, closes them
  /// (resetting any still open after stop_timeout), and joins every thread.
  /// Idempotent. Before start() it does nothing; before run(), or while
  /// run() is starting, it returns at once and run() stops as soon as it
  /// has bound.
  /// After start(): waits for all that; throws std::logic_error when called
  /// from one of the server's own threads (a callback or timer), where it
  /// would wait for itself.
  /// After run(): from the server's own threads it only begins the shutdown
  /// and returns (run() returns when it is complete); from any other thread
  /// it waits until run() has finished.
  void stop();

  /// The bound address (with the real port when 0 was asked for). Empty (port 0) until
  /// start() has bound, also while it runs on another thread. Any thread.
  socket_address local_address() const;

  /// The bound /metrics address (see tcp_server_options::metrics), empty
  /// (port 0) without one or before start() has bound. Any thread.
  socket_address metrics_address() const;

  /// Open connections right now.
  size_t connection_count() const;

  /// What the server has done so far: per loop, its work and its
  /// connections' counters (accepted, closed by reason, bytes, frames,
  /// backpressure), and what the acceptor refused. Cheap to keep (the loops
  /// count without shared atomics); a call reads them all. Any thread.
  server_stats stats() const;

  /// Runs `fn` every `interval` on the server's control loop (the seed's
  /// RunEvery): loop 0 when there is one loop, else a thread of its own.
  timer_id run_every(clock::duration interval, std::function<void()> fn);
  /// Runs `fn` once after `delay` on the server's control loop.
  timer_id run_after(clock::duration delay, std::function<void()> fn);
  /// Cancels a timer from run_every/run_after.
  void cancel(timer_id id);

  /// The IO loops (for clients that should share them, or for stats).
  loop_group& loops();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace fastnet
