// fastnet::actors — the messages a connection actor receives.
#pragma once

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>

#include <fastnet/frame_kind.hpp>
#include <fastnet/handler.hpp>

namespace fastnet::actors {

/// (connected_atom, uint64_t id, std::string peer): the connection is up;
/// the first message a connection actor gets.
using connected_atom = caf::atom_constant<caf::atom("fn_conn")>;

/// (received_atom, std::string frame): one complete frame, cut by the codec.
/// The bytes are the actor's (moved in, never copied on the way): take it
/// as `std::string&` and move it on. Frames arrive in order.
using received_atom = caf::atom_constant<caf::atom("fn_recv")>;

/// (message_atom, fastnet::frame_kind kind, std::string frame): a frame of a
/// codec with several kinds (WebSocket: text, binary, open, close), owned by
/// the actor like `received`. Frames of kind `data` (every codec with a
/// single kind) arrive as `received` instead. Reply with
/// connection_handle::send(frame, kind).
using message_atom = caf::atom_constant<caf::atom("fn_msg")>;

/// (write_blocked_atom, size_t queued): output rose to the high water mark.
using write_blocked_atom = caf::atom_constant<caf::atom("fn_wblock")>;

/// (write_resumed_atom, size_t queued): output fell back to the low water mark.
using write_resumed_atom = caf::atom_constant<caf::atom("fn_wresume")>;

/// (peer_closed_atom): the peer finished sending (EOF, or a WebSocket Close,
/// delivered as a `message` of kind close just before). It comes after
/// every frame that arrived before it. Left unhandled, the connection
/// closes at once (after the replies already sent). Handle it to finish
/// replies that need a round trip through other actors first, then call
/// connection_handle::close() (or quit): what the connection sends on its
/// own (the WebSocket Close echo, the FIN) goes out after those replies.
/// connection_options::peer_close_linger (5 s) bounds the wait.
using peer_closed_atom = caf::atom_constant<caf::atom("fn_peerend")>;

/// (closed_atom, fastnet::close_reason): the connection is closed; the last
/// message. By default the actor quits right after handling it.
using closed_atom = caf::atom_constant<caf::atom("fn_closed")>;

}  // namespace fastnet::actors

// close_reason travels only between threads of one process.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(fastnet::close_reason)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(fastnet::frame_kind)
