#include "fastnet/actors/server.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <any>
#include <atomic>
#include <cstring>
#include <mutex>

#include <caf/all.hpp>

#include <fastnet/actors/metrics.hpp>
#include <fastnet/metrics/registry.hpp>

#include "bridge.hpp"

namespace fastnet::actors {
namespace {

/// What the connection actors of one server loop share: the user's
/// behavior, the inbound budget, what happens on close, the loop's
/// executor and the loop's counters. Counted with CAF's intrusive count (8
/// bytes in each actor) because an actor may outlive its server.
struct loop_config final : caf::ref_counted {
  std::shared_ptr<const connection_behavior> behavior;
  detail::inbound_budget budget;
  bool quit_on_close = true;
  // Null: actors are woken through CAF's scheduler. Dereferenced by the
  // loop's side only, which stops with the connections before the executor
  // goes; the actors only compare it with the unit running them.
  detail::loop_executor* exec = nullptr;
  // The server's, one per loop, made with the server: stats() reads them
  // from any thread, and they outlive a restart's new configs.
  caf::intrusive_ptr<detail::actor_counters> counters;
};

/// One connection's actor: the user's behavior, plus the inbox its loop
/// fills, inside the actor's own allocation. fastnet's internal messages go
/// through the default handler, so they survive any become() the user makes.
/// Thread safety: in_ as inbox says; the rest is the actor's own.
class connection_actor final : public caf::event_based_actor {
 public:
  connection_actor(caf::actor_config& cfg, connection_handle conn,
                   caf::intrusive_ptr<const loop_config> config)
      : caf::event_based_actor(cfg), conn_(std::move(conn)), config_(std::move(config)) {
    // Captures nothing: std::function keeps it without an allocation.
    set_default_handler(
        [](caf::scheduled_actor* s, caf::message_view& mv) -> caf::result<caf::message> {
          auto& self = static_cast<connection_actor&>(*s);
          if (detail::handle_bridge_message(s, mv.content(), self, [&] {
                if (self.config_->quit_on_close) s->quit();
              }))
            return caf::message{};
          return caf::drop(s, mv);  // CAF's own policy (logs and replies with an error)
        });
  }

  /// Frames handed and never handled are counted dropped when the actor
  /// goes; by then its loop has let go of it (the link holds a strong
  /// reference), so nothing pushes any more.
  ~connection_actor() override {
    if (const size_t n = in_.frames(); n > 0) config_->counters->dropped(n);
  }

  caf::behavior make_behavior() override { return (*config_->behavior)(this, conn_); }

  /// The connection ends with its actor, whatever ended the actor.
  void on_exit() override { conn_.close(); }

  /// Counts each run, on the loop (woken through its executor) or on a worker.
  resume_result resume(caf::execution_unit* ctx, size_t max_throughput) override {
    config_->counters->ran(runs_on_loop(ctx));
    return caf::event_based_actor::resume(ctx, max_throughput);
  }

  // ---- the bridge: the loop's side (on the connection's loop thread) ----
  detail::inbox& loop_inbox() { return in_; }
  const loop_config& config() const { return *config_; }

  // ---- the bridge: the actor's side (handle_bridge_message's Side) ----
  detail::inbox* inbox() { return conn_ ? &in_ : nullptr; }
  const detail::inbound_budget& budget() const { return config_->budget; }
  const connection_handle& conn() const { return conn_; }
  detail::actor_counters& counters() const { return *config_->counters; }
  /// True when `s` (this actor) runs on its loop's executor, hence on the
  /// loop thread that owns the loop part of the counters.
  bool on_loop(caf::scheduled_actor* s) const { return runs_on_loop(s->context()); }
  void down() { conn_ = connection_handle{}; }

 private:
  bool runs_on_loop(caf::execution_unit* ctx) const {
    return config_->exec != nullptr && ctx == config_->exec;
  }

  detail::inbox in_;
  connection_handle conn_;  // empty once the connection is down
  caf::intrusive_ptr<const loop_config> config_;
};

/// The loop's side of one connection's bridge, kept in connection::context():
/// a strong reference to the actor, 8 bytes, so std::any holds it in place.
/// Thread safety: the connection's loop thread only.
struct link {
  caf::actor actor;

