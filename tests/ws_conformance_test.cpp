// The WebSocket conformance suite (tests/support/ws_conformance.hpp) against
// a reactor-mode echo server (ws::server_protocol + a callback handler), and
// the opening handshake's answers and deadline.
#include <catch2/catch.hpp>
#include <fastnet/fastnet.hpp>
#include <fastnet/metrics/server_metrics.hpp>
#include <fastnet/ws.hpp>

#include "support/test_socket.hpp"
#include "support/ws_conformance.hpp"
#include "support/ws_wire.hpp"

using namespace fastnet;
using namespace fastnet::test;

namespace {

class ws_echo final : public tcp_handler {
 public:
  void on_message(const connection_ptr& c, std::span<const std::byte> frame) override {
    frame_kind k = c->frame_kind();
    if (k == ws::kind::text || k == ws::kind::binary) c->send(frame, k);
  }
};

/// A two-loop echo server on 127.0.0.1 whose frames and messages may reach `limit`.
tcp_server_options echo_server_options(size_t limit) {
  ws::server_protocol_options o;
  o.max_frame = limit;
  o.max_message = limit;
  tcp_server_options opts;
  opts.address = *socket_address::ip("127.0.0.1", 0);
  opts.loops = 2;
  opts.protocol = ws::server_protocol_factory(o);
  return opts;
}

}  // namespace

TEST_CASE("WebSocket conformance (Autobahn categories 1-7, 9, 10)", "[ws][conformance]") {
  ws_echo handler;
  tcp_server server(echo_server_options(max_message), handler);
  server.start();
  CHECK(run_conformance(server.local_address(), "reactor") == "");
}

TEST_CASE("WebSocket: messages up to 16 MiB then a close in one write", "[ws][conformance]") {
  ws_echo handler;
  tcp_server server(echo_server_options(large_max_message), handler);
  server.start();
  CHECK(run_cases(server.local_address(), "reactor, large", large_cases()) == "");
}

