// fastnet — WebSocket (RFC 6455): server and client codecs and their helpers
// (library fastnet::ws).
#pragma once

#include "fastnet/ws/client_codec.hpp"
#include "fastnet/ws/codecs.hpp"
#include "fastnet/ws/frame.hpp"
#include "fastnet/ws/handshake.hpp"
#include "fastnet/ws/server_codec.hpp"
#include "fastnet/ws/utf8_validator.hpp"
