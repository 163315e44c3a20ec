#include "fastnet/tcp_server.hpp"

#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "acceptor.hpp"
#include "connection_impl.hpp"
#include "fastnet/codecs/raw_codec.hpp"
#include "fastnet/metrics/registry.hpp"
#include "fastnet/metrics/server_metrics.hpp"
#include "log.hpp"
#include "metrics/http_endpoint.hpp"

namespace fastnet {

struct tcp_server::impl {
  /// What the connections of one loop share; tells the server when one closes.
  struct loop_owner final : detail::connection_owner {
    loop_owner(impl& s, size_t i)
        : connection_owner(s.loops.loop(i), s.opts.connection, s.opts.codec, s.opts.protocol,
                           s.opts.transport),
          server(s),
          index(i) {}
    void connection_closed(detail::connection_impl& c) override { server.on_closed(index, c); }
    impl& server;  // only used while the server lives (it outlives its open connections)
    size_t index;
  };

  // The connections of one loop; touched only on that loop's thread.
  struct loop_state {
    detail::owner_ref owner;
    // A connection's owner_slot() is its index here: O(1) removal by moving
    // the last one into its place. A deque, not a vector: its blocks grow
    // with the count instead of doubling (about 16 bytes per connection).
    std::deque<connection_ptr> connections;
    std::unique_ptr<detail::acceptor> acceptor;  // reuse_port mode, or a single loop
  };

  impl(tcp_server_options o, tcp_handler& h)
      : opts(std::move(o)), handler(h), loops(opts.loops, "fastnet-io", opts.backend) {
    if (!opts.balancer) opts.balancer = round_robin();
    if (!opts.codec) opts.codec = [] { return std::make_unique<raw_codec>(); };
    states = std::vector<loop_state>(loops.size());
    for (size_t i = 0; i < loops.size(); ++i)
      states[i].owner = detail::owner_ref(std::make_unique<loop_owner>(*this, i));
    loops_accepting = loops.size();
    // A single loop does the control work itself: one thread fewer, and a
    // server run() on one loop has no thread of its own at all.
    if (loops.size() == 1) {
      control = &loops.loop(0);
    } else {
      own_control = std::make_unique<event_loop>(opts.backend);
      control = own_control.get();
    }
  }

  void start();
  void run();
  void stop();
  std::vector<unique_fd> bind_listeners();
  void start_control_thread();
  /// Quits and joins the control thread, if it is running.
  void stop_control_thread();
  /// Puts each listener on its loop; `wait`: until they are there.
  void install_acceptors(std::vector<unique_fd> listeners, bool wait);
  /// Stops accepting and closes every connection; any thread, idempotent.
  void begin_shutdown();
  /// Closes every connection of loop `i` (on that loop).
  void close_loop(size_t i, bool hard);
  void on_accept(unique_fd fd, const socket_address& peer, size_t accepting_loop);
  void on_closed(size_t loop_index, detail::connection_impl& c);
  /// The server's statistics (tcp_server::stats). Any thread.
  server_stats stats();
  /// The /metrics answer: the server's statistics and the registry's.
  std::string scrape();
  /// One counted connection is gone (closed, or dropped before it started).
  void connection_gone();
  /// Called (maybe more than once) once every loop has stopped accepting
  /// and no connection is left.
  void all_closed();
  bool on_own_thread();
  /// Runs `fn` on `loop` and waits for it (controlling thread only).
  static void run_and_wait(event_loop& loop, std::function<void()> fn);