TEST_CASE("handshake: bad requests are answered and closed", "[ws][handshake]") {
  ws::server_protocol_options o;
  o.path = "/ws";
  o.protocols = {"chat.v2", "chat.v1"};
  o.page_path = "/";
  o.page = "<html>hi</html>";
  tcp_server_options opts;
  opts.address = *socket_address::ip("127.0.0.1", 0);
  opts.loops = 1;
  opts.protocol = ws::server_protocol_factory(o);
  ws_echo handler;
  tcp_server server(opts, handler);
  server.start();
  auto answer = [&](const std::string& request) {
    auto s = client_socket::connect(server.local_address());
    REQUIRE(s.write_all(request));
    std::string out;
    CHECK(s.read_to_end(out) == end_kind::eof);
    return out;
  };
  CHECK(answer("GARBAGE\r\n\r\n").rfind("HTTP/1.1 400", 0) == 0);
  CHECK(answer("GET /ws HTTP/1.0\r\n\r\n").rfind("HTTP/1.1 400", 0) == 0);
  CHECK(answer("POST /ws HTTP/1.1\r\nHost: x\r\n\r\n").rfind("HTTP/1.1 405", 0) == 0);
  std::string v8 = upgrade_request("/ws");
  v8.replace(v8.find("Version: 13"), 11, "Version: 8");
  std::string r = answer(v8);
  CHECK(r.rfind("HTTP/1.1 426", 0) == 0);
  CHECK(r.find("Sec-WebSocket-Version: 13") != std::string::npos);
  std::string nokey = upgrade_request("/ws");
  nokey.replace(nokey.find("dGhl"), 4, "bad!");
  CHECK(answer(nokey).rfind("HTTP/1.1 400", 0) == 0);
  CHECK(answer(upgrade_request("/other")).rfind("HTTP/1.1 404", 0) == 0);
  CHECK(answer("GET /ws HTTP/1.1\r\nHost: x\r\n\r\n").rfind("HTTP/1.1 426", 0) == 0);
  std::string page = answer("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(page.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(page.find("\r\n\r\n<html>hi</html>") != std::string::npos);
  CHECK(answer("GET /ws HTTP/1.1\r\n" + std::string(10000, 'X') + "\r\n\r\n")
            .rfind("HTTP/1.1 431", 0) == 0);

  // Subprotocol: the server's preference among those offered; the RFC's accept key.
  auto s = client_socket::connect(server.local_address());
  REQUIRE(s.write_all(upgrade_request("/ws", "Sec-WebSocket-Protocol: chat.v1, chat.v2\r\n")));
  std::string head = read_http_head(s);
  CHECK(head.rfind("HTTP/1.1 101", 0) == 0);
  CHECK(head.find("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n") != std::string::npos);
  CHECK(head.find("Sec-WebSocket-Protocol: chat.v2\r\n") != std::string::npos);

  // Every answer was counted by its status (before it was written).
  const auto st = server.stats().connections();
  constexpr const char* hs = "fastnet_ws_handshakes_total";
  CHECK(st.event_count(hs, "400") == 3);
  CHECK(st.event_count(hs, "405") == 1);
  CHECK(st.event_count(hs, "426") == 2);
  CHECK(st.event_count(hs, "404") == 1);
  CHECK(st.event_count(hs, "200") == 1);
  CHECK(st.event_count(hs, "431") == 1);
  CHECK(st.event_count(hs, "101") == 1);
  CHECK(st.protocol == "websocket");
}

TEST_CASE("metrics: messages by kind and Close codes each way, counted exactly", "[ws][metrics]") {
  ws_echo handler;
  tcp_server server(echo_server_options(max_message), handler);
  server.start();
  // Each peer: the handshake, then `chunk` in one write; reads until EOF.
  auto run = [&](const std::string& chunk) {
    auto s = client_socket::connect(server.local_address());
    REQUIRE(s.write_all(upgrade_request("/") + chunk));
    REQUIRE(read_http_head(s).rfind("HTTP/1.1 101", 0) == 0);
    std::vector<read_frame_result> got;
    while (auto f = read_server_frame(s))
      got.push_back(*f);
    return got;
  };
  // Everything in one write: two messages, a ping, an unsolicited pong, a Close 1000.
  auto a = run(text("hello") + binary("\x01\x02") + ping("p") + frame(wire_op::pong, "q") +
               close_frame(1000));
  REQUIRE(a.size() == 4);  // text, binary, pong, close echoed
  CHECK(a[3].opcode == wire_op::close);
  // A Close with an application code (4000: "other"), echoed.
  auto b = run(close_frame(4000));
  REQUIRE(b.size() == 1);
  // A frame with a reserved bit: the server closes with 1002.
  auto c = run(frame(wire_op::text, "x", true, 4));
  REQUIRE(c.size() == 1);
  CHECK(c[0].payload.substr(0, 2) == std::string("\x03\xea", 2));

  auto st = server.stats().connections();
  auto rx = [&](const char* kind) {
    return st.event_count("fastnet_ws_received_messages_total", kind);
  };
  auto tx = [&](const char* kind) {
    return st.event_count("fastnet_ws_sent_messages_total", kind);
  };
  CHECK(st.event_count("fastnet_ws_handshakes_total", "101") == 3);
  CHECK(rx("text") == 1);
  CHECK(rx("binary") == 1);
  CHECK(rx("ping") == 1);
  CHECK(rx("pong") == 1);
  CHECK(rx("close") == 2);
  CHECK(tx("text") == 1);
  CHECK(tx("binary") == 1);
  CHECK(tx("pong") == 1);
  CHECK(tx("close") == 3);
  CHECK(st.event_count("fastnet_ws_close_received_total", "1000") == 1);
  CHECK(st.event_count("fastnet_ws_close_received_total", "other") == 1);
  CHECK(st.event_count("fastnet_ws_close_sent_total", "1000") == 1);
  CHECK(st.event_count("fastnet_ws_close_sent_total", "other") == 1);
  CHECK(st.event_count("fastnet_ws_close_sent_total", "1002") == 1);

  // The same numbers in the exposition, per loop; summed they agree.
  metrics::exposition out;
  metrics::write_server_stats(out, server.stats(), "ws");
  const std::string text_out = out.text();
  CHECK(text_out.find("# TYPE fastnet_ws_close_sent_total counter") != std::string::npos);
  CHECK(text_out.find("protocol=\"websocket\"} ") != std::string::npos);
  CHECK(text_out.find("fastnet_ws_handshakes_total{server=\"ws\",loop=\"") != std::string::npos);
}

TEST_CASE("handshake: a peer that never finishes it is dropped at the deadline",
          "[ws][handshake]") {
  ws::server_protocol_options o;
  o.handshake_timeout = std::chrono::milliseconds(200);
  tcp_server_options opts;
  opts.address = *socket_address::ip("127.0.0.1", 0);
  opts.loops = 1;
  opts.protocol = ws::server_protocol_factory(o);
  recording_echo handler;
  tcp_server server(opts, handler);
  server.start();
  auto s = client_socket::connect(server.local_address());
  REQUIRE(s.write_all("GET / HTTP/1.1\r\nHost: x\r\n"));  // never finished
  std::string out;
  CHECK(s.read_to_end(out) != end_kind::timeout);
  REQUIRE(handler.closes.wait_for_at_least(1));
  CHECK(handler.close_reasons().at(0) == close_reason::protocol_error);
}

TEST_CASE("ws::make_layers: \"websocket\" bounded by max_frame, other names from the reactor",
          "[ws][factory]") {
  constexpr size_t limit = 64;  // max_frame bounds frames and messages
  auto layers = ws::make_layers("websocket", limit);
  REQUIRE(layers.has_value());
  REQUIRE(layers->protocol);
  CHECK_FALSE(layers->codec);
  tcp_server_options opts;
  opts.address = *socket_address::ip("127.0.0.1", 0);
  opts.loops = 1;
  opts.protocol = layers->protocol;
  ws_echo handler;
  tcp_server server(opts, handler);
  server.start();
  CHECK(run_case(server.local_address(),
                 {"f.1", "a text within the limit", {text("hello")}, {{1, "hello"}}, {}}) == "");
  CHECK(run_case(server.local_address(), {"f.2",
                                          "a text one byte over the limit",
                                          {text(std::string(limit + 1, 'x'))},
                                          {},
                                          {1009}}) == "");

  auto line = ws::make_layers("line", 8);
  REQUIRE(line.has_value());
  CHECK_FALSE(line->protocol);
  CHECK(std::string(line->codec()->name()) == "line");
  CHECK_FALSE(ws::make_layers("json", 8).has_value());
}
