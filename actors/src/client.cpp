#include "fastnet/actors/client.hpp"

#include <algorithm>
#include <any>
#include <atomic>
#include <utility>
#include <vector>

#include <caf/all.hpp>

#include "bridge.hpp"
#include "fastnet/actors/connection_handle.hpp"

// The up message hands the actor the new connection's inbox.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<fastnet::actors::detail::inbox>)

namespace fastnet::actors {
namespace {

// Internal: a connection came up; its frames will wait in the inbox it brings.
using up_atom = caf::atom_constant<caf::atom("fn_cup")>;

}  // namespace

namespace {

/// The actor's side of the connection that is up, if any, and its frames
/// (handle_bridge_message's Side). Actor thread only (`count` is set
/// before the actor starts and never changes).
struct actor_side {
  std::shared_ptr<detail::inbox> in;
  connection_handle handle;
  detail::inbound_budget limits;
  caf::intrusive_ptr<detail::actor_counters> count;

  detail::inbox* inbox() { return in.get(); }
  const detail::inbound_budget& budget() const { return limits; }
  const connection_handle& conn() const { return handle; }
  detail::actor_counters& counters() const { return *count; }
  /// A client has no loop executor: its actor always runs on CAF's workers.
  static bool on_loop(caf::scheduled_actor*) { return false; }
  void down() {
    in.reset();
    handle = connection_handle{};
  }
};

/// One connection's inbox, which counts the frames no drain delivered
/// (dropped) when both sides have let go of it. Thread safety: as inbox.
struct counted_inbox final : detail::inbox {
  explicit counted_inbox(caf::intrusive_ptr<detail::actor_counters> c) : counters(std::move(c)) {}
  ~counted_inbox() {
    if (const size_t n = frames(); n > 0) counters->dropped(n);
  }
  counted_inbox(const counted_inbox&) = delete;
  counted_inbox& operator=(const counted_inbox&) = delete;
  caf::intrusive_ptr<detail::actor_counters> counters;
};

/// The loop's side of one connection, kept in connection::context().
/// Loop thread only.
struct link {
  std::shared_ptr<detail::inbox> in;
  caf::actor actor;
};

}  // namespace

/// The actor-side state behind a client_handle (actor thread only), plus the
/// flag the loop reads to stop once the actor is gone.
struct client_handle::state {
  actor_side side;  // the connection that is up, if any, and its frames
  std::vector<std::string> pending;
  size_t pending_bytes = 0;
  size_t max_pending = 0;
  std::atomic<bool> actor_gone{false};
};

bool client_handle::send(std::string frame) const {
  if (s_->side.handle.connected() && s_->side.handle.send(std::move(frame))) return true;
  // Not connected (or the connection is going down): keep it, in order, for
  // the next connect. A failed send above leaves `frame` intact.
  if (s_->pending_bytes + frame.size() > s_->max_pending) return false;
  s_->pending_bytes += frame.size();
  s_->pending.push_back(std::move(frame));
  return true;
}

bool client_handle::connected() const {
  return s_->side.handle.connected();
}

void client_handle::close() const {
  s_->side.handle.close();
}

size_t client_handle::pending_bytes() const {
  return s_->pending_bytes;
}

namespace {

/// The client actor: fastnet's internal messages go through the default
/// handler (so they survive the user's become()), the user's behavior gets
/// connected / received / closed. Each connection has its own inbox: the
/// loop sends a connection's wakes after its up and before its down, so the
/// down drains the last of its frames before `closed` is delivered.
/// A class rather than a function so that its runs can be counted.
class client_actor final : public caf::event_based_actor {
 public:
  client_actor(caf::actor_config& cfg, std::shared_ptr<client_handle::state> st,
               std::shared_ptr<const client_behavior> user)
      : caf::event_based_actor(cfg), st_(std::move(st)), user_(std::move(user)) {}

  caf::behavior make_behavior() override;

  /// Counts each run (always on a CAF worker).
  resume_result resume(caf::execution_unit* ctx, size_t max_throughput) override {
    st_->side.counters().ran(false);
    return caf::event_based_actor::resume(ctx, max_throughput);
  }