  tcp_server_options opts;
  tcp_handler& handler;
  loop_group loops;
  // Server timers and, with several loops and no reuse_port, the acceptor:
  // loop 0 when there is only one loop, else a loop on a thread of its own.
  std::unique_ptr<event_loop> own_control;
  event_loop* control = nullptr;
  std::thread control_thread;
  std::vector<loop_state> states;
  std::unique_ptr<detail::acceptor> acceptor;               // single-acceptor mode; control thread
  std::unique_ptr<detail::http_endpoint> metrics_endpoint;  // control thread
  unique_fd metrics_listener;                               // until installed
  socket_address metrics_bound;                             // published with `bound`
  socket_address bound;
  // Set once `bound` is written: local_address() may be called from any
  // thread, also while start() runs on another (run() from a thread).
  std::atomic<bool> bound_published{false};
  std::atomic<uint64_t> next_id{1};
  std::atomic<size_t> open{0};
  // Rare events, from several threads: plain atomic counters.
  std::atomic<uint64_t> refused_at_limit{0};
  std::atomic<uint64_t> accept_resource_errors{0};
  std::atomic<bool> stopping{false};
  // Loops that have yet to stop accepting in a shutdown: until it is 0, a
  // connection count of 0 does not mean the server is drained.
  std::atomic<size_t> loops_accepting{0};
  std::mutex mutex;
  std::condition_variable changed;  // `drained` or `finished` became true
  bool drained = false;             // all_closed() has run; guarded by mutex
  bool finished = false;            // run() has returned; guarded by mutex
  bool run_mode = false;            // written before `started` is set
  std::atomic<bool> started{false};
  std::atomic<bool> stop_requested{false};  // stop() was called; run() honours an early one
};

void tcp_server::impl::run_and_wait(event_loop& loop, std::function<void()> fn) {
  std::promise<void> done;
  loop.run_in_loop([&] {
    fn();
    done.set_value();
  });
  done.get_future().wait();
}

std::vector<unique_fd> tcp_server::impl::bind_listeners() {
  // Bind everything first, on this thread, so that errors surface as exceptions.
  socket_options lopts = opts.socket;
  lopts.reuse_port = opts.reuse_port;
  std::vector<unique_fd> listeners;
  listeners.push_back(sockets::listen(opts.address, lopts, opts.backlog));
  bound = sockets::local_address(listeners[0].get());
  if (opts.metrics.address) {
    metrics_listener = sockets::listen(*opts.metrics.address, opts.socket, 64);
    metrics_bound = sockets::local_address(metrics_listener.get());
  }
  bound_published.store(true, std::memory_order_release);
  if (opts.reuse_port) {
    for (size_t i = 1; i < loops.size(); ++i)
      listeners.push_back(sockets::listen(bound, lopts, opts.backlog));
  }
  return listeners;
}

void tcp_server::impl::start_control_thread() {
  if (!own_control) return;
  std::promise<void> control_running;
  control->queue_in_loop([&] { control_running.set_value(); });
  control_thread = std::thread([this] {
    pthread_setname_np(pthread_self(), "fastnet-ctl");
    control->run();
  });
  control_running.get_future().wait();
}

void tcp_server::impl::stop_control_thread() {
  if (!control_thread.joinable()) return;
  control->quit();
  control_thread.join();
}

void tcp_server::impl::install_acceptors(std::vector<unique_fd> listeners, bool wait) {
  auto place = [wait](event_loop& loop, std::function<void()> fn) {
    wait ? run_and_wait(loop, std::move(fn)) : loop.queue_in_loop(std::move(fn));
  };
  // One listener per loop with SO_REUSEPORT; and with a single loop its one
  // listener lives on that loop too, so that an accepted connection starts
  // on the same thread without a hand-off (cheaper short connections).
  if (opts.reuse_port || loops.size() == 1) {
    for (size_t i = 0; i < loops.size(); ++i) {
      auto fd = std::make_shared<unique_fd>(std::move(listeners[i]));
      place(loops.loop(i), [this, i, fd] {
        if (stopping.load()) return;  // a shutdown got here first (run()); the fd closes
        states[i].acceptor = std::make_unique<detail::acceptor>(
            loops.loop(i), std::move(*fd),
            [this, i](unique_fd c, const socket_address& peer) {
              on_accept(std::move(c), peer, i);
            },
            &accept_resource_errors);
      });
    }
  } else {
    auto fd = std::make_shared<unique_fd>(std::move(listeners[0]));
    place(*control, [this, fd] {
      if (stopping.load()) return;
      acceptor = std::make_unique<detail::acceptor>(
          *control, std::move(*fd),
          [this](unique_fd c, const socket_address& peer) {
            on_accept(std::move(c), peer, SIZE_MAX);
          },
          &accept_resource_errors);
    });
  }
  if (metrics_listener) {
    auto fd = std::make_shared<unique_fd>(std::move(metrics_listener));
    place(*control, [this, fd] {
      if (stopping.load()) return;
      metrics_endpoint = std::make_unique<detail::http_endpoint>(
          *control, std::move(*fd), opts.metrics, [this] { return scrape(); });
    });
  }
}

void tcp_server::impl::start() {
  auto listeners = bind_listeners();
  loops.start();
  start_control_thread();
  install_acceptors(std::move(listeners), true);
  started.store(true);
  detail::log().info("listening on {} with {} loops{}", bound.to_string(), loops.size(),
                     opts.reuse_port ? " (SO_REUSEPORT)" : "");
}

void tcp_server::impl::run() {
  auto listeners = bind_listeners();
  run_mode = true;
  // However run() ends (a thread that cannot be started throws), the
  // control thread is joined and stop() callers are released.
  struct on_exit {
    impl& self;
    ~on_exit() {
      self.stop_control_thread();
      std::lock_guard lock(self.mutex);
      self.finished = true;
      self.changed.notify_all();
    }
  } finish{*this};
  start_control_thread();
  // Queued: each loop installs its listener when it starts (unless a
  // shutdown has begun by then).
  install_acceptors(std::move(listeners), false);
  started.store(true);
  // A stop() that came before `started` was set has returned at once; act on it.
  if (stop_requested.load()) begin_shutdown();
  detail::log().info("serving {} with {} loops, loop 0 on the calling thread{}", bound.to_string(),
                     loops.size(), opts.reuse_port ? " (SO_REUSEPORT)" : "");
  loops.run();  // returns once all_closed() has quit loop 0, with the other loops joined
}

void tcp_server::impl::on_accept(unique_fd fd, const socket_address& peer, size_t accepting_loop) {
  if (stopping.load(std::memory_order_acquire)) return;  // fd closes here
  if (open.load(std::memory_order_relaxed) >= opts.max_connections) {
    detail::log().debug("refusing {}: {} connections open (max_connections)", peer.to_string(),
                        opts.max_connections);
    refused_at_limit.fetch_add(1, std::memory_order_relaxed);
    return;  // accepted and closed at once: the peer sees the refusal immediately
  }
  open.fetch_add(1, std::memory_order_relaxed);
  size_t index = accepting_loop;
  if (index == SIZE_MAX) {
    size_t loads[256];
    size_t n = std::min<size_t>(loops.size(), 256);
    for (size_t i = 0; i < n; ++i)
      loads[i] = loops.load(i);
    index = opts.balancer->pick(peer, std::span<const size_t>(loads, n));
  }
  loops.add_load(index, 1);
  // No sockets::apply here: Linux copies the listener's options (TCP_NODELAY,
  // SO_KEEPALIVE, buffer sizes) into every socket it accepts, and our
  // listeners were made with opts.socket. That saves a setsockopt per
  // connection; server_test checks the accepted sockets' options.
  uint64_t id = next_id.fetch_add(1, std::memory_order_relaxed);
  // std::function needs a copyable task: carry the descriptor as a plain int
  // and own it again on the loop (tasks always run, even during shutdown).
  int raw = fd.release();
  socket_address peer_copy = peer;
  loops.loop(index).run_in_loop([this, index, raw, id, peer_copy] {
    unique_fd owned(raw);
    if (stopping.load(std::memory_order_acquire)) {
      loops.add_load(index, -1);
      connection_gone();
      return;
    }
    auto& state = states[index];
    auto c = std::make_shared<detail::connection_impl>(state.owner, std::move(owned), id, peer_copy,
                                                       handler);
    // A loop holds far fewer than 2^32 connections (one descriptor each).
    c->set_owner_slot(static_cast<uint32_t>(state.connections.size()));
    state.connections.push_back(c);
    c->start();
  });
}

void tcp_server::impl::on_closed(size_t loop_index, detail::connection_impl& c) {
  auto& table = states[loop_index].connections;
  const uint32_t slot = c.owner_slot();
  if (slot != table.size() - 1) {
    table[slot] = std::move(table.back());
    detail::impl_of(*table[slot]).set_owner_slot(slot);
  }
  table.pop_back();  // the caller keeps `c` alive through this
  loops.add_load(loop_index, -1);
  connection_gone();
}

void tcp_server::impl::connection_gone() {
  // seq_cst, paired with the loops' shutdown tasks: of a last close and a
  // last loop done accepting that race, at least one sees the other.
  if (open.fetch_sub(1) == 1 && loops_accepting.load() == 0) all_closed();
}

void tcp_server::impl::all_closed() {
  {
    std::lock_guard lock(mutex);
    drained = true;
    changed.notify_all();
  }
  if (run_mode) loops.loop(0).queue_in_loop([this] { loops.loop(0).quit(); });
}

bool tcp_server::impl::on_own_thread() {
  bool own = control->in_loop_thread();
  for (size_t i = 0; i < loops.size(); ++i)
    own |= loops.loop(i).in_loop_thread();
  return own;
}

void tcp_server::impl::close_loop(size_t i, bool hard) {
  std::vector<connection_ptr> all;
  all.reserve(states[i].connections.size());
  for (auto& c : states[i].connections)
    all.push_back(c);
  for (auto& c : all)
    hard ? c->abort() : detail::impl_of(*c).close(close_reason::server_stopping);
}

void tcp_server::impl::begin_shutdown() {
  if (stopping.exchange(true, std::memory_order_acq_rel)) return;
  // Through the control loop: the single acceptor (if any) is gone before
  // the loops are told to close, so the hand-offs it made are queued ahead
  // of the close. Each loop then stops accepting and closes what it has;
  // after the last one, nothing more is counted in `open`.
  control->queue_in_loop([this] {
    acceptor.reset();
    metrics_endpoint.reset();
    control->run_after(opts.stop_timeout, [this] {
      if (open.load() == 0) return;
      detail::log().warn("stop: {} connections still open after {} ms; resetting them", open.load(),
                         opts.stop_timeout.count());
      for (size_t i = 0; i < loops.size(); ++i)
        loops.loop(i).queue_in_loop([this, i] { close_loop(i, true); });
    });
    // Stop accepting, then close every connection gracefully: flush,
    // half-close, wait for the peer's FIN.
    for (size_t i = 0; i < loops.size(); ++i) {
      loops.loop(i).queue_in_loop([this, i] {
        states[i].acceptor.reset();
        close_loop(i, false);
        if (loops_accepting.fetch_sub(1) == 1 && open.load() == 0) all_closed();
      });
    }
  });
}

void tcp_server::impl::stop() {
  // seq_cst with run(): a stop() racing its start-up is seen by one side.
  stop_requested.store(true);
  if (!started.load()) return;
  const bool own = on_own_thread();
  if (run_mode) {
    begin_shutdown();
    if (own) return;  // run() returns once the shutdown is complete
    std::unique_lock lock(mutex);
    changed.wait(lock, [this] { return finished; });
    return;
  }
  // stop() waits for the loops: from one of them it would wait for itself.
  if (own) throw std::logic_error("tcp_server::stop() called from one of the server's own threads");
  // A second stop() finds the shutdown begun, the server drained and the
  // threads joined: each step below is then a no-op.
  begin_shutdown();
  {
    std::unique_lock lock(mutex);
    changed.wait(lock, [this] { return drained; });
  }
  loops.stop();
  stop_control_thread();
}

tcp_server::tcp_server(tcp_server_options opts, tcp_handler& handler)
    : impl_(std::make_unique<impl>(std::move(opts), handler)) {}

tcp_server::~tcp_server() {
  stop();
}

void tcp_server::start() {
  if (impl_->started.load()) return;
  impl_->start();
}

void tcp_server::run() {
  if (impl_->started.load()) throw std::logic_error("tcp_server::run(): already started");
  impl_->run();
}

void tcp_server::stop() {
  impl_->stop();
}

socket_address tcp_server::local_address() const {
  if (!impl_->bound_published.load(std::memory_order_acquire)) return {};
  return impl_->bound;
}

size_t tcp_server::connection_count() const {
  return impl_->open.load();
}

std::string tcp_server::impl::scrape() {
  metrics::exposition out;
  if (opts.metrics.registry) opts.metrics.registry->collect(out);
  metrics::write_server_stats(out, stats(), opts.metrics.name);
  return out.text();
}

socket_address tcp_server::metrics_address() const {
  if (!impl_->bound_published.load(std::memory_order_acquire)) return {};
  return impl_->metrics_bound;
}

server_stats tcp_server::impl::stats() {
  server_stats s;
  s.loops.reserve(states.size());
  for (size_t i = 0; i < states.size(); ++i)
    s.loops.push_back({loops.loop(i).stats(), states[i].owner->stats.snapshot()});
  s.refused_at_limit = refused_at_limit.load(std::memory_order_relaxed);
  s.accept_resource_errors = accept_resource_errors.load(std::memory_order_relaxed);
  return s;
}

server_stats tcp_server::stats() const {
  return impl_->stats();
}

timer_id tcp_server::run_every(clock::duration interval, std::function<void()> fn) {
  return impl_->control->run_every(interval, std::move(fn));
}

timer_id tcp_server::run_after(clock::duration delay, std::function<void()> fn) {
  return impl_->control->run_after(delay, std::move(fn));
}

void tcp_server::cancel(timer_id id) {
  impl_->control->cancel(id);
}

loop_group& tcp_server::loops() {
  return impl_->loops;
}

}  // namespace fastnet
