// fastnet::ws — what the WebSocket protocols count (internal): handshakes by
// HTTP status, messages by kind each way, Close codes each way.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "fastnet/frame_kind.hpp"
#include "fastnet/layer_events.hpp"

namespace fastnet::ws::events {

/// The table server_protocol::events() and client_protocol::events() return.
std::span<const layer_event> table();

/// Indexes into table() for a handshake answered (server) or received
/// (client) with HTTP `status`; a status outside the table counts as "other".
size_t handshake(int status);
/// A message or control frame of `k` received / sent (text, binary, ping,
/// pong, close; others count nothing: npos).
size_t received(frame_kind k);
size_t sent(frame_kind k);
/// A Close frame with `code` received / sent; 0 = a Close without a code.
size_t close_received(uint16_t code);
size_t close_sent(uint16_t code);

inline constexpr size_t npos = SIZE_MAX;

}  // namespace fastnet::ws::events
