// fastnet::actors — handing a message to an actor's current behavior.
#pragma once

#include <caf/behavior.hpp>
#include <caf/message.hpp>
#include <caf/scheduled_actor.hpp>

#include <string>

#include <fastnet/actors/connection_handle.hpp>
#include <fastnet/actors/messages.hpp>

#include "inbox.hpp"

namespace fastnet::actors::detail {

/// Hands one message to the actor's current behavior synchronously (no
/// mailbox round trip): this is how a batch of frames becomes a series of
/// `received` messages for the price of one scheduling.
inline bool deliver(caf::scheduled_actor* self, caf::message msg) {
  auto& stack = self->bhvr_stack();
  if (stack.empty()) return false;
  // A counted copy: the handler may quit() or become() while it runs, which
  // would otherwise destroy the behavior under its own call.
  caf::behavior current = stack.back();
  current(msg);
  return true;
}

/// Actor: delivers what the inbox holds to the actor's behavior, oldest
/// first (`received`, or `message` with the codec's kind), then gives the
/// budget back: reading resumes once the actor is down to half of it. Stops
/// early when the actor has no behavior left.
inline void drain(caf::scheduled_actor* self, inbox& in, const connection_handle& conn) {
  in.begin_drain();
  std::string frame;
  uint8_t kind = 0;
  while (in.pop(frame, kind)) {
    size_t n = frame.size();
    bool alive =
        deliver(self, kind == 0 ? caf::make_message(received_atom::value, std::move(frame))
                                : caf::make_message(message_atom::value, kind, std::move(frame)));
    in.done(n);
    if (!alive) break;
  }
  if (in.should_resume() && conn.connection())
    conn.connection()->resume_reading(connection::pause_source::inbound);
}

}  // namespace fastnet::actors::detail
