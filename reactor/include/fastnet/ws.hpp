// fastnet — WebSocket (RFC 6455): server and client protocols and their
// helpers (library fastnet::ws).
#pragma once

#include "fastnet/ws/client_protocol.hpp"
#include "fastnet/ws/frame.hpp"
#include "fastnet/ws/handshake.hpp"
#include "fastnet/ws/layers.hpp"
#include "fastnet/ws/server_protocol.hpp"
#include "fastnet/ws/url.hpp"
#include "fastnet/ws/utf8_validator.hpp"
