// The WebSocket client codec on a tcp_client, against fastnet's own
// WebSocket server on the same loops: handshake with a subprotocol, text and
// binary both ways (fragmented sends included), a ping answered, and the
// close handshake; and against hand-made servers whose 101 is wrong.
#include <catch2/catch.hpp>
#include <fastnet/fastnet.hpp>
#include <fastnet/ws.hpp>

#include <mutex>

#include "support/loop_thread.hpp"
#include "support/test_socket.hpp"

using namespace fastnet;
using namespace fastnet::test;

namespace {

std::string str(std::span<const std::byte> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

class server_echo final : public tcp_handler {
 public:
  void on_message(const connection_ptr& c, std::span<const std::byte> frame) override {
    frame_kind k = c->frame_kind();
    if (k == ws::kind::open) {
      auto& ws = dynamic_cast<ws::server_protocol&>(*c->current_protocol());
      std::lock_guard lock(mutex);
      origin = std::string(ws.request().origin());
      path = ws.request().path;
    }
    if (k == ws::kind::text || k == ws::kind::binary) c->send(frame, k);
  }
  std::mutex mutex;
  std::string origin, path;
};

/// Records what the client connection sees; sends a script once open.
class client_side final : public tcp_handler {
 public:
  void on_message(const connection_ptr& c, std::span<const std::byte> frame) override {
    std::lock_guard lock(mutex);
    seen.emplace_back(c->frame_kind(), str(frame));
    if (c->frame_kind() == ws::kind::open) {
      protocol = dynamic_cast<ws::client_protocol&>(*c->current_protocol()).subprotocol();
      c->send(std::string_view("hello"), ws::kind::text);
      c->send(std::string_view("\x01\x02"), ws::kind::binary);
      c->send(std::string_view("frag"), ws::kind::text, fragment::more);
      c->send(std::string_view("p"), ws::kind::ping);
      c->send(std::string_view("mented"), ws::kind::text);
      c->send(std::string(200000, 'z'), ws::kind::binary);
    }
    events.add();
  }
  void on_close(const connection_ptr&, close_reason why) override {
    std::lock_guard lock(mutex);
    reason = why;
    closes.add();
  }
  std::mutex mutex;
  std::vector<std::pair<frame_kind, std::string>> seen;
  std::string protocol;
  close_reason reason{};
  waitable_counter events, closes;
};

}  // namespace

TEST_CASE("ws client and server exchange messages and close cleanly", "[ws][client]") {
  ws::server_protocol_options so;
  so.path = "/chat";
  so.protocols = {"v2", "v1"};
  tcp_server_options opts;
  opts.address = *socket_address::ip("127.0.0.1", 0);
  opts.loops = 1;
  opts.protocol = ws::server_protocol_factory(so);
  server_echo server_handler;
  tcp_server server(opts, server_handler);
  server.start();

  ws::client_protocol_options co;
  co.path = "/chat";
  co.origin = "http://example.test";
  co.protocols = {"v1", "v2"};
  tcp_client_options copts;
  copts.address = server.local_address();
  copts.protocol = ws::client_protocol_factory(co);
  client_side handler;
  {
    loop_thread lt;
    tcp_client client(lt.loop, copts, handler);
    client.connect();
    // open + 4 echoed messages.
    REQUIRE(handler.events.wait_for_at_least(5));
    {
      std::lock_guard lock(handler.mutex);
      REQUIRE(handler.seen.size() == 5);
      CHECK(handler.seen[0].first == ws::kind::open);
      CHECK(handler.seen[0].second.rfind("HTTP/1.1 101", 0) == 0);
      CHECK(handler.protocol == "v2");
      CHECK(handler.seen[1] == std::pair<frame_kind, std::string>{ws::kind::text, "hello"});
      CHECK(handler.seen[2] == std::pair<frame_kind, std::string>{ws::kind::binary, "\x01\x02"});
      CHECK(handler.seen[3] == std::pair<frame_kind, std::string>{ws::kind::text, "fragmented"});
      CHECK(handler.seen[4] ==
            std::pair<frame_kind, std::string>{ws::kind::binary, std::string(200000, 'z')});
    }
    {
      std::lock_guard lock(server_handler.mutex);
      CHECK(server_handler.origin == "http://example.test");
      CHECK(server_handler.path == "/chat");
    }
    // Our close is answered by the server's, then the connection ends.
    auto conn = client.connection();
    REQUIRE(conn);
    conn->send(ws::close_payload(ws::close_code::normal, "bye"), ws::kind::close);
    REQUIRE(handler.closes.wait_for_at_least(1));
    std::lock_guard lock(handler.mutex);
    CHECK(handler.seen.back().first == ws::kind::close);
    CHECK(ws::parse_close_payload(std::as_bytes(std::span(handler.seen.back().second))).code ==
          ws::close_code::normal);
    CHECK(handler.reason == close_reason::local_close);
  }
}

TEST_CASE("ws client rejects a wrong 101", "[ws][client]") {
  for (std::string reply :
       {std::string("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
        std::string("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: "
                    "Upgrade\r\nSec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n"),
        std::string("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n\r\n")}) {
    // A server that answers any request with `reply`.
    struct fake final : tcp_handler {
      std::string reply;
      void on_message(const connection_ptr& c, std::span<const std::byte> frame) override {
        if (str(frame).find("\r\n\r\n") != std::string::npos) c->send(reply);
      }
    } fake_handler;
    fake_handler.reply = reply;
    tcp_server_options opts;
    opts.address = *socket_address::ip("127.0.0.1", 0);
    opts.loops = 1;
    tcp_server server(opts, fake_handler);
    server.start();
    tcp_client_options copts;
    copts.address = server.local_address();
    copts.protocol = ws::client_protocol_factory({});
    client_side handler;
    loop_thread lt;
    tcp_client client(lt.loop, copts, handler);
    client.connect();
    REQUIRE(handler.closes.wait_for_at_least(1));
    std::lock_guard lock(handler.mutex);
    CHECK(handler.reason == close_reason::protocol_error);
    CHECK(handler.seen.empty());
  }
}
