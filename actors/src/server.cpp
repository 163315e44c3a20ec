#include "fastnet/actors/server.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <any>
#include <atomic>
#include <cstring>

#include <caf/all.hpp>

#include "bridge.hpp"

namespace fastnet::actors {
namespace {

using detail::link;

/// The behavior around the user's: fastnet's internal messages go through
/// the default handler so that they survive any become() the user makes.
caf::behavior connection_actor(caf::event_based_actor* self, std::shared_ptr<detail::inbox> in,
                               connection_handle conn,
                               std::shared_ptr<const connection_behavior> user,
                               bool quit_on_close) {
  self->set_default_handler(
      [side = detail::actor_side{std::move(in), conn}, quit_on_close](
          caf::scheduled_actor* s, caf::message_view& mv) mutable -> caf::result<caf::message> {
        if (detail::handle_bridge_message(s, mv.content(), side, [&] {
              if (quit_on_close) s->quit();
            }))
          return caf::message{};
        return caf::drop(s, mv);  // CAF's own policy (logs and replies with an error)
      });
  // The connection ends with its actor, whatever ended the actor.
  self->attach_functor([conn](const caf::error&) { conn.close(); });
  return (*user)(self, conn);
}

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
    net = std::make_unique<fastnet::tcp_server>(opts.net, *this);
    if (opts.run_on_loops) {
      for (size_t i = 0; i < net->loops().size(); ++i)
        executors.push_back(std::make_unique<detail::loop_executor>(sys, net->loops().loop(i)));
    }
  }

  /// The executor of the loop `c` belongs to (null when actors run on CAF
  /// workers only). Loop thread only.
  detail::loop_executor* executor_of(const connection_ptr& c) {
    for (size_t i = 0; i < executors.size(); ++i)
      if (&net->loops().loop(i) == &c->loop()) return executors[i].get();
    return nullptr;
  }

  // ---- reactor callbacks, on the connection's loop thread ----

  void on_connect(const connection_ptr& c) override {
    auto in = std::make_shared<detail::inbox>(opts.max_inbound_frames, opts.max_inbound_bytes);
    connection_handle handle(c);
    auto* exec = executor_of(c);
    // Lazily initialized when woken through the loop's executor: the
    // behavior is then built on this loop thread, not on a CAF worker.
    caf::actor a =
        exec != nullptr
            ? sys.spawn<caf::lazy_init>(connection_actor, in, handle, behavior, opts.quit_on_close)
            : sys.spawn(connection_actor, in, handle, behavior, opts.quit_on_close);
    link l{std::move(in), std::move(a), exec};
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
  std::unique_ptr<fastnet::tcp_server> net;
  // One per loop, used only by that loop's thread. Destroyed before `net`:
  // stop() has run the loops' deferred work by then.
  std::vector<std::unique_ptr<detail::loop_executor>> executors;
  unique_fd stop_fd{::eventfd(0, EFD_CLOEXEC)};
  std::atomic<bool> started{false};  // stop() may come from another thread while run() serves
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
  if (impl_->started) return;
  if (!impl_->behavior || !*impl_->behavior)
    throw std::logic_error("fastnet::actors::server: no connection behavior");
  impl_->net->start();
  impl_->started = true;
}

void server::run() {
  start();
  // stop() rings stop_fd once it has stopped the server.
  uint64_t value = 0;
  while (::read(impl_->stop_fd.get(), &value, sizeof value) < 0 && errno == EINTR) {
  }
}

void server::stop() {
  if (!impl_->started.exchange(false)) return;
  impl_->net->stop();
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

}  // namespace fastnet::actors
