// fastnet::actors — the bridge between a connection's loop and its actor,
// shared by server connections and client connections.
#pragma once

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/behavior.hpp>
#include <caf/message.hpp>
#include <caf/scheduled_actor.hpp>
#include <caf/send.hpp>

#include <memory>
#include <span>
#include <string>
#include <utility>

#include <fastnet/actors/connection_handle.hpp>
#include <fastnet/actors/messages.hpp>

#include "actor_counters.hpp"
#include "caf_internals.hpp"
#include "inbox.hpp"
#include "loop_executor.hpp"

namespace fastnet::actors::detail {

// fastnet's own messages to a connection actor. They go through the actor's
// default handler, so they survive any become() the user makes.
/// Frames are waiting in the inbox (one per batch).
using wake_atom = caf::atom_constant<caf::atom("fn_wake")>;
/// The peer finished: handle what is queued, then tell the user.
using eof_atom = caf::atom_constant<caf::atom("fn_eof")>;
/// The connection closed (close_reason): handle what is queued, then `closed`.
using down_atom = caf::atom_constant<caf::atom("fn_down")>;

/// Hands one message to the actor's current behavior synchronously (no
/// mailbox round trip): this is how a batch of frames becomes a series of
/// `received` messages for the price of one scheduling. Returns false when
/// no handler matched (or the actor has no behavior left).
inline bool deliver(caf::scheduled_actor* self, caf::message msg) {
  return apply_behavior(self, msg);
}

/// Actor: delivers what the inbox holds to the actor's behavior, oldest
/// first (`received`, or `message` with the codec's kind), then gives the
/// budget back: reading resumes once the actor is down to half of it. Stops
/// early when the actor has no behavior left (the frames not delivered are
/// dropped: the actor is going away, and its connection with it). Each
/// frame is counted handled, with its wait, as its delivery begins;
/// `on_loop`: the actor runs on its connection's loop thread (see
/// actor_counters).
inline void drain(caf::scheduled_actor* self, inbox& in, const inbound_budget& budget,
                  const connection_handle& conn, actor_counters& counters, bool on_loop) {
  /// Gives a frame back to the budget after its delivery, also when the
  /// handler throws: a frame neither done nor delivered is counted dropped
  /// when the actor goes, and this one was counted handled already.
  struct frame_done {
    inbox& in;
    size_t n;
    ~frame_done() { in.done(n); }
  };
  in.begin_drain();
  bool stopped = false;
  for (auto batch = in.take(); !stopped && !batch.empty(); batch = in.take()) {
    while (auto node = batch.pop()) {
      counters.handling(node->arrived_ns, on_loop);
      {
        const frame_done done{in, node->frame.size()};
        deliver(self,
                node->kind == frame_kind::data
                    ? caf::make_message(received_atom::value, std::move(node->frame))
                    : caf::make_message(message_atom::value, node->kind, std::move(node->frame)));
      }
      if (!has_behavior(self)) {
        stopped = true;
        break;
      }
    }
  }
  if (in.should_resume(budget) && conn.connection())
    conn.connection()->resume_reading(connection::pause_source::inbound);
}

/// Loop: the one copy of a frame, out of the ring (or the read's stack
/// buffer) into bytes the actor owns, queued under the budget and counted
/// (handed, and a wake when one is due). Returns true when the actor must
/// be woken (once per batch). Loop thread of `c` only.
inline bool hand_over(inbox& in, const inbound_budget& budget, connection& c,
                      std::span<const std::byte> frame, actor_counters& counters) {
  std::string owned(reinterpret_cast<const char*>(frame.data()), frame.size());
  counters.handed();  // before the actor can see it: handled never passes handed
  const bool wake =
      offer(in, budget, c, std::move(owned), c.frame_kind(), counters.arrival(c.loop()));
  if (wake) counters.woke();
  return wake;
}

/// Sends an actor one of fastnet's messages from a connection's loop:
/// through the loop's executor when there is one (the actor then runs on
/// this loop), else through CAF's scheduler.
template <typename... Ts>
void notify(loop_executor* exec, const caf::actor& actor, Ts&&... xs) {
  if (exec != nullptr) {
    exec->send(actor, caf::make_message(std::forward<Ts>(xs)...));
  } else {
    caf::anon_send(actor, std::forward<Ts>(xs)...);
  }
}

/// Actor: handles fastnet's own messages (wake, eof, and the optional
/// notifications the user may leave unhandled) for the connection `side`
/// stands for. `Side` has inbox() (null once the connection is down),
/// budget(), conn() (the connection_handle), counters(), on_loop(s) (true
/// when `s` runs on its connection's loop thread) and down(), which forgets
/// the connection. `on_down` is called for `down` after the last frames were
/// delivered and before `closed` is. Returns false for any other message.
template <typename Side, typename OnDown>
bool handle_bridge_message(caf::scheduled_actor* s, caf::type_erased_tuple& content, Side& side,
                           OnDown&& on_down) {
  auto drain_all = [&] {
    if (auto* in = side.inbox())
      drain(s, *in, side.budget(), side.conn(), side.counters(), side.on_loop(s));
  };
  if (content.match_elements<wake_atom>()) {
    drain_all();
    return true;
  }
  if (content.match_elements<eof_atom>()) {
    drain_all();
    // Unhandled, the connection closes now: queued behind the replies the
    // drain just sent, so they go out before the protocol's farewell.
    if (!deliver(s, caf::make_message(peer_closed_atom::value))) side.conn().close();
    return true;
  }
  if (content.match_elements<down_atom, close_reason>()) {
    auto why = content.get_as<close_reason>(1);
    drain_all();
    side.down();
    deliver(s, caf::make_message(closed_atom::value, why));
    on_down();
    return true;
  }
  // fastnet's notifications are optional to handle.
  return content.match_element<connected_atom>(0) || content.match_element<write_blocked_atom>(0) ||
         content.match_element<write_resumed_atom>(0) || content.match_element<closed_atom>(0) ||
         content.match_element<peer_closed_atom>(0);
}

}  // namespace fastnet::actors::detail
