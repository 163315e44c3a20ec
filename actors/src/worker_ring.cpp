#include "fastnet/actors/worker_ring.hpp"

#include <algorithm>
#include <set>
#include <tuple>
#include <utility>

#include <caf/all.hpp>
#include <caf/io/middleman.hpp>

#include <fastnet/hash_ring.hpp>

namespace fastnet::actors {

namespace {

/// (retry_atom, size_t index): time to try worker `index` again. Ring -> itself.
using retry_atom = caf::atom_constant<caf::atom("fn_retry")>;

/// One configured worker as the ring sees it.
struct member {
  endpoint where;
  std::string name;                   // where.to_string(), kept for replies
  caf::actor handle;                  // invalid while down
  bool connecting = false;            // a connect request is in flight
  bool tried = false;                 // the first attempt has ended
  std::chrono::milliseconds backoff;  // wait before the next attempt
};

/// The ring actor's state; only the ring actor touches it.
struct ring_state {
  worker_ring_options opts;
  std::vector<member> members;
  hash_ring all{160};   // every configured worker: ownership under ring_policy::fail
  hash_ring live{160};  // the workers up: ownership under ring_policy::reroute
  std::vector<caf::response_promise>
      waiting_ready;  // ready_atom asked before the first round ended

  size_t up() const {
    return static_cast<size_t>(
        std::count_if(members.begin(), members.end(), [](const member& m) { return !!m.handle; }));
  }
  bool first_round_done() const {
    return std::all_of(members.begin(), members.end(), [](const member& m) { return m.tried; });
  }
};

using ring_actor = caf::stateful_actor<ring_state>;

void connect(ring_actor* self, size_t index);

/// Worker `index` is unreachable for now: try again after its back-off, and
/// double the back-off (bounded) for the time after.
void schedule_retry(ring_actor* self, size_t index) {
  auto& m = self->state.members[index];
  self->delayed_send(self, m.backoff, retry_atom::value, index);
  m.backoff = std::min(m.backoff * 2, self->state.opts.retry_max);
}

/// The first attempt to `index` has ended: answer ready_atom once all have.
void attempt_ended(ring_actor* self, size_t index) {
  auto& st = self->state;
  st.members[index].tried = true;
  if (!st.first_round_done()) return;
  for (auto& rp : st.waiting_ready)
    rp.deliver(st.up());
  st.waiting_ready.clear();
}

void connect(ring_actor* self, size_t index) {
  auto& m = self->state.members[index];
  if (m.connecting || m.handle) return;
  m.connecting = true;
  // The middleman actor's connect is remote_actor without blocking the caller.
  auto mm = self->state.opts.middleman ? self->state.opts.middleman
                                       : self->home_system().middleman().actor_handle();
  self->request(mm, self->state.opts.connect_timeout, caf::connect_atom::value, m.where.host,
                m.where.port)
      .then(
          [self, index](const caf::node_id&, caf::strong_actor_ptr& ptr,
                        const std::set<std::string>&) {
            auto& st = self->state;
            auto& m = st.members[index];
            m.connecting = false;
            if (!ptr) {  // the port is open but nothing is published there
              schedule_retry(self, index);
              return attempt_ended(self, index);
            }
            m.handle = caf::actor_cast<caf::actor>(std::move(ptr));
            m.backoff = st.opts.retry_min;
            self->monitor(m.handle);
            st.live.add(index);
            if (st.opts.on_change) st.opts.on_change(index, true);
            attempt_ended(self, index);
          },
          [self, index](caf::error&) {
            self->state.members[index].connecting = false;
            schedule_retry(self, index);
            attempt_ended(self, index);
          });
}

caf::behavior ring_behavior(ring_actor* self, worker_ring_options opts) {
  auto& st = self->state;
  st.all = hash_ring(opts.replicas);
  st.live = hash_ring(opts.replicas);
  for (size_t i = 0; i < opts.workers.size(); ++i) {
    st.members.push_back(
        member{opts.workers[i], opts.workers[i].to_string(), {}, false, false, opts.retry_min});
    st.all.add(i);
  }
  st.opts = std::move(opts);
  // A worker ended, or its node was lost (connection closed, or silent past
  // middleman.connection-timeout): it is down until a reconnect succeeds.
  self->set_down_handler([self](caf::down_msg& down) {
    auto& st = self->state;
    for (size_t i = 0; i < st.members.size(); ++i) {
      auto& m = st.members[i];
      if (m.handle && m.handle.address() == down.source) {
        m.handle = nullptr;
        st.live.remove(i);
        if (st.opts.on_change) st.opts.on_change(i, false);
        schedule_retry(self, i);
      }
    }
  });
  for (size_t i = 0; i < st.members.size(); ++i)
    connect(self, i);
  return {
      [self](route_atom, const std::string& key) -> caf::result<caf::actor, std::string> {
        auto& st = self->state;
        const auto& ring = st.opts.policy == ring_policy::fail ? st.all : st.live;
        auto owner = ring.node_for(key);
        if (!owner) return {caf::actor{}, std::string{}};
        const auto& m = st.members[*owner];
        return {m.handle, m.name};
      },
      [self](members_atom) -> caf::result<std::vector<std::string>, std::vector<caf::actor>> {
        std::vector<std::string> names;
        std::vector<caf::actor> handles;
        for (const auto& m : self->state.members) {
          names.push_back(m.name);
          handles.push_back(m.handle);
        }
        return {std::move(names), std::move(handles)};
      },
      [self](ready_atom) -> caf::result<size_t> {
        auto& st = self->state;
        if (st.first_round_done()) return st.up();
        auto rp = self->make_response_promise<size_t>();
        st.waiting_ready.push_back(rp);
        return rp;
      },
      [self](retry_atom, size_t index) { connect(self, index); },
  };
}

}  // namespace

caf::actor spawn_worker_ring(caf::actor_system& sys, worker_ring_options opts) {
  return sys.spawn(ring_behavior, std::move(opts));
}

worker_ring::worker_ring(caf::actor_system& sys, worker_ring_options opts)
    : sys_(&sys), actor_(spawn_worker_ring(sys, std::move(opts))) {}

size_t worker_ring::wait_ready(std::chrono::milliseconds timeout) {
  caf::scoped_actor self{*sys_};
  size_t up = 0;
  self->request(actor_, timeout, ready_atom::value)
      .receive([&](size_t n) { up = n; }, [](caf::error&) {});
  return up;
}

void worker_ring::stop() {
  if (!actor_) return;
  caf::scoped_actor self{*sys_};
  self->send_exit(actor_, caf::exit_reason::user_shutdown);
  self->wait_for(actor_);
  actor_ = nullptr;
}

}  // namespace fastnet::actors
