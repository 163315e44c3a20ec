// fastnet's WebSocket client (tcp_client + ws::client_protocol) against an
// independent WebSocket server (tests/interop/ws_server.mjs or ws_server.py):
// text, binary from 1 B to 16 MiB, fragmented text with a ping between the
// fragments, the server pinging us (our automatic pong), and the close
// handshake. Every byte is compared; exits 0 when every exchange matched.
//
//   ws_interop_client PORT|URL [--peer-reports-pings] [--ca FILE]
//
// PORT: ws://127.0.0.1:PORT/. URL: ws://... or wss://... (built with
// fastnet::tls): over TLS the server's certificate is verified against
// --ca FILE only and against the URL's host; first, a client checking for
// a name the certificate lacks must be refused.
// --peer-reports-pings: the server answers each ping it receives with a text
// "got-ping:<payload>" (ws_server.mjs does; python3-websockets cannot), so
// our pings are checked to arrive intact.
#include <fastnet/fastnet.hpp>
#include <fastnet/ws.hpp>
#include <fastnet/ws/url.hpp>
#ifdef FASTNET_INTEROP_TLS
#include <fastnet/tls/context.hpp>
#endif

#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "../support/test_socket.hpp"

namespace {

using namespace std::chrono_literals;
// Bounds every wait, so a silent peer fails the run instead of hanging it.
constexpr auto wait_limit = 30s;

struct received {
  fastnet::frame_kind kind = fastnet::frame_kind::data;
  std::string payload;
};

/// Queues what the connection delivers, for the main thread to check in order.
class inbox final : public fastnet::tcp_handler {
 public:
  void on_message(const fastnet::connection_ptr& conn, std::span<const std::byte> frame) override {
    std::lock_guard lock(mutex_);
    queue_.push_back(
        {conn->frame_kind(), {reinterpret_cast<const char*>(frame.data()), frame.size()}});
    cv_.notify_all();
  }
  void on_close(const fastnet::connection_ptr&, fastnet::close_reason why) override {
    std::lock_guard lock(mutex_);
    reason_ = why;
    cv_.notify_all();
  }
  void on_connect_failed(const fastnet::socket_address&, int error) override {
    std::fprintf(stderr, "ws_interop_client: connect failed: %s\n", std::strerror(error));
    std::lock_guard lock(mutex_);
    reason_ = fastnet::close_reason::reset;
    connect_failed_ = true;
    cv_.notify_all();
  }

  /// The next delivered frame, or nothing if the connection ended or the wait ran out.
  std::optional<received> next() {
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, wait_limit, [&] { return !queue_.empty() || reason_; });
    if (queue_.empty()) return std::nullopt;
    received r = std::move(queue_.front());
    queue_.pop_front();
    return r;
  }
  /// True when the attempt failed; false when it connected (a frame or a
  /// close came) or the wait ran out.
  bool wait_connect_failed() {
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, wait_limit, [&] { return !queue_.empty() || reason_; });
    return connect_failed_;
  }
  std::optional<fastnet::close_reason> wait_closed() {
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, wait_limit, [&] { return reason_.has_value(); });
    return reason_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<received> queue_;
  std::optional<fastnet::close_reason> reason_;
  bool connect_failed_ = false;
};

[[noreturn]] void fail(const std::string& why) {
  std::fprintf(stderr, "ws_interop_client: FAIL: %s\n", why.c_str());
  std::exit(1);
}