 private:
  std::shared_ptr<client_handle::state> st_;
  std::shared_ptr<const client_behavior> user_;
};

caf::behavior client_actor::make_behavior() {
  set_default_handler(
      [st = st_](caf::scheduled_actor* s, caf::message_view& mv) -> caf::result<caf::message> {
        auto& content = mv.content();
        if (content.match_elements<up_atom, connection_handle, uint64_t, std::string,
                                   std::shared_ptr<detail::inbox>>()) {
          st->side.handle = content.get_as<connection_handle>(1);
          st->side.in = content.get_as<std::shared_ptr<detail::inbox>>(4);
          if (!st->pending.empty()) {
            st->side.handle.send_all(std::exchange(st->pending, {}));
            st->pending_bytes = 0;
          }
          detail::deliver(s, caf::make_message(connected_atom::value, content.get_as<uint64_t>(2),
                                               content.get_as<std::string>(3)));
          return caf::message{};
        }
        if (detail::handle_bridge_message(s, content, st->side, [] {})) return caf::message{};
        return caf::drop(s, mv);
      });
  return (*user_)(this, client_handle(st_));
}

}  // namespace

struct client::impl final : tcp_handler {
  impl(caf::actor_system& sys, event_loop& loop, client_options o, client_behavior behavior)
      : opts(std::move(o)), st(std::make_shared<client_handle::state>()) {
    st->max_pending = opts.max_pending_bytes;
    st->side.limits = budget;
    st->side.count = counters;
    opts.net.reconnect = true;
    opts.net.max_attempts = 0;
    auto user = std::make_shared<const client_behavior>(std::move(behavior));
    actor = sys.spawn<client_actor>(st, user);
    tcp = std::make_unique<tcp_client>(loop, opts.net, *this);
    // The connection ends with the actor, whatever ended it: the current one
    // closes here (on the actor's thread, which owns st->conn) and the loop
    // stops the client at its next callback.
    actor->attach_functor([st = st](const caf::error&) {
      st->actor_gone = true;
      st->side.handle.close();
    });
    tcp->connect();
  }

  /// Loop thread: true (and the client stopped) once the actor is gone.
  bool stop_if_actor_gone() {
    if (!st->actor_gone.load()) return false;
    tcp->disconnect();
    return true;
  }

  // ---- reactor callbacks, on the loop thread ----

  void on_connect(const connection_ptr& c) override {
    if (stop_if_actor_gone()) return;
    std::shared_ptr<detail::inbox> in = std::make_shared<counted_inbox>(counters);
    caf::anon_send(actor, up_atom::value, connection_handle(c), c->id(),
                   c->peer_address().to_string(), in);
    c->context() = link{std::move(in), actor};
  }

  void on_message(const connection_ptr& c, std::span<const std::byte> frame) override {
    if (stop_if_actor_gone()) return;
    auto* l = std::any_cast<link>(&c->context());
    if (l == nullptr) return;
    // Pausing may close the connection inside hand_over(), and drop the link.
    auto keep = l->in;
    if (detail::hand_over(*keep, budget, *c, frame, *counters))
      caf::anon_send(actor, detail::wake_atom::value);
  }

  bool on_peer_eof(const connection_ptr& c) override {
    if (std::any_cast<link>(&c->context()) == nullptr) return true;
    // The actor replies to what came before, then closes (by default right
    // after; a user who handles `peer_closed` decides), bounded by
    // peer_close_linger.
    caf::anon_send(actor, detail::eof_atom::value);
    return false;
  }

  void on_high_water(const connection_ptr&, size_t queued) override {
    caf::anon_send(actor, write_blocked_atom::value, queued);
  }

  void on_low_water(const connection_ptr&, size_t queued) override {
    caf::anon_send(actor, write_resumed_atom::value, queued);
  }

  void on_close(const connection_ptr& c, close_reason why) override {
    caf::anon_send(actor, detail::down_atom::value, why);
    c->context().reset();
  }

  client_options opts;
  // Both sides read it: the loop to pause, the actor (a copy in st) to resume.
  detail::inbound_budget budget{std::max<size_t>(opts.max_inbound_frames, 1),
                                std::max<size_t>(opts.max_inbound_bytes, 1)};
  // The loop's part is written on `loop`, the actor's from CAF's workers.
  caf::intrusive_ptr<detail::actor_counters> counters = caf::make_counted<detail::actor_counters>();
  std::shared_ptr<client_handle::state> st;
  caf::actor actor;
  std::unique_ptr<tcp_client> tcp;
};

client::client(caf::actor_system& sys, event_loop& loop, client_options opts,
               client_behavior behavior)
    : impl_(std::make_unique<impl>(sys, loop, std::move(opts), std::move(behavior))) {}

client::~client() {
  caf::anon_send_exit(impl_->actor, caf::exit_reason::user_shutdown);
  // Closes the connection at once and waits for the loop to let go of the
  // handler (impl), which is destroyed right after.
  impl_->tcp.reset();
}

const caf::actor& client::actor() const {
  return impl_->actor;
}

actor_stats client::stats() const {
  return impl_->counters->snapshot();
}

const fastnet::tcp_client& client::reactor() const {
  return *impl_->tcp;
}

}  // namespace fastnet::actors