  connection_actor& self() const {
    return static_cast<connection_actor&>(*caf::actor_cast<caf::abstract_actor*>(actor));
  }
  template <typename... Ts>
  void notify(Ts&&... xs) const {
    detail::notify(self().config().exec, actor, std::forward<Ts>(xs)...);
  }
  void on_message(connection& c, std::span<const std::byte> frame) const {
    // Pausing may close the connection inside hand_over() and drop this
    // link, the actor's last reference: hold one until the wake is sent.
    caf::actor keep = actor;
    auto& a = self();
    if (detail::hand_over(a.loop_inbox(), a.config().budget, c, frame, *a.config().counters))
      detail::notify(a.config().exec, keep, detail::wake_atom::value);
  }
  /// The peer finished: the actor replies to what came before, then closes
  /// (by default right after; a user who handles `peer_closed` decides).
  /// The connection waits for that, bounded by peer_close_linger.
  bool on_peer_eof() const {
    notify(detail::eof_atom::value);
    return false;
  }
};

}  // namespace

struct server::impl final : fastnet::tcp_handler {
  impl(caf::actor_system& s, server_options o) : sys(s), opts(std::move(o)) {
    auto& c = opts.net.connection;
    switch (opts.output) {
      case output_policy::notify:
        c.pause_reading_on_high_water = false;
        break;
      case output_policy::pause_reading:
        c.pause_reading_on_high_water = true;
        break;
      case output_policy::disconnect:
        c.pause_reading_on_high_water = false;
        c.max_output_bytes = std::min(c.max_output_bytes, c.high_water_mark);
        break;
    }
    // The /metrics endpoint, if any, adds the actors' families: its
    // registry becomes one that holds the user's (collected first) and this
    // server's actor statistics, so the user's registry is left as it was.
    if (opts.net.metrics.address) {
      auto wrapped = std::make_shared<metrics::registry>();
      wrapped->add_collector([this, user = opts.net.metrics.registry,
                              name = opts.net.metrics.name](metrics::exposition& out) {
        if (user) user->collect(out);
        metrics::write_actor_stats(out, stats(), name);
      });
      opts.net.metrics.registry = std::move(wrapped);
    }
    net = std::make_unique<fastnet::tcp_server>(opts.net, *this);
    for (size_t i = 0; i < net->loops().size(); ++i)
      counters.push_back(caf::make_counted<detail::actor_counters>());
    if (opts.run_on_loops) {
      for (size_t i = 0; i < net->loops().size(); ++i)
        executors.push_back(std::make_unique<detail::loop_executor>(sys, net->loops().loop(i)));
    }
  }

  /// Before start(): one config per loop, sharing the behavior.
  void make_configs() {
    configs.clear();
    for (size_t i = 0; i < net->loops().size(); ++i) {
      auto cfg = caf::make_counted<loop_config>();
      cfg->behavior = behavior;
      cfg->budget = {opts.max_inbound_frames, opts.max_inbound_bytes};
      cfg->quit_on_close = opts.quit_on_close;
      cfg->exec = executors.empty() ? nullptr : executors[i].get();
      cfg->counters = counters[i];
      configs.emplace_back(std::move(cfg));
    }
  }

  /// The config of the loop `c` belongs to. Loop thread only.
  const caf::intrusive_ptr<const loop_config>& config_of(const connection_ptr& c) const {
    for (size_t i = 0; i + 1 < configs.size(); ++i)
      if (&net->loops().loop(i) == &c->loop()) return configs[i];
    return configs.back();
  }

  /// Every loop's actor counters now. Any thread.
  server_actor_stats stats() const {
    server_actor_stats s;
    s.loops.reserve(counters.size());
    for (const auto& c : counters)
      s.loops.push_back(c->snapshot());
    return s;
  }

  // ---- reactor callbacks, on the connection's loop thread ----

