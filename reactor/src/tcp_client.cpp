#include "fastnet/tcp_client.hpp"

#include <sys/epoll.h>

#include <cerrno>
#include <cstring>
#include <future>
#include <mutex>

#include "connection_impl.hpp"
#include "fastnet/codecs/raw_codec.hpp"
#include "log.hpp"

namespace fastnet {

struct tcp_client::impl final : std::enable_shared_from_this<impl>, io_handler {
  /// What the client's connections share; tells the client when one closes.
  struct client_owner final : detail::connection_owner {
    client_owner(std::weak_ptr<impl> c, event_loop& loop, const tcp_client_options& o)
        : connection_owner(loop, o.connection, o.codec, o.protocol, o.transport),
          client(std::move(c)) {}
    void connection_closed(detail::connection_impl& c) override {
      if (auto s = client.lock()) s->on_connection_closed(c.opened());
    }
    std::weak_ptr<impl> client;
  };

  impl(event_loop& l, tcp_client_options o, tcp_handler& h)
      : loop(l), opts(std::move(o)), handler(h) {
    if (!opts.codec) opts.codec = [] { return std::make_unique<raw_codec>(); };
    delay = opts.retry_initial;
  }

  // All below run on the loop thread.
  void begin() {
    active = true;
    if (connecting || retry_timer || current()) return;
    // A new connect() gets the whole retry budget again.
    attempts_since_success = 0;
    delay = opts.retry_initial;
    attempt();
  }

  void attempt() {
    retry_timer = {};
    attempts.fetch_add(1, std::memory_order_relaxed);
    try {
      pending = sockets::create_stream(opts.address.family());
    } catch (const std::system_error& e) {
      failed(e.code().value());
      return;
    }
    sockets::apply(pending.get(), opts.address.family(), opts.socket);
    if (::connect(pending.get(), opts.address.data(), opts.address.size()) != 0 &&
        errno != EINPROGRESS) {
      failed(errno);
      return;
    }
    // Completion (or failure) of a non-blocking connect shows as writability.
    loop.watch(pending.get(), EPOLLOUT, this);
    connecting = true;
    std::weak_ptr<impl> weak = shared_from_this();
    timeout_timer = loop.run_after(opts.connect_timeout, [weak] {
      if (auto self = weak.lock(); self && self->connecting) {
        self->timeout_timer = {};
        self->failed(ETIMEDOUT);
      }
    });
  }

  void handle_events(uint32_t) override {
    if (!connecting) return;
    int err = sockets::pending_error(pending.get());
    socket_address local = sockets::local_address(pending.get());
    // A connect to a free local port can "succeed" by connecting to itself.
    if (err == 0 && local == opts.address) err = ECONNREFUSED;
    if (err != 0) {
      failed(err);
      return;
    }
    stop_connecting();
    auto self = shared_from_this();
    // Made with the first connection: the owner refers back to this
    // client, whose shared_ptr does not exist yet in the constructor.
    if (!owner) {
      owner = detail::owner_ref(std::make_unique<client_owner>(self, loop, opts));
      stats_owner.store(&*owner, std::memory_order_release);
    }
    auto c = std::make_shared<detail::connection_impl>(owner, std::move(pending), next_id++,
                                                       opts.address, handler);
    {
      std::lock_guard lock(mutex);
      conn = c;
    }
    c->start();
  }

  void stop_connecting() {
    if (connecting) loop.unwatch(pending.get());
    connecting = false;
    if (timeout_timer) loop.cancel(timeout_timer);
    timeout_timer = {};
  }

  void failed(int err) {
    stop_connecting();
    pending.reset();
    ++attempts_since_success;
    detail::log().debug("connect {} failed: {} (attempt {})", opts.address.to_string(),
                        std::strerror(err), attempts_since_success);
    if (!active) return;
    if (opts.max_attempts != 0 && attempts_since_success >= opts.max_attempts) {
      active = false;
      handler.on_connect_failed(opts.address, err);
      return;
    }
    std::weak_ptr<impl> weak = shared_from_this();
    retry_timer = loop.run_after(delay, [weak] {
      if (auto self = weak.lock(); self && self->active) self->attempt();
    });
    auto next =
        std::chrono::duration_cast<std::chrono::milliseconds>(delay * opts.backoff_multiplier);
    delay = std::min(next, opts.retry_max);
  }

  void on_connection_closed(bool opened) {
    {
      std::lock_guard lock(mutex);
      conn.reset();
    }
    // A transport handshake (TLS) that failed is a failed attempt: retried
    // with back-off, reported by on_connect_failed after max_attempts.
    if (!opened) {
      failed(EPROTO);
      return;
    }
    // The attempt succeeded: the count and the back-off start over.
    attempts_since_success = 0;
    delay = opts.retry_initial;
    if (active && opts.reconnect) {
      std::weak_ptr<impl> weak = shared_from_this();
      retry_timer = loop.run_after(delay, [weak] {
        if (auto self = weak.lock(); self && self->active) self->attempt();
      });
    }
  }

  /// Stops retrying and closes the connection: gracefully for disconnect(),
  /// at once when the client is being destroyed (nothing would own a
  /// connection lingering on after its client).
  void end(bool destroying) {
    active = false;
    if (retry_timer) loop.cancel(retry_timer);
    retry_timer = {};
    stop_connecting();
    pending.reset();
    if (auto c = current())
      destroying ? detail::impl_of(*c).close_now(close_reason::local_close) : c->close();
  }

  connection_ptr current() const {
    std::lock_guard lock(mutex);
    return conn;
  }

  event_loop& loop;
  tcp_client_options opts;
  tcp_handler& handler;
  detail::owner_ref owner;  // loop thread only
  // The same owner for stats() from any thread (it lives as long as this).
  std::atomic<detail::connection_owner*> stats_owner{nullptr};
  unique_fd pending;  // socket of the attempt in progress
  bool connecting = false;
  bool active = false;
  timer_id timeout_timer;
  timer_id retry_timer;
  std::chrono::milliseconds delay;
  size_t attempts_since_success = 0;
  uint64_t next_id = 1;
  std::atomic<size_t> attempts{0};
  mutable std::mutex mutex;  // guards conn for readers on other threads
  connection_ptr conn;
};

tcp_client::tcp_client(event_loop& loop, tcp_client_options opts, tcp_handler& handler)
    : impl_(std::make_shared<impl>(loop, std::move(opts), handler)) {}

tcp_client::~tcp_client() {
  if (impl_->loop.in_loop_thread()) {
    impl_->end(true);
    return;
  }
  // Wait for the loop to let go of the attempt in progress (it holds a raw
  // pointer to impl_ in its epoll set); give up waiting if the loop has stopped.
  auto done = std::make_shared<std::promise<void>>();
  auto fut = done->get_future();
  impl_->loop.queue_in_loop([self = impl_, done] {
    self->end(true);
    done->set_value();
  });
  while (fut.wait_for(std::chrono::milliseconds(50)) == std::future_status::timeout) {
    if (!impl_->loop.running()) break;
  }
}

void tcp_client::connect() {
  impl_->loop.run_in_loop([self = impl_] { self->begin(); });
}

void tcp_client::disconnect() {
  impl_->loop.run_in_loop([self = impl_] { self->end(false); });
}

connection_ptr tcp_client::connection() const {
  return impl_->current();
}

size_t tcp_client::attempts() const {
  return impl_->attempts.load(std::memory_order_relaxed);
}

connection_stats tcp_client::stats() const {
  auto* o = impl_->stats_owner.load(std::memory_order_acquire);
  return o != nullptr ? o->stats.snapshot() : connection_stats{};
}

}  // namespace fastnet
