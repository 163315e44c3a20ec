#include "fastnet/actors/callback_adapter.hpp"

#include <caf/all.hpp>

namespace fastnet::actors {

connection_behavior from_handler(std::shared_ptr<tcp_handler> handler) {
  return [handler](caf::event_based_actor*, connection_handle conn) -> caf::behavior {
    return {
        [handler, conn](connected_atom, uint64_t, const std::string&) {
          handler->on_connect(conn.connection());
        },
        [handler, conn](received_atom, std::string& frame) {
          handler->on_message(conn.connection(), std::as_bytes(std::span(frame)));
        },
        // A callback handler has no frame kind off the loop (frame_kind() is
        // loop-thread only): frames of a multi-kind codec arrive as plain frames.
        [handler, conn](message_atom, frame_kind, std::string& frame) {
          handler->on_message(conn.connection(), std::as_bytes(std::span(frame)));
        },
        // false: the handler replies later and closes itself, as in the reactor.
        [handler, conn](peer_closed_atom) {
          if (handler->on_peer_eof(conn.connection())) conn.close();
        },
        [handler, conn](write_blocked_atom, size_t queued) {
          handler->on_high_water(conn.connection(), queued);
        },
        [handler, conn](write_resumed_atom, size_t queued) {
          handler->on_low_water(conn.connection(), queued);
        },
        [handler, conn](closed_atom, close_reason why) {
          handler->on_close(conn.connection(), why);
        },
    };
  };
}

}  // namespace fastnet::actors