  void on_connect(const connection_ptr& c) override {
    const auto& cfg = config_of(c);
    connection_handle handle(c);
    // Lazily initialized when woken through the loop's executor: the
    // behavior is then built on this loop thread, not on a CAF worker.
    caf::actor a = cfg->exec != nullptr ? sys.spawn<connection_actor, caf::lazy_init>(handle, cfg)
                                        : sys.spawn<connection_actor>(handle, cfg);
    link l{std::move(a)};
    l.notify(connected_atom::value, c->id(), c->peer_address().to_string());
    c->context() = std::move(l);
  }

  void on_message(const connection_ptr& c, std::span<const std::byte> frame) override {
    if (auto* l = std::any_cast<link>(&c->context())) l->on_message(*c, frame);
  }

  bool on_peer_eof(const connection_ptr& c) override {
    auto* l = std::any_cast<link>(&c->context());
    return l == nullptr || l->on_peer_eof();
  }

  void on_high_water(const connection_ptr& c, size_t queued) override {
    if (auto* l = std::any_cast<link>(&c->context())) l->notify(write_blocked_atom::value, queued);
    if (opts.output == output_policy::disconnect) c->abort();
  }

  void on_low_water(const connection_ptr& c, size_t queued) override {
    if (auto* l = std::any_cast<link>(&c->context())) l->notify(write_resumed_atom::value, queued);
  }

  void on_close(const connection_ptr& c, close_reason why) override {
    auto* l = std::any_cast<link>(&c->context());
    if (l == nullptr) return;
    l->notify(detail::down_atom::value, why);
    // Break the cycle connection -> link -> actor -> handle -> connection.
    c->context().reset();
  }

  caf::actor_system& sys;
  server_options opts;
  // Shared with every connection actor: an actor may outlive the server.
  std::shared_ptr<const connection_behavior> behavior;
  // One per loop, made with `net` and never changed (stats() reads them
  // from any thread); declared before `net`, so they outlive the
  // endpoint's collector, which reads them.
  std::vector<caf::intrusive_ptr<detail::actor_counters>> counters;
  std::unique_ptr<fastnet::tcp_server> net;
  // One per loop, used only by that loop's thread. Destroyed before `net`:
  // stop() has run the loops' deferred work by then.
  std::vector<std::unique_ptr<detail::loop_executor>> executors;
  std::vector<caf::intrusive_ptr<const loop_config>> configs;  // one per loop (make_configs)
  unique_fd stop_fd{::eventfd(0, EFD_CLOEXEC)};
  std::mutex control;    // start() and stop() may run on two threads while run() serves
  bool started = false;  // guarded by control
};

server::server(caf::actor_system& sys, server_options opts)
    : impl_(std::make_unique<impl>(sys, std::move(opts))) {}

server::~server() {
  stop();
}

void server::spawn_per_connection(connection_behavior behavior) {
  impl_->behavior = std::make_shared<const connection_behavior>(std::move(behavior));
}

void server::start() {
  std::lock_guard lock(impl_->control);
  if (impl_->started) return;
  if (!impl_->behavior || !*impl_->behavior)
    throw std::logic_error("fastnet::actors::server: no connection behavior");
  impl_->make_configs();
  impl_->net->start();
  impl_->started = true;
}

void server::run() {
  start();
  // stop() rings stop_fd; one that came before (even before start())
  // makes this return at once, and the server is stopped either way.
  uint64_t value = 0;
  while (::read(impl_->stop_fd.get(), &value, sizeof value) < 0 && errno == EINTR) {
  }
  stop();
}

void server::stop() {
  {
    // Serialized with start(): a stop() racing with run()'s start() waits
    // for it to finish, then stops what it started.
    std::lock_guard lock(impl_->control);
    if (impl_->started) {
      impl_->started = false;
      impl_->net->stop();
    }
  }
  uint64_t one = 1;  // wake a run() blocked on another thread
  (void)!::write(impl_->stop_fd.get(), &one, sizeof one);
}

socket_address server::local_address() const {
  return impl_->net->local_address();
}
size_t server::connection_count() const {
  return impl_->net->connection_count();
}
fastnet::tcp_server& server::reactor() {
  return *impl_->net;
}
const fastnet::tcp_server& server::reactor() const {
  return *impl_->net;
}
server_actor_stats server::stats() const {
  return impl_->stats();
}

}  // namespace fastnet::actors
