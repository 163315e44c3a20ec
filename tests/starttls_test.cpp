// STARTTLS: connection::upgrade_transport() on live connections, with the
// example's line protocol (examples/starttls_session.hpp). Server side
// against Python's ssl (waiting for "220", and sending its ClientHello in
// the same write as STARTTLS), client side with fastnet's own tcp_client,
// and peers that break the handshake after the upgrade.
#include <catch2/catch.hpp>
#include <fastnet/fastnet.hpp>
#include <fastnet/tls/context.hpp>

#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "../examples/starttls_session.hpp"
#include "support/loop_thread.hpp"
#include "support/test_socket.hpp"
#include "support/tls_peers.hpp"

using namespace fastnet;
using namespace fastnet::test;

namespace {

/// The example's handler, counting closes and their reasons.
class counting_session final : public tcp_handler {
 public:
  explicit counting_session(std::shared_ptr<tls::context> ctx) : inner(std::move(ctx)) {}
  void on_connect(const connection_ptr& c) override { inner.on_connect(c); }
  void on_message(const connection_ptr& c, std::span<const std::byte> f) override {
    inner.on_message(c, f);
  }
  void on_close(const connection_ptr&, close_reason why) override {
    {
      std::lock_guard lock(mutex);
      reasons.push_back(why);
    }
    closes.add();
  }
  std::vector<close_reason> reasons_copy() {
    std::lock_guard lock(mutex);
    return reasons;
  }
  starttls::session_handler inner;
  std::mutex mutex;
  std::vector<close_reason> reasons;
  waitable_counter closes;
};

tcp_server_options line_server() {
  tcp_server_options o;
  o.address = *socket_address::ip("127.0.0.1", 0);
  o.loops = 1;
  o.codec = *make_codec_factory("line", 1024);
  return o;
}

}  // namespace

TEST_CASE("STARTTLS: plaintext lines, then TLS on the same connection", "[tls][starttls]") {
  auto ctx = tls::context::server(server_config());
  counting_session handler(ctx);
  tcp_server server(line_server(), handler);
  server.start();
  auto r = python_starttls(server.local_address(), false);
  INFO_RUN(r);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out ==
        "220 fastnet ready\n250 hello py\n250 plain\n220 go ahead\n"
        "250 TLSv1.3 TLS_AES_256_GCM_SHA384\n221 bye\n");
  REQUIRE(handler.closes.wait_for_at_least(1));
  CHECK(ctx->handshake_failures() == 0);
}

TEST_CASE("STARTTLS: a ClientHello in the same write as STARTTLS goes to TLS, not to the codec",
          "[tls][starttls]") {
  auto ctx = tls::context::server(server_config());
  counting_session handler(ctx);
  tcp_server server(line_server(), handler);
  server.start();
  auto r = python_starttls(server.local_address(), true);
  INFO_RUN(r);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out == "220 fastnet ready\n220 go ahead\n250 TLSv1.3 TLS_AES_256_GCM_SHA384\n");
  CHECK(ctx->handshake_failures() == 0);
}

TEST_CASE("STARTTLS: garbage after the upgrade closes with handshake_failed, others are served",
          "[tls][starttls][hostile]") {
  auto ctx = tls::context::server(server_config());
  counting_session handler(ctx);
  tcp_server server(line_server(), handler);
  server.start();
  auto bad = client_socket::connect(server.local_address());
  REQUIRE(bad.write_all("STARTTLS\nthis is not a ClientHello\r\n\r\n"));
  std::string out;
  CHECK(bad.read_to_end(out) != end_kind::timeout);
  CHECK(out.starts_with("220 fastnet ready\n220 go ahead\n"));
  REQUIRE(handler.closes.wait_for_at_least(1));
  // The handler knew this connection (on_connect ran): it hears how it ended.
  CHECK(handler.reasons_copy().at(0) == close_reason::handshake_failed);
  CHECK(ctx->handshake_failures() >= 1);
  auto r = python_starttls(server.local_address(), false);
  INFO_RUN(r);
  CHECK(r.exit_code == 0);
}

namespace {

/// The client side: waits for "220 fastnet ready", asks for STARTTLS, and on
/// "220 go ahead" upgrades and at once sends a line that must travel over
/// TLS (queued until the handshake is done).
class starttls_client final : public tcp_handler {
 public:
  explicit starttls_client(std::shared_ptr<tls::context> ctx) : ctx_(std::move(ctx)) {}
  void on_message(const connection_ptr& c, std::span<const std::byte> f) override {
    std::string line(reinterpret_cast<const char*>(f.data()), f.size());
    if (line == "220 fastnet ready") c->send("STARTTLS");
    if (line == "220 go ahead") {
      c->upgrade_transport(ctx_->make_transport());
      c->send("SECURE?");
    }
    if (line.starts_with("250 TLS")) {
      secure_answer = line;
      session = tls::info(*c);
      c->send("QUIT");
    }
    lines.add();
  }
  void on_close(const connection_ptr&, close_reason why) override {
    reason = why;
    closes.add();
  }
  std::string secure_answer;  // written on the loop, read after closes
  std::optional<tls::session_info> session;
  close_reason reason = close_reason::reset;
  waitable_counter lines;
  waitable_counter closes;

 private:
  std::shared_ptr<tls::context> ctx_;
};

}  // namespace

TEST_CASE("STARTTLS from the client side: sends made right after upgrade_transport go over TLS",
          "[tls][starttls][client]") {
  auto server_ctx = tls::context::server(server_config());
  counting_session server_handler(server_ctx);
  tcp_server server(line_server(), server_handler);
  server.start();

  auto client_ctx = tls::context::client(client_config());
  starttls_client handler(client_ctx);
  {
    loop_thread lt;
    tcp_client_options copts;
    copts.address = server.local_address();
    copts.max_attempts = 1;
    copts.codec = *make_codec_factory("line", 1024);
    tcp_client client(lt.loop, copts, handler);
    client.connect();
    REQUIRE(handler.closes.wait_for_at_least(1));  // after "221 bye"
    CHECK(handler.secure_answer == "250 TLSv1.3 TLS_AES_256_GCM_SHA384");
    REQUIRE(handler.session.has_value());
    CHECK(handler.session->peer_subject.find("localhost") != std::string::npos);
    CHECK(handler.reason == close_reason::peer_closed);
  }
  CHECK(client_ctx->handshake_failures() == 0);
  CHECK(server_ctx->handshake_failures() == 0);
}

TEST_CASE("STARTTLS refused under the holding line protocol: the lines behind it are read",
          "[tls][starttls]") {
  // No TLS context: the handler refuses, and its resume_reading() ends the
  // hold that line_protocol put on the input behind STARTTLS.
  counting_session handler(nullptr);
  auto opts = line_server();
  opts.codec = {};
  opts.protocol = [] { return std::make_unique<starttls::line_protocol>(); };
  tcp_server server(opts, handler);
  server.start();
  auto c = client_socket::connect(server.local_address());
  REQUIRE(c.write_all("STARTTLS\nHELO x\nQUIT\n"));
  std::string got;
  CHECK(c.read_to_end(got, std::chrono::seconds(10)) == end_kind::eof);
  CHECK(got == "220 fastnet ready\n454 TLS not available\n250 hello x\n221 bye\n");
}
