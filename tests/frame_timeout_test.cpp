// The frame deadline through the servers' --frame-timeout, in reactor and
// actor mode: peers that trickle a frame (or a WebSocket handshake, or a
// WebSocket message) one byte at a time are closed, although each byte
// re-arms the idle timeout, while a well-behaved client on the same server
// keeps being served. Runs build/bench/echo_server and build/examples/ws_echo_server as
// processes on 127.0.0.1.
#include <catch2/catch.hpp>
#include <fastnet/fastnet.hpp>

#include <poll.h>

#include <chrono>
#include <string>
#include <vector>

#include "support/child_process.hpp"
#include "support/test_socket.hpp"
#include "support/ws_wire.hpp"

using namespace fastnet;
using namespace fastnet::test;
using namespace std::chrono_literals;

namespace {

/// Starts an example server and returns its address once it listens.
socket_address start(child_process& p) {
  for (int i = 0; i < 20; ++i) {
    auto line = p.read_line();
    if (!line) break;
    auto at = line->find("listening on ");
    if (at == std::string::npos) continue;
    auto addr = line->substr(at + 13, line->find(' ', at + 13) - at - 13);
    if (auto a = socket_address::parse(addr)) return *a;
  }
  FAIL("the server never said it was listening");
  return {};
}

/// A peer that sends `bytes` one at a time, one every 100 ms; done once the
/// server has closed the connection (EOF or reset).
struct trickler {
  client_socket sock;
  std::string bytes;
  size_t sent = 0;
  bool closed = false;

  void step() {
    if (closed) return;
    pollfd p{sock.fd(), POLLIN, 0};
    if (::poll(&p, 1, 0) > 0) {
      char buf[4096];
      ssize_t n = ::recv(sock.fd(), buf, sizeof buf, 0);
      if (n <= 0) {
        closed = true;
        return;
      }
    }
    if (sent < bytes.size() && ::send(sock.fd(), bytes.data() + sent, 1, MSG_NOSIGNAL) == 1) ++sent;
  }
};

/// Trickles `bytes` on 20 connections while a client echoes a line every
/// step; true when every trickler was closed before it got its frame out,
/// and the client was served throughout and still is.
void check_tricklers_closed(const socket_address& addr, const std::string& prefix,
                            const std::string& bytes, bool ws_client) {
  std::vector<trickler> tricklers;
  for (int i = 0; i < 20; ++i) {
    trickler t{client_socket::connect(addr), bytes};
    if (!prefix.empty()) {
      REQUIRE(t.sock.write_all(prefix));
      if (ws_client) REQUIRE(read_http_head(t.sock).rfind("HTTP/1.1 101", 0) == 0);
    }
    tricklers.push_back(std::move(t));
  }
  auto good = client_socket::connect(addr);
  if (ws_client) {
    REQUIRE(good.write_all(upgrade_request()));
    REQUIRE(read_http_head(good).rfind("HTTP/1.1 101", 0) == 0);
  }
  auto echo_once = [&](int i) {
    std::string msg = "still here " + std::to_string(i);
    if (ws_client) {
      raw_frame f;
      f.opcode = 1;
      f.payload = msg;
      REQUIRE(good.write_all(encode_raw(f)));
      auto got = read_server_frame(good, 10s);
      REQUIRE(got);
      CHECK(got->payload == msg);
    } else {
      REQUIRE(good.write_all(msg + "\n"));
      auto got = good.read_exact(msg.size() + 1);
      REQUIRE(got);
      CHECK(*got == msg + "\n");
    }
  };
  // Bounded: 300 steps of 100 ms; the deadline is 1 s, the frames take 15 s.
  int step = 0;
  for (; step < 300; ++step) {
    size_t open = 0;
    for (auto& t : tricklers) {
      t.step();
      open += t.closed ? 0 : 1;
    }
    echo_once(step);
    if (open == 0) break;
    std::this_thread::sleep_for(100ms);  // the trickle's pace, not a wait for an event
  }
  for (auto& t : tricklers) {
    CHECK(t.closed);
    CHECK(t.sent < t.bytes.size());  // closed before the frame was complete
  }
  echo_once(-1);  // the well-behaved client is still served
}

std::string long_line() {
  return std::string(150, 'x') + "\n";
}

}  // namespace

TEST_CASE("echo_server --frame-timeout closes peers trickling a line", "[frame_timeout]") {
  for (const char* mode : {"reactor", "actors"}) {
    INFO(mode);
    child_process server(FASTNET_ECHO_SERVER_BIN,
                         {"--host", "127.0.0.1", "--port", "0", "--codec", "line", "--loops", "2",
                          "--idle-timeout", "5", "--frame-timeout", "1", "--mode", mode});
    auto addr = start(server);
    check_tricklers_closed(addr, "", long_line(), false);
  }
}

TEST_CASE("ws_echo_server --frame-timeout closes peers trickling a handshake or a message",
          "[frame_timeout][ws]") {
  for (const char* mode : {"reactor", "actors"}) {
    INFO(mode);
    child_process server(FASTNET_WS_ECHO_SERVER_BIN,
                         {"--host", "127.0.0.1", "--port", "0", "--loops", "2", "--frame-timeout",
                          "1", "--mode", mode});
    auto addr = start(server);
    // The handshake, a byte at a time (its own 10 s deadline is later).
    check_tricklers_closed(addr, "", upgrade_request() + std::string(100, ' '), true);
    // After the handshake: a 150-byte text message, a byte at a time.
    raw_frame f;
    f.opcode = 1;
    f.payload = std::string(150, 'y');
    check_tricklers_closed(addr, upgrade_request(), encode_raw(f), true);
  }
}
