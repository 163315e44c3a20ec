// fastnet — the whole reactor API in one include.
#pragma once

#include "fastnet/balancer.hpp"
#include "fastnet/codec.hpp"
#include "fastnet/codecs.hpp"
#include "fastnet/connection.hpp"
#include "fastnet/event_loop.hpp"
#include "fastnet/handler.hpp"
#include "fastnet/hash_ring.hpp"
#include "fastnet/log.hpp"
#include "fastnet/loop_group.hpp"
#include "fastnet/protocol.hpp"
#include "fastnet/ring_buffer.hpp"
#include "fastnet/socket.hpp"
#include "fastnet/socket_address.hpp"
#include "fastnet/tcp_client.hpp"
#include "fastnet/tcp_server.hpp"
#include "fastnet/timer_queue.hpp"