/// Expects the next frame to be exactly `payload` of `kind`.
void expect(inbox& in, fastnet::frame_kind kind, const std::string& payload,
            const std::string& name) {
  auto r = in.next();
  if (!r) fail(name + ": nothing arrived");
  if (r->kind != kind)
    fail(name + ": got a " + fastnet::to_string(r->kind) + " frame, expected " +
         fastnet::to_string(kind));
  if (r->payload != payload)
    fail(name + ": " + std::to_string(r->payload.size()) + " bytes differ from the " +
         std::to_string(payload.size()) + " expected");
  std::printf("ok %s\n", name.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: ws_interop_client PORT|URL [--peer-reports-pings] [--ca FILE]\n");
    return 2;
  }
  const std::string target = argv[1];
  bool peer_reports_pings = false;
  std::string ca_file;
  for (int i = 2; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--peer-reports-pings")
      peer_reports_pings = true;
    else if (arg == "--ca" && i + 1 < argc)
      ca_file = argv[++i];
    else
      fail("unknown argument " + arg);
  }
  namespace ws = fastnet::ws;

  auto u = ws::parse_url(target.find("://") == std::string::npos
                             ? "ws://127.0.0.1:" + std::to_string(std::atoi(target.c_str())) + "/"
                             : target);
  if (!u) fail("not a ws:// or wss:// URL: " + target);
  fastnet::tcp_client_options opts;
  auto address = fastnet::socket_address::resolve(u->host, u->port);
  if (!address) fail("cannot resolve " + u->host);
  opts.address = *address;
  opts.max_attempts = 1;
  opts.protocol = ws::client_protocol_factory(u->client_options());
  fastnet::event_loop loop;
  std::thread loop_thread([&] { loop.run(); });
  if (u->secure) {
#ifdef FASTNET_INTEROP_TLS
    // Trusts the test CA only; checks (and sends as SNI, when a name) `name`.
    auto tls_for = [&](const std::string& name) {
      fastnet::tls::client_config cfg;
      cfg.ca_file = ca_file;
      cfg.server_name = name;
      return fastnet::tls::context::client(cfg)->transports();
    };
    {
      // The check must be real: a name the certificate lacks fails the
      // handshake, a failed attempt that never becomes a connection.
      auto wrong_opts = opts;
      wrong_opts.transport = tls_for("not-this-server.example");
      inbox wrong;
      fastnet::tcp_client wrong_client(loop, wrong_opts, wrong);
      wrong_client.connect();
      if (!wrong.wait_connect_failed()) fail("a certificate for another name was accepted");
      std::printf("ok another name refused\n");
    }
    opts.transport = tls_for(u->host);
#else
    fail("wss:// needs fastnet::tls, which this build does not have");
#endif
  }
  inbox in;
  {
    fastnet::tcp_client client(loop, opts, in);
    client.connect();
    auto open = in.next();
    if (!open || open->kind != ws::kind::open) fail("no opening handshake");
    std::printf("ok handshake\n");
    auto conn = client.connection();
    if (!conn) fail("no connection after the handshake");

    auto echo = [&](const std::string& payload, fastnet::frame_kind kind, const std::string& name) {
      if (!conn->send(std::string_view(payload), kind)) fail(name + ": send refused");
      expect(in, kind, payload, name);
    };
    echo("hello", ws::kind::text, "text \"hello\"");
    echo("", ws::kind::text, "empty text");
    echo("h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93 \xf0\x9f\x9a\x80", ws::kind::text, "utf-8 text");
    echo(std::string(100000, 'x'), ws::kind::text, "text 100000 B");
    uint32_t seed = 1;
    for (size_t size : {size_t{1}, size_t{2}, size_t{125}, size_t{126}, size_t{127}, size_t{65535},
                        size_t{65536}, size_t{65537}, size_t{(1 << 20) + 7}, size_t{16 << 20}})
      echo(fastnet::test::random_bytes(size, seed++), ws::kind::binary,
           "binary " + std::to_string(size) + " B");

    // A ping between the fragments of a message (RFC 6455 5.4): the peer
    // must answer it and still join the fragments into one message.
    conn->send(std::string_view("frag"), ws::kind::text, fastnet::fragment::more);
    conn->send(std::string_view("between fragments"), ws::kind::ping);
    conn->send(std::string_view("mented"), ws::kind::text);
    if (peer_reports_pings)
      expect(in, ws::kind::text, "got-ping:between fragments", "our ping reached the peer");
    expect(in, ws::kind::text, "fragmented", "fragmented text with a ping inside");

    // The peer pings us; it reports only once our automatic pong matched.
    conn->send(std::string_view("ping-me:are you there?"), ws::kind::text);
    expect(in, ws::kind::text, "pong-ok:are you there?", "our pong answered the peer's ping");

    // Our close is answered by the peer's close with the same code; then
    // the connection ends on our side's linger (local_close).
    conn->send(ws::close_payload(4000, "bye"), ws::kind::close);
    auto close = in.next();
    if (!close || close->kind != ws::kind::close) fail("no close frame in answer to ours");
    auto info = ws::parse_close_payload(std::as_bytes(std::span(close->payload)));
    if (info.code != 4000) fail("close answered with code " + std::to_string(info.code));
    std::printf("ok close %u \"%.*s\"\n", unsigned{info.code}, static_cast<int>(info.reason.size()),
                info.reason.data());
    auto why = in.wait_closed();
    if (!why) fail("the connection did not end after the close handshake");
    if (*why != fastnet::close_reason::local_close && *why != fastnet::close_reason::peer_closed)
      fail(std::string("connection ended with ") + fastnet::to_string(*why));
    if (auto extra = in.next())
      fail(std::string("unexpected ") + fastnet::to_string(extra->kind) + " frame");
  }
  loop.quit();
  loop_thread.join();
  std::printf("ws_interop_client: all exchanges verified\n");
  return 0;
}
