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
  auto& stack = self->bhvr_stack();
  if (stack.empty()) return false;
  // A counted copy: the handler may quit() or become() while it runs, which
  // would otherwise destroy the behavior under its own call.
  caf::behavior current = stack.back();
  return static_cast<bool>(current(msg));
}

/// Actor: delivers what the inbox holds to the actor's behavior, oldest
/// first (`received`, or `message` with the codec's kind), then gives the
/// budget back: reading resumes once the actor is down to half of it. Stops
/// early when the actor has no behavior left.
inline void drain(caf::scheduled_actor* self, inbox& in, const connection_handle& conn) {
  in.begin_drain();
  std::string frame;
  frame_kind kind = frame_kind::data;
  while (in.pop(frame, kind)) {
    size_t n = frame.size();
    deliver(self, kind == frame_kind::data
                      ? caf::make_message(received_atom::value, std::move(frame))
                      : caf::make_message(message_atom::value, kind, std::move(frame)));
    in.done(n);
    if (self->bhvr_stack().empty()) break;
  }
  if (in.should_resume() && conn.connection())
    conn.connection()->resume_reading(connection::pause_source::inbound);
}

/// The loop's side of one connection's bridge, kept in connection::context().
/// Thread safety: the connection's loop thread only.
struct link {
  std::shared_ptr<inbox> in;
  caf::actor actor;
  loop_executor* exec = nullptr;  // null: wake the actor through CAF's scheduler

  /// Sends the actor one of fastnet's messages.
  template <typename... Ts>
  void notify(Ts&&... xs) const {
    if (exec != nullptr) {
      exec->send(actor, caf::make_message(std::forward<Ts>(xs)...));
    } else {
      caf::anon_send(actor, std::forward<Ts>(xs)...);
    }
  }

  /// The one copy of a frame: out of the ring (or the read's stack buffer)
  /// into bytes the actor owns; one wake per batch.
  void on_message(connection& c, std::span<const std::byte> frame) const {
    auto keep = in;  // pausing may close the connection inside offer(), and drop the link
    std::string owned(reinterpret_cast<const char*>(frame.data()), frame.size());
    if (offer(*keep, c, std::move(owned), c.frame_kind())) notify(wake_atom::value);
  }

  /// The peer finished: the actor replies to what came before, then closes
  /// (by default right after; a user who handles `peer_closed` decides).
  /// The connection waits for that, bounded by peer_close_linger.
  bool on_peer_eof() const {
    notify(eof_atom::value);
    return false;
  }
};

/// The actor's side: the connection it serves now. Actor thread only.
struct actor_side {
  std::shared_ptr<inbox> in;
  connection_handle conn;
};

/// Actor: handles fastnet's own messages (wake, eof, and the optional
/// notifications the user may leave unhandled). `on_down` is called for
/// `down` after the last frames were delivered and before `closed` is.
/// Returns false for any other message.
template <typename OnDown>
bool handle_bridge_message(caf::scheduled_actor* s, caf::type_erased_tuple& content,
                           actor_side& side, OnDown&& on_down) {
  if (content.match_elements<wake_atom>()) {
    if (side.in) drain(s, *side.in, side.conn);
    return true;
  }
  if (content.match_elements<eof_atom>()) {
    if (side.in) drain(s, *side.in, side.conn);
    // Unhandled, the connection closes now: queued behind the replies the
    // drain just sent, so they go out before the protocol's farewell.
    if (!deliver(s, caf::make_message(peer_closed_atom::value))) side.conn.close();
    return true;
  }
  if (content.match_elements<down_atom, close_reason>()) {
    auto why = content.get_as<close_reason>(1);
    if (side.in) drain(s, *side.in, side.conn);
    side = actor_side{};
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
