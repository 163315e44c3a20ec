// WebSocket over TLS: ws::parse_url, and fastnet's WebSocket client
// connecting to a wss:// URL (name resolved, certificate and name verified)
// of a fastnet WebSocket server over TLS. The protocol layer and the
// transport layer together, with no change to either.
#include <catch2/catch.hpp>
#include <fastnet/fastnet.hpp>
#include <fastnet/tls/context.hpp>
#include <fastnet/ws.hpp>

#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/loop_thread.hpp"
#include "support/test_socket.hpp"
#include "support/tls_peers.hpp"

using namespace fastnet;
using namespace fastnet::test;

TEST_CASE("ws::parse_url takes ws:// and wss:// URLs apart", "[ws][url][unit]") {
  auto u = ws::parse_url("wss://example.org/chat?room=1");
  REQUIRE(u);
  CHECK(u->secure);
  CHECK(u->host == "example.org");
  CHECK(u->port == 443);
  CHECK(u->path == "/chat?room=1");
  CHECK(u->host_header() == "example.org");

  u = ws::parse_url("ws://127.0.0.1:9001");
  REQUIRE(u);
  CHECK_FALSE(u->secure);
  CHECK(u->port == 9001);
  CHECK(u->path == "/");
  CHECK(u->host_header() == "127.0.0.1:9001");

  u = ws::parse_url("wss://[::1]:8443?x");
  REQUIRE(u);
  CHECK(u->host == "::1");
  CHECK(u->path == "/?x");
  CHECK(u->host_header() == "[::1]:8443");
  CHECK(u->client_options().host == "[::1]:8443");

  for (const char* bad : {"http://x/", "ws://", "ws://:80/", "ws://x:0/", "ws://x:65536/",
                          "ws://x:8a/", "ws://user@x/", "ws://x/#frag", "wss://[::1/"}) {
    INFO(bad);
    CHECK_FALSE(ws::parse_url(bad));
  }
}

TEST_CASE("socket_address::resolve takes literals and names", "[unit]") {
  auto lit = socket_address::resolve("127.0.0.1", 80);
  REQUIRE(lit);
  CHECK(lit->to_string() == "127.0.0.1:80");
  auto name = socket_address::resolve("localhost", 9);
  REQUIRE(name);
  CHECK(name->port() == 9);
  CHECK_FALSE(socket_address::resolve("no-such-host.invalid", 9));
}

namespace {

class wss_echo final : public tcp_handler {
 public:
  void on_message(const connection_ptr& c, std::span<const std::byte> frame) override {
    if (c->frame_kind() == ws::kind::open) {
      std::lock_guard lock(mutex);
      server_info = tls::info(*c);
      return;
    }
    if (c->frame_kind() == ws::kind::text || c->frame_kind() == ws::kind::binary)
      c->send(frame, c->frame_kind());
  }
  std::mutex mutex;
  std::optional<tls::session_info> server_info;
};

/// Sends a text and a 200 KB binary message once open, records the echoes.
class wss_client final : public tcp_handler {
 public:
  void on_message(const connection_ptr& c, std::span<const std::byte> frame) override {
    std::lock_guard lock(mutex);
    if (c->frame_kind() == ws::kind::open) {
      client_info = tls::info(*c);
      c->send(std::string_view("hello over wss"), ws::kind::text);
      c->send(std::string(200000, 'b'), ws::kind::binary);
    } else {
      echoes.emplace_back(reinterpret_cast<const char*>(frame.data()), frame.size());
      if (echoes.size() == 2) c->close();
    }
    events.add();
  }
  void on_close(const connection_ptr&, close_reason) override { closes.add(); }
  void on_connect_failed(const socket_address&, int) override { failures.add(); }
  std::mutex mutex;
  std::optional<tls::session_info> client_info;
  std::vector<std::string> echoes;
  waitable_counter events, closes, failures;
};

}  // namespace

TEST_CASE("the WebSocket client reaches a wss:// URL and verifies it", "[tls][ws][wss]") {
  auto server_ctx = tls::context::server(server_config());
  wss_echo server_handler;
  tcp_server_options sopts;
  sopts.address = *socket_address::ip("127.0.0.1", 0);
  sopts.loops = 1;
  ws::server_protocol_options wopts;
  wopts.path = "/echo";
  sopts.protocol = ws::server_protocol_factory(wopts);
  sopts.transport = server_ctx->transports();
  tcp_server server(sopts, server_handler);
  server.start();

  const bool right_name = GENERATE(true, false);
  INFO("the name the client checks is the certificate's: " << right_name);
  auto u =
      ws::parse_url("wss://localhost:" + std::to_string(server.local_address().port()) + "/echo");
  REQUIRE(u);
  REQUIRE(u->secure);
  tls::client_config ccfg = client_config();
  ccfg.server_name = right_name ? u->host : "wrong.example";
  auto client_ctx = tls::context::client(ccfg);
  tcp_client_options copts;
  copts.address = *socket_address::resolve(u->host, u->port);
  copts.max_attempts = 1;
  copts.protocol = ws::client_protocol_factory(u->client_options());
  copts.transport = client_ctx->transports();

  wss_client handler;
  {
    loop_thread lt;
    tcp_client client(lt.loop, copts, handler);
    client.connect();
    if (right_name) {
      REQUIRE(handler.closes.wait_for_at_least(1));
      std::lock_guard lock(handler.mutex);
      REQUIRE(handler.echoes.size() == 2);
      CHECK(handler.echoes[0] == "hello over wss");
      CHECK(handler.echoes[1] == std::string(200000, 'b'));
      REQUIRE(handler.client_info);
      CHECK(handler.client_info->version == "TLSv1.3");
      CHECK(handler.client_info->peer_subject.find("localhost") != std::string::npos);
    } else {
      REQUIRE(handler.failures.wait_for_at_least(1));
      std::lock_guard lock(handler.mutex);
      CHECK(handler.echoes.empty());
      CHECK(client_ctx->handshake_failures() >= 1);
    }
  }
  if (right_name) {
    std::lock_guard lock(server_handler.mutex);
    REQUIRE(server_handler.server_info);
    CHECK(server_handler.server_info->server_name == "localhost");  // the SNI the client sent
  }
}
