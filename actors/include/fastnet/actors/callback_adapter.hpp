// fastnet::actors — run a reactor tcp_handler as a connection actor.
#pragma once

#include <memory>

#include <fastnet/actors/server.hpp>
#include <fastnet/handler.hpp>

namespace fastnet::actors {

/// A connection behavior that calls `handler` the way the reactor would
/// (on_connect, on_message, on_high_water / on_low_water, on_close), so a
/// server written against the callback API can move to actors one
/// connection type at a time. The callbacks then run on the connection's
/// actor (a CAF worker thread, one callback at a time per connection)
/// instead of its loop thread; replies through conn->send() work from any
/// thread. on_write_complete and on_peer_eof are not forwarded (the actor
/// layer handles end of input itself).
connection_behavior from_handler(std::shared_ptr<tcp_handler> handler);

}  // namespace fastnet::actors
