// TLS (fastnet::tls) over real sockets on 127.0.0.1, against peers nobody
// here wrote — openssl s_client and s_server and Python's ssl module, run as
// processes — and fastnet's client against its own server: echo up to 1 MiB
// in one write (8 MiB each way between fastnet's own ends), what tls::info()
// reports (version, cipher, ALPN, SNI, the client certificate's subject,
// resumption), TLS 1.2 and min_version, close_notify both ways (close(),
// stop(), the peer's, and its absence), required and optional client
// certificates, hostile peers (plain text, garbage, a stalled ClientHello,
// a handshake cut off by stop()) that must neither hang nor leak,
// a peer that resets mid-record (nothing half delivered), descriptors back to
// their baseline after each hostile peer, certificates a client must refuse,
// reload(), and configurations that must not build. The certificates come from
// scripts/make_test_certs.sh (the tls_certs CTest fixture) in FASTNET_TLS_CERTS.
#include <catch2/catch.hpp>
#include <fastnet/fastnet.hpp>
#include <fastnet/tls/context.hpp>

#include <unistd.h>

#include <any>
#include <atomic>
#include <filesystem>
#include <functional>
#include <iterator>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "support/loop_thread.hpp"
#include "support/test_socket.hpp"
#include "support/tls_peers.hpp"

using namespace fastnet;
using namespace fastnet::test;
using Catch::Matchers::Contains;

namespace {

tcp_server_options tls_server(const std::shared_ptr<tls::context>& ctx) {
  tcp_server_options o;
  o.address = *socket_address::ip("127.0.0.1", 0);
  o.loops = 1;
  o.transport = ctx->transports();
  return o;
}

/// Server side: echoes every frame (optionally closing after the first
/// echo); records tls::info() at on_connect and at each connection's first
/// frame, and every close reason.
class tls_echo final : public tcp_handler {
 public:
  bool close_after_echo = false;
  /// When set, sent instead of the echo of each connection's first frame.
  std::string reply;

  void on_connect(const connection_ptr& c) override {
    {
      std::lock_guard lock(mutex_);
      connect_infos_.push_back(tls::info(*c));
    }
    connects.add();
  }
  void on_message(const connection_ptr& c, std::span<const std::byte> frame) override {
    if (!c->context().has_value()) {
      c->context() = true;
      std::lock_guard lock(mutex_);
      frame_infos_.push_back(tls::info(*c));
    }
    bytes_in_.fetch_add(frame.size());
    messages.add();  // counted before the peer can see the echo
    if (reply.empty()) {
      c->send(frame);
    } else if (std::any_cast<bool>(c->context())) {
      c->context() = false;  // the reply once, for the first frame
      c->send(reply);
    }
    if (close_after_echo) c->close();
  }
  void on_close(const connection_ptr&, close_reason why) override {
    {
      std::lock_guard lock(mutex_);
      reasons_.push_back(why);
    }
    closes.add();
  }

  std::vector<std::optional<tls::session_info>> connect_infos() const {
    std::lock_guard lock(mutex_);
    return connect_infos_;
  }
  /// One per connection that sent anything, taken before its first echo.
  std::vector<std::optional<tls::session_info>> frame_infos() const {
    std::lock_guard lock(mutex_);
    return frame_infos_;
  }
  std::vector<close_reason> reasons() const {
    std::lock_guard lock(mutex_);
    return reasons_;
  }

  /// Plaintext bytes delivered to on_message, over all connections.
  size_t bytes_in() const { return bytes_in_.load(); }

  waitable_counter connects, messages, closes;

 private:
  std::atomic<size_t> bytes_in_{0};
  mutable std::mutex mutex_;
  std::vector<std::optional<tls::session_info>> connect_infos_, frame_infos_;
  std::vector<close_reason> reasons_;
};

/// A started TLS echo server on one loop of 127.0.0.1: the context, the
/// handler (`setup` configures it before the server starts) and the server.
struct echo_fixture {
  explicit echo_fixture(const tls::server_config& cfg,
                        const std::function<void(tls_echo&)>& setup = {})
      : ctx(tls::context::server(cfg)) {
    if (setup) setup(handler);
    server.start();
  }
  std::shared_ptr<tls::context> ctx;
  tls_echo handler;
  tcp_server server{tls_server(ctx), handler};
};

/// An event loop on a thread of its own, for clients. Declare it after the
/// handlers and before the clients.

/// Client side: sends `rounds` messages of 64 B one at a time, each after
/// the previous one came back whole; records tls::info() at on_connect.
/// With rounds = 0 it sends `greeting` on connect and collects the reply.
class pinger final : public tcp_handler {
 public:
  explicit pinger(int rounds, std::string greeting = {})
      : rounds_(rounds), greeting_(std::move(greeting)) {
    for (int i = 0; i < rounds; ++i)
      sent_.push_back(random_bytes(64, static_cast<uint32_t>(1000 + i)));
  }
  void on_connect(const connection_ptr& c) override {
    {
      std::lock_guard lock(mutex_);
      infos_.push_back(tls::info(*c));
      received_.clear();
      done_ = 0;
    }
    connects.add();
    if (rounds_ > 0) c->send(sent_[0]);
    if (!greeting_.empty()) c->send(greeting_);
  }
  void on_message(const connection_ptr& c, std::span<const std::byte> frame) override {
    long completed = 0;
    int next = -1;
    {
      std::lock_guard lock(mutex_);
      received_.append(reinterpret_cast<const char*>(frame.data()), frame.size());
      while (done_ < rounds_ && received_.size() >= 64 * static_cast<size_t>(done_ + 1)) {
        ++done_;
        ++completed;
        if (done_ < rounds_) next = done_;
      }
    }
    // Sent outside the lock: a send may close the connection (on_close).
    if (next >= 0) c->send(sent_[static_cast<size_t>(next)]);
    bytes.add(static_cast<long>(frame.size()));
    if (completed) rounds.add(completed);
  }
  void on_close(const connection_ptr&, close_reason why) override {
    {
      std::lock_guard lock(mutex_);
      reasons_.push_back(why);
    }
    closes.add();
  }
  void on_connect_failed(const socket_address&, int) override { connect_failures.add(); }

  std::string expected() const {
    std::string all;
    for (auto& s : sent_)
      all += s;
    return all;
  }
  std::string received() const {
    std::lock_guard lock(mutex_);
    return received_;
  }
  std::vector<std::optional<tls::session_info>> infos() const {
    std::lock_guard lock(mutex_);
    return infos_;
  }
  std::vector<close_reason> reasons() const {
    std::lock_guard lock(mutex_);
    return reasons_;
  }

  waitable_counter connects, bytes, rounds, closes, connect_failures;

 private:
  const int rounds_;
  const std::string greeting_;
  std::vector<std::string> sent_;
  mutable std::mutex mutex_;
  std::string received_;
  int done_ = 0;
  std::vector<std::optional<tls::session_info>> infos_;
  std::vector<close_reason> reasons_;
};

/// `openssl s_server -rev` (answers each line reversed) on an ephemeral port
/// of 127.0.0.1 with the given certificate; returns the port, 0 if it did
/// not say where it listens.
uint16_t start_s_server(subprocess& p) {
  if (!p.wait_output("ACCEPT ", std::chrono::seconds(10))) return 0;
  size_t at = p.out.find("ACCEPT ");
  if (!p.wait_output("\n", std::chrono::seconds(10), at)) return 0;
  std::string line = p.out.substr(at, p.out.find('\n', at) - at);
  auto colon = line.rfind(':');
  if (colon == std::string::npos) return 0;
  return static_cast<uint16_t>(std::stoi(line.substr(colon + 1)));
}

std::vector<std::string> s_server_args(const std::string& cert_name, const std::string& key_name) {
  return {"openssl",       "s_server", "-accept",      "127.0.0.1:0", "-cert",
          cert(cert_name), "-key",     cert(key_name), "-rev"};
}

}  // namespace

TEST_CASE("openssl s_client gets its line echoed over TLS 1.3", "[tls][interop]") {
  echo_fixture fixture(server_config());
  auto& [ctx, handler, server] = fixture;
  subprocess client({"openssl", "s_client", "-connect",
                     "127.0.0.1:" + std::to_string(server.local_address().port()), "-CAfile",
                     cert("ca.pem"), "-verify_return_error", "-quiet"},
                    "hello fastnet\n");
  bool echoed = client.wait_output("hello fastnet\n", std::chrono::seconds(20));
  INFO("s_client stdout:\n" << client.out << "stderr:\n" << client.err);
  CHECK(echoed);
  CHECK(client.out == "hello fastnet\n");
  client.kill();
  REQUIRE(handler.messages.wait_for_at_least(1));
  auto infos = handler.frame_infos();
  REQUIRE(infos.size() == 1);
  REQUIRE(infos[0].has_value());
  CHECK(infos[0]->version == "TLSv1.3");
  CHECK_FALSE(infos[0]->cipher.empty());
  CHECK(ctx->handshake_failures() == 0);
}

TEST_CASE("python ssl gets every byte back, 1 MiB in one sendall included", "[tls][interop]") {
  echo_fixture fixture(server_config());
  auto& [ctx, handler, server] = fixture;
  size_t size = GENERATE(size_t{1}, size_t{16384}, size_t{1} << 20);
  INFO("size " << size);
  auto r = python_client(server.local_address(), {"size=" + std::to_string(size)});
  INFO_RUN(r);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Contains("handshake ok TLSv1.3"));
  CHECK_THAT(r.out, Contains("echo ok " + std::to_string(size) + "\n"));
  auto infos = handler.frame_infos();
  REQUIRE(infos.size() == 1);
  REQUIRE(infos[0].has_value());
  CHECK(infos[0]->version == "TLSv1.3");
  CHECK(infos[0]->server_name == "localhost");  // Python sends server_hostname as SNI
  CHECK(infos[0]->alpn.empty());
  CHECK(infos[0]->peer_subject.empty());
  CHECK_FALSE(infos[0]->resumed);
  // on_connect already sees the finished handshake.
  auto at_connect = handler.connect_infos();
  REQUIRE(at_connect.size() == 1);
  REQUIRE(at_connect[0].has_value());
  CHECK(at_connect[0]->version == "TLSv1.3");
  CHECK(ctx->handshake_failures() == 0);
}

TEST_CASE("ALPN: the server picks its first protocol the client offers", "[tls][interop]") {
  auto cfg = server_config();
  cfg.alpn = {"h2", "fastnet/1"};
  echo_fixture fixture(cfg);
  auto& [ctx, handler, server] = fixture;
  struct offer {
    const char* client;  // nullptr: no ALPN offered
    const char* selected;
  };
  auto o =
      GENERATE(offer{"fastnet/1", "fastnet/1"}, offer{"fastnet/1,h2", "h2"}, offer{nullptr, ""});
  INFO("client offers " << (o.client ? o.client : "nothing"));
  std::vector<std::string> args;
  if (o.client) args.push_back(std::string("alpn=") + o.client);
  auto r = python_client(server.local_address(), args);
  INFO_RUN(r);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Contains(std::string("handshake ok TLSv1.3 ") +
                             (*o.selected ? o.selected : "None") + " "));
  CHECK_THAT(r.out, Contains("echo ok 16"));
  auto infos = handler.frame_infos();
  REQUIRE(infos.size() == 1);
  REQUIRE(infos[0].has_value());
  CHECK(infos[0]->alpn == o.selected);
}

TEST_CASE("close() after an echo sends close_notify: the peer sees the echo, then a clean EOF",
          "[tls][close]") {
  echo_fixture fixture(server_config(), [](tls_echo& h) { h.close_after_echo = true; });
  auto& [ctx, handler, server] = fixture;
  // Python then closes its socket, with or without a close_notify of its own.
  const bool answer = GENERATE(false, true);
  INFO("the peer answers with close_notify: " << answer);
  // suppress_ragged_eofs=False: an EOF without close_notify raises SSLEOFError.
  auto r = python_client(server.local_address(),
                         {"size=100", "end=eof", answer ? "answer=1" : "answer=0"});
  INFO_RUN(r);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Contains("echo ok 100"));
  CHECK_THAT(r.out, Contains("eof clean"));
  if (answer) CHECK_THAT(r.out, Contains("answered"));
  REQUIRE(handler.closes.wait_for_at_least(1));
  CHECK(handler.messages.value() >= 1);
  // As over plain TCP (close_test): our close() ended it, the peer's FIN
  // only answered ours.
  CHECK(handler.reasons().at(0) == close_reason::local_close);
}

TEST_CASE("a peer's close_notify ends the connection as peer_closed, answered by ours",
          "[tls][close]") {
  echo_fixture fixture(server_config());
  auto& [ctx, handler, server] = fixture;
  // Python's unwrap() sends close_notify and returns once the server's arrives.
  auto r = python_client(server.local_address(), {"end=notify"});
  INFO_RUN(r);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Contains("echo ok 16"));
  CHECK_THAT(r.out, Contains("unwrap ok"));
  REQUIRE(handler.closes.wait_for_at_least(1));
  CHECK(handler.reasons().at(0) == close_reason::peer_closed);
}

TEST_CASE("a peer that drops TCP without close_notify ends the connection as reset",
          "[tls][close]") {
  echo_fixture fixture(server_config());
  auto& [ctx, handler, server] = fixture;
  auto r = python_client(server.local_address(), {"end=drop"});
  INFO_RUN(r);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Contains("echo ok 16"));
  CHECK_THAT(r.out, Contains("dropped"));
  REQUIRE(handler.closes.wait_for_at_least(1));
  // A truncation attack looks exactly like this: not a clean end.
  CHECK(handler.reasons().at(0) == close_reason::reset);
}

TEST_CASE("required client certificates: verified ones are served, others fail the handshake",
          "[tls][client_auth]") {
  auto cfg = server_config();
  cfg.verify_client = tls::client_auth::required;
  cfg.ca_file = cert("ca.pem");
  echo_fixture fixture(cfg);
  auto& [ctx, handler, server] = fixture;

  {
    auto r = python_client(server.local_address(),
                           {"cert=" + cert("client.pem"), "key=" + cert("client.key")});
    INFO_RUN(r);
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.out, Contains("echo ok 16"));
    auto infos = handler.frame_infos();
    REQUIRE(infos.size() == 1);
    REQUIRE(infos[0].has_value());
    CHECK_THAT(infos[0]->peer_subject, Contains("fastnet-test-client"));
    CHECK(ctx->handshake_failures() == 0);
  }
  const long served = handler.messages.value();
  CHECK(handler.connects.value() == 1);

  struct bad_client {
    const char* what;
    std::vector<std::string> args;
  };
  std::vector<bad_client> bad = {
      {"no client certificate", {}},
      {"a certificate from another CA", {"cert=" + cert("other.pem"), "key=" + cert("other.key")}},
  };
  uint64_t failures = 0;
  for (auto& b : bad) {
    INFO(b.what);
    auto r = python_client(server.local_address(), b.args);
    INFO_RUN(r);
    CHECK(r.exit_code == 0);
    // TLS 1.3: the client's side of the handshake ends before the server
    // checks its certificate, so the refusal shows on the first read.
    CHECK_THAT(r.out, !Contains("echo ok"));
    CHECK((r.out.find("handshake failed") != std::string::npos ||
           r.out.find("echo failed") != std::string::npos));
    ++failures;
    CHECK(eventually([&] { return ctx->handshake_failures() >= failures; }));
    CHECK(handler.messages.value() == served);
    CHECK(handler.connects.value() == 1);
  }
  CHECK(eventually([&] { return server.connection_count() == 0; }));
  const auto st = server.stats().connections();
  CHECK(st.event_count("fastnet_tls_handshake_failures_total", "certificate") == 2);
  CHECK(st.event_count("fastnet_tls_handshakes_total", "full") == 1);
  // Only the served client was a connection to the handler (one on_close).
  CHECK(handler.closes.wait_for_at_least(1));
  CHECK(handler.closes.value() == 1);
}

TEST_CASE("close() flushes a 4 MiB reply over TLS, then close_notify", "[tls][close]") {
  echo_fixture fixture(server_config(), [](tls_echo& h) {
    h.reply = pattern(4 << 20);
    h.close_after_echo = true;
  });
  auto& [ctx, handler, server] = fixture;
  auto r = python_client(server.local_address(),
                         {"size=10", "recv=" + std::to_string(4 << 20), "end=eof"});
  INFO_RUN(r);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Contains("recv ok " + std::to_string(4 << 20) + "\n"));
  CHECK_THAT(r.out, Contains("eof clean"));
  REQUIRE(handler.closes.wait_for_at_least(1));
  CHECK(handler.reasons().at(0) == close_reason::local_close);
}

TEST_CASE("TLS 1.2 is served by default, with a forward-secret AEAD cipher", "[tls][interop]") {
  echo_fixture fixture(server_config());
  auto& [ctx, handler, server] = fixture;
  auto r = python_client(server.local_address(), {"tls12=1"});
  INFO_RUN(r);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Contains("handshake ok TLSv1.2 None ECDHE-"));
  CHECK_THAT(r.out, Contains("echo ok 16"));
  auto infos = handler.frame_infos();
  REQUIRE(infos.size() == 1);
  REQUIRE(infos[0].has_value());
  CHECK(infos[0]->version == "TLSv1.2");
  CHECK_THAT(infos[0]->cipher, Contains("ECDHE-"));
  CHECK((infos[0]->cipher.find("GCM") != std::string::npos ||
         infos[0]->cipher.find("CHACHA20") != std::string::npos));
  CHECK(infos[0]->server_name == "localhost");
}

TEST_CASE("min_version tls1_3 refuses a TLS 1.2 client", "[tls][interop]") {
  auto cfg = server_config();
  cfg.min_version = tls::version::tls1_3;
  echo_fixture fixture(cfg);
  auto& [ctx, handler, server] = fixture;
  auto r = python_client(server.local_address(), {"tls12=1"});
  INFO_RUN(r);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Contains("handshake failed"));
  CHECK(eventually([&] { return ctx->handshake_failures() >= 1; }));
  CHECK(handler.connects.value() == 0);
  // A TLS 1.3 client is served.
  auto ok = python_client(server.local_address(), {});
  INFO_RUN(ok);
  CHECK_THAT(ok.out, Contains("echo ok 16"));
}

TEST_CASE("optional client certificates: verified when sent, not needed otherwise",
          "[tls][client_auth]") {
  auto cfg = server_config();
  cfg.verify_client = tls::client_auth::optional;
  cfg.ca_file = cert("ca.pem");
  echo_fixture fixture(cfg);
  auto& [ctx, handler, server] = fixture;
  auto with = python_client(server.local_address(),
                            {"cert=" + cert("client.pem"), "key=" + cert("client.key")});
  INFO_RUN(with);
  CHECK_THAT(with.out, Contains("echo ok 16"));
  auto without = python_client(server.local_address(), {});
  INFO_RUN(without);
  CHECK_THAT(without.out, Contains("echo ok 16"));
  auto infos = handler.frame_infos();
  REQUIRE(infos.size() == 2);
  REQUIRE(infos[0].has_value());
  REQUIRE(infos[1].has_value());
  CHECK_THAT(infos[0]->peer_subject, Contains("fastnet-test-client"));
  CHECK(infos[1]->peer_subject.empty());
  CHECK(ctx->handshake_failures() == 0);
  // A certificate that is sent is verified: one from another CA fails.
  auto bad = python_client(server.local_address(),
                           {"cert=" + cert("other.pem"), "key=" + cert("other.key")});
  INFO_RUN(bad);
  CHECK_THAT(bad.out, !Contains("echo ok"));
  CHECK(eventually([&] { return ctx->handshake_failures() >= 1; }));
  CHECK(handler.frame_infos().size() == 2);
}

TEST_CASE("reload() takes new files for new connections, a bad one keeps the old context",
          "[tls][config]") {
  namespace fs = std::filesystem;
  fs::path dir = cert("reload-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  fs::copy_file(cert("server.pem"), dir / "server.pem");
  fs::copy_file(cert("server.key"), dir / "server.key");
  auto cfg = server_config();
  cfg.cert_file = dir / "server.pem";
  cfg.key_file = dir / "server.key";
  echo_fixture fixture(cfg);
  auto& [ctx, handler, server] = fixture;
  auto before = python_client(server.local_address(), {});
  INFO_RUN(before);
  CHECK_THAT(before.out, Contains("echo ok 16"));

  CHECK_NOTHROW(ctx->reload());
  auto after = python_client(server.local_address(), {});
  INFO_RUN(after);
  CHECK_THAT(after.out, Contains("echo ok 16"));

  // The key no longer matches: reload() throws, the old context serves on.
  fs::copy_file(cert("client.key"), dir / "server.key", fs::copy_options::overwrite_existing);
  CHECK_THROWS_AS(ctx->reload(), tls::config_error);
  auto still = python_client(server.local_address(), {});
  INFO_RUN(still);
  CHECK_THAT(still.out, Contains("echo ok 16"));

  // Files that work again: the server now presents other.pem, which a client
  // trusting only ca.pem refuses (so the reload did take effect).
  fs::copy_file(cert("other.pem"), dir / "server.pem", fs::copy_options::overwrite_existing);
  fs::copy_file(cert("other.key"), dir / "server.key", fs::copy_options::overwrite_existing);
  CHECK_NOTHROW(ctx->reload());
  auto other = python_client(server.local_address(), {});
  INFO_RUN(other);
  CHECK_THAT(other.out, Contains("handshake failed"));
  server.stop();
  fs::remove_all(dir);
}

namespace {

/// A raw TCP peer sends `bytes` to a TLS server, then waits: the server must
/// close the connection (EOF or reset) with the handshake counted as failed,
/// no on_connect and nothing left open.
/// The descriptors this process has open: what a server must give back.
size_t open_fds() {
  return static_cast<size_t>(std::distance(std::filesystem::directory_iterator("/proc/self/fd"),
                                           std::filesystem::directory_iterator{}));
}

/// A raw TCP peer sends `bytes` to a TLS server, then waits: the server must
/// close the connection (EOF or reset) with the handshake counted as failed,
/// no on_connect, nothing left open, and every descriptor given back. The
/// server's statistics count the failure as `reason`.
void hostile_peer(const std::string& bytes, tls::server_config cfg, bool probe_meanwhile,
                  const char* reason) {
  auto ctx = tls::context::server(cfg);
  const size_t fds_before = open_fds();
  {
    tls_echo handler;
    tcp_server server(tls_server(ctx), handler);
    server.start();
    auto c = client_socket::connect(server.local_address());
    REQUIRE(c.write_all(bytes));
    if (probe_meanwhile) {
      // The stalled handshake holds up no one: a real client on the same
      // (single) loop is served while it waits.
      auto r = python_client(server.local_address(), {"size=1000"});
      INFO_RUN(r);
      CHECK(r.exit_code == 0);
      CHECK_THAT(r.out, Contains("echo ok 1000"));
    }
    std::string got;
    // Bounded by the default handshake_timeout (10 s) and then some.
    auto end = c.read_to_end(got, std::chrono::seconds(20));
    INFO("the server sent " << got.size() << " bytes before closing");
    CHECK(end != end_kind::timeout);
    CHECK(eventually([&] { return ctx->handshake_failures() >= 1; }));
    // Only the probe (if any) was ever a connection to the handler.
    CHECK(handler.connects.value() == (probe_meanwhile ? 1 : 0));
    CHECK(handler.frame_infos().size() == (probe_meanwhile ? 1u : 0u));
    c.close();
    CHECK(eventually([&] { return server.connection_count() == 0; }));
    CHECK(eventually([&] {
      return server.stats().connections().event_count("fastnet_tls_handshake_failures_total",
                                                      reason) == 1;
    }));
    // The handler never heard of the hostile connection: no on_close either.
    CHECK(handler.closes.wait_for_at_least(handler.connects.value()));
    CHECK(handler.closes.value() == handler.connects.value());
    // The server is still healthy.
    auto r = python_client(server.local_address(), {});
    INFO_RUN(r);
    CHECK_THAT(r.out, Contains("echo ok 16"));
    server.stop();
  }
  CHECK(open_fds() == fds_before);
}

/// Python's ssl over memory BIOs, so it can cut a record: handshake, one
/// 100-byte echo, then the first half of a 1000-byte record and a reset
/// (SO_LINGER 0). Prints "echo ok 100", then "cut N of M".
constexpr const char* py_cut_record_client = R"PY(
import socket, ssl, struct, sys
a = dict(x.split('=', 1) for x in sys.argv[1:])
ctx = ssl.create_default_context(cafile=a['ca'])
raw = socket.create_connection(('127.0.0.1', int(a['port'])), timeout=10)
into, out = ssl.MemoryBIO(), ssl.MemoryBIO()
tls = ctx.wrap_bio(into, out, server_hostname='localhost')
def pump(step):
    while True:
        try: return step()
        except ssl.SSLWantReadError:
            raw.sendall(out.read())
            d = raw.recv(65536)
            if not d: print('eof'); sys.exit(0)
            into.write(d)
pump(tls.do_handshake)
raw.sendall(out.read())
tls.write(b'x' * 100)
raw.sendall(out.read())
got = b''
while len(got) < 100: got += pump(lambda: tls.read(65536))
print('echo', 'ok' if got == b'x' * 100 else 'mismatch', len(got), flush=True)
tls.write(b'y' * 1000)
record = out.read()
raw.sendall(record[:len(record) // 2])
raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
raw.close()
print('cut', len(record) // 2, 'of', len(record))
)PY";

}  // namespace

TEST_CASE("hostile peer: plain HTTP to the TLS port is closed and counted", "[tls][hostile]") {
  hostile_peer("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n", server_config(), false, "not_tls");
}

TEST_CASE("hostile peer: random garbage is closed and counted", "[tls][hostile]") {
  // Starts d7 5f 54 d4: no TLS record type, nothing to wait for.
  std::string garbage = random_bytes(4096, 77);
  INFO("first byte " << int(static_cast<unsigned char>(garbage[0])));
  hostile_peer(garbage, server_config(), false, "not_tls");
}

TEST_CASE("hostile peer: a ClientHello cut short is closed at the handshake timeout",
          "[tls][hostile]") {
  // A handshake record header announcing 512 bytes, the ClientHello's own
  // header (508 bytes), the legacy version and the start of the random.
  const unsigned char part[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03,
                                0x03, 0x5a, 0x11, 0x27, 0x90, 0x3e, 0xc4, 0x08, 0x61, 0xd2};
  auto cfg = server_config();
  cfg.handshake_timeout = std::chrono::milliseconds(300);
  hostile_peer(std::string(reinterpret_cast<const char*>(part), sizeof part), cfg, true,
               "unfinished");
}

TEST_CASE("a peer that resets in the middle of a record ends as reset, nothing half delivered",
          "[tls][hostile]") {
  auto ctx = tls::context::server(server_config());
  const size_t fds_before = open_fds();
  {
    tls_echo handler;
    tcp_server server(tls_server(ctx), handler);
    server.start();
    auto r = run_program(
        {"python3", "-c", py_cut_record_client,
         "port=" + std::to_string(server.local_address().port()), "ca=" + cert("ca.pem")},
        std::chrono::seconds(30));
    INFO_RUN(r);
    REQUIRE(r.exit_code == 0);
    CHECK_THAT(r.out, Contains("echo ok 100"));
    CHECK_THAT(r.out, Contains("cut "));
    REQUIRE(handler.closes.wait_for_at_least(1));
    CHECK(handler.reasons().at(0) == close_reason::reset);
    // The 100 bytes arrived; of the cut record, nothing (TLS delivers a
    // record only once its authentication tag checks out).
    CHECK(handler.bytes_in() == 100);
    CHECK(server.connection_count() == 0);
    auto again = python_client(server.local_address(), {});
    INFO_RUN(again);
    CHECK_THAT(again.out, Contains("echo ok 16"));
    server.stop();
  }
  CHECK(open_fds() == fds_before);
}

TEST_CASE("the fastnet client talks to openssl s_server", "[tls][client][interop]") {
  subprocess s_server(s_server_args("server.pem", "server.key"));
  uint16_t port = start_s_server(s_server);
  INFO("s_server stdout:\n" << s_server.out << "stderr:\n" << s_server.err);
  REQUIRE(port != 0);
  auto ctx = tls::context::client(client_config());
  tcp_client_options copts;
  copts.address = *socket_address::ip("127.0.0.1", port);
  copts.max_attempts = 1;
  copts.transport = ctx->transports();
  pinger handler(0, "hello fastnet\n");
  loop_thread lt;
  tcp_client client(lt.loop, copts, handler);
  client.connect();
  REQUIRE(handler.connects.wait_for_at_least(1));
  CHECK(handler.bytes.wait_for_at_least(14));
  CHECK(handler.received() == "tentsaf olleh\n");  // -rev: "hello fastnet" reversed
  auto infos = handler.infos();
  REQUIRE(infos.size() == 1);
  REQUIRE(infos[0].has_value());
  CHECK(infos[0]->version == "TLSv1.3");
  CHECK_THAT(infos[0]->peer_subject, Contains("localhost"));
  CHECK(ctx->handshake_failures() == 0);
  client.disconnect();
  CHECK(handler.closes.wait_for_at_least(1));
}

TEST_CASE("the fastnet client refuses servers it cannot verify", "[tls][client][interop]") {
  struct bad_server {
    const char* what;
    const char* cert_file;
    const char* key_file;
    const char* ca_file;
    const char* server_name;
  };
  auto b = GENERATE(
      bad_server{"a name the certificate lacks", "server.pem", "server.key", "ca.pem",
                 "wrong.example"},
      bad_server{"a CA we do not trust", "server.pem", "server.key", "other_ca.pem", "localhost"},
      bad_server{"a server certificate signed by another CA", "other.pem", "other.key", "ca.pem",
                 "localhost"},
      bad_server{"an expired certificate", "expired.pem", "expired.key", "ca.pem", "localhost"});
  INFO(b.what);
  subprocess s_server(s_server_args(b.cert_file, b.key_file));
  uint16_t port = start_s_server(s_server);
  INFO("s_server stdout:\n" << s_server.out << "stderr:\n" << s_server.err);
  REQUIRE(port != 0);
  auto cfg = client_config();
  cfg.ca_file = cert(b.ca_file);
  cfg.server_name = b.server_name;
  auto ctx = tls::context::client(cfg);
  tcp_client_options copts;
  copts.address = *socket_address::ip("127.0.0.1", port);
  copts.max_attempts = 1;
  copts.transport = ctx->transports();
  pinger handler(0, "hello fastnet\n");
  loop_thread lt;
  tcp_client client(lt.loop, copts, handler);
  client.connect();
  CHECK(eventually([&] { return ctx->handshake_failures() >= 1; }));
  // A failed handshake is a failed attempt (max_attempts = 1: the last),
  // never a connection: no on_connect, no on_close (close_reason.hpp,
  // handshake_failed).
  CHECK(handler.connect_failures.wait_for_at_least(1));
  CHECK(handler.connects.value() == 0);
  CHECK(handler.closes.value() == 0);
  CHECK(handler.bytes.value() == 0);
}

TEST_CASE("fastnet client and server: 200 messages of 64 B echoed, then a resumed session",
          "[tls][client]") {
  auto sctx = tls::context::server(server_config());
  tls_echo server_handler;
  tcp_server server(tls_server(sctx), server_handler);
  server.start();
  auto cctx = tls::context::client(client_config());
  tcp_client_options copts;
  copts.address = server.local_address();
  copts.max_attempts = 1;
  copts.transport = cctx->transports();

  pinger first(200);
  pinger second(1);
  connection_stats first_stats, second_stats;
  loop_thread lt;
  {
    tcp_client client(lt.loop, copts, first);
    client.connect();
    REQUIRE(first.rounds.wait_for_at_least(200, std::chrono::seconds(30)));
    CHECK(first.received() == first.expected());
    // TLS 1.3 tickets arrive after the handshake; echoes were read after
    // them, so the client context holds a session now.
    client.disconnect();
    REQUIRE(first.closes.wait_for_at_least(1));
    first_stats = client.stats();
  }
  {
    tcp_client client(lt.loop, copts, second);
    client.connect();
    REQUIRE(second.rounds.wait_for_at_least(1));
    CHECK(second.received() == second.expected());
    client.disconnect();
    REQUIRE(second.closes.wait_for_at_least(1));
    second_stats = client.stats();
  }
  auto a = first.infos(), b = second.infos();
  REQUIRE(a.size() == 1);
  REQUIRE(b.size() == 1);
  REQUIRE(a[0].has_value());
  REQUIRE(b[0].has_value());
  CHECK(a[0]->version == "TLSv1.3");
  CHECK_FALSE(a[0]->resumed);
  CHECK(b[0]->resumed);
  // The server agrees.
  auto s = server_handler.frame_infos();
  REQUIRE(s.size() == 2);
  REQUIRE(s[0].has_value());
  REQUIRE(s[1].has_value());
  CHECK_FALSE(s[0]->resumed);
  CHECK(s[1]->resumed);
  CHECK(s[0]->server_name == "localhost");
  CHECK(sctx->handshake_failures() == 0);
  CHECK(cctx->handshake_failures() == 0);
  // Both ends counted one full and one resumed handshake, and timed them.
  constexpr const char* done = "fastnet_tls_handshakes_total";
  const auto st = server.stats().connections();
  CHECK(st.event_count(done, "full") == 1);
  CHECK(st.event_count(done, "resumed") == 1);
  REQUIRE(st.handshakes.size() == 1);
  CHECK(std::string(st.handshakes[0].layer) == "tls");
  CHECK(st.handshakes[0].seconds.count() == 2);
  CHECK(st.handshakes[0].seconds.sum > 0);
  CHECK(first_stats.event_count(done, "full") == 1);
  CHECK(first_stats.event_count(done, "resumed") == 0);
  CHECK(second_stats.event_count(done, "full") == 0);
  CHECK(second_stats.event_count(done, "resumed") == 1);
  CHECK(st.protocol == "raw");
}

TEST_CASE("fastnet client and server: 8 MiB each way in one send, every byte verified",
          "[tls][client]") {
  // More than the output's high water mark (4 MiB): the server stops reading
  // while its echo backs up, and must resume with what TLS already holds.
  auto sctx = tls::context::server(server_config());
  tls_echo server_handler;
  tcp_server server(tls_server(sctx), server_handler);
  server.start();
  auto cctx = tls::context::client(client_config());
  tcp_client_options copts;
  copts.address = server.local_address();
  copts.max_attempts = 1;
  copts.transport = cctx->transports();
  const std::string blob = random_bytes(8 << 20, 42);
  pinger handler(0, blob);
  loop_thread lt;
  tcp_client client(lt.loop, copts, handler);
  client.connect();
  REQUIRE(handler.connects.wait_for_at_least(1));
  CHECK(handler.bytes.wait_for_at_least(static_cast<long>(blob.size()), std::chrono::seconds(60)));
  CHECK(handler.received().size() == blob.size());
  CHECK((handler.received() == blob));
  client.disconnect();
  CHECK(handler.closes.wait_for_at_least(1));
}

TEST_CASE("stop() ends open TLS connections with close_notify", "[tls][close]") {
  echo_fixture fixture(server_config());
  auto& [ctx, handler, server] = fixture;
  std::vector<std::string> argv{"python3",
                                "-c",
                                py_client,
                                "port=" + std::to_string(server.local_address().port()),
                                "ca=" + cert("ca.pem"),
                                "end=eof"};
  subprocess client(argv);
  bool echoed = client.wait_output("echo ok 16\n", std::chrono::seconds(30));
  INFO("python stdout:\n" << client.out << "stderr:\n" << client.err);
  REQUIRE(echoed);
  server.stop();  // the python client waits for the end of the stream meanwhile
  auto code = client.wait_exit(std::chrono::seconds(30));
  CHECK(code == 0);
  CHECK_THAT(client.out, Contains("eof clean"));
  REQUIRE(handler.closes.wait_for_at_least(1));
  CHECK(handler.reasons().at(0) == close_reason::server_stopping);
}

TEST_CASE("stop() with a handshake in progress neither hangs nor leaks", "[tls][hostile]") {
  echo_fixture fixture(server_config());
  auto& [ctx, handler, server] = fixture;
  auto c = client_socket::connect(server.local_address());
  REQUIRE(c.write_all(std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11)));
  // The connection has started on its loop (and so its handshake) before
  // the server stops. connection_count() alone is not that: it counts an
  // accepted socket before its loop has made a connection of it, and a stop
  // in between closes the socket with no handshake begun (seen once under
  // TSan on io_uring).
  REQUIRE(eventually([&] { return server.stats().connections().accepted == 1; }));
  server.stop();
  std::string got;
  CHECK(c.read_to_end(got, std::chrono::seconds(20)) != end_kind::timeout);
  CHECK(ctx->handshake_failures() == 1);
  CHECK(handler.connects.value() == 0);
  CHECK(handler.closes.value() == 0);
}

TEST_CASE("a server picks its certificate by the name the client sends (SNI)", "[tls][sni]") {
  auto cfg = server_config();
  cfg.by_name = {{"other.test", cert("other.pem"), cert("other.key"), "", ""},
                 {"*.wild.test", cert("other.pem"), cert("other.key"), "", ""}};
  echo_fixture fixture(cfg);
  auto& [ctx, handler, server] = fixture;
  // Verifies the chain against `ca` only (the names in the certificates are
  // localhost's): which CA verifies shows which certificate was served.
  constexpr const char* probe = R"PY(
import socket, ssl, sys
port, ca, name = int(sys.argv[1]), sys.argv[2], sys.argv[3]
c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT); c.check_hostname = False; c.load_verify_locations(ca)
with socket.create_connection(('127.0.0.1', port), timeout=10) as s:
    try:
        with c.wrap_socket(s, server_hostname=None if name == '-' else name) as t:
            t.sendall(b'x'); print('verified', t.recv(1).decode())
    except ssl.SSLError as e:
        print('refused', e.reason)
)PY";
  struct probe_case {
    const char* name;
    const char* ca;
    const char* expect;
  };
  auto p = GENERATE(probe_case{"other.test", "other_ca.pem", "verified x"},
                    probe_case{"OTHER.test", "other_ca.pem", "verified x"},
                    probe_case{"a.wild.test", "other_ca.pem", "verified x"},
                    probe_case{"wild.test", "ca.pem", "verified x"},      // not under the *
                    probe_case{"a.b.wild.test", "ca.pem", "verified x"},  // one label only
                    probe_case{"localhost", "ca.pem", "verified x"},
                    probe_case{"-", "ca.pem", "verified x"},  // no SNI: the default
                    probe_case{"other.test", "ca.pem", "refused CERTIFICATE_VERIFY_FAILED"});
  INFO("SNI " << p.name << ", trusting " << p.ca);
  auto r = run_program(
      {"python3", "-c", probe, std::to_string(server.local_address().port()), cert(p.ca), p.name},
      std::chrono::seconds(30));
  INFO_RUN(r);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Contains(p.expect));
}

TEST_CASE("tls::info is nullopt on a plain TCP connection", "[tls]") {
  tls_echo handler;
  tcp_server_options o;
  o.address = *socket_address::ip("127.0.0.1", 0);
  o.loops = 1;
  tcp_server server(o, handler);
  server.start();
  auto c = client_socket::connect(server.local_address());
  REQUIRE(c.write_all("plain"));
  REQUIRE(c.read_exact(5).has_value());
  auto infos = handler.frame_infos();
  REQUIRE(infos.size() == 1);
  CHECK_FALSE(infos[0].has_value());
}

TEST_CASE("configurations that cannot work throw config_error", "[tls][config]") {
  SECTION("a certificate file that does not exist") {
    auto cfg = server_config();
    cfg.cert_file = cert("missing.pem");
    CHECK_THROWS_AS(tls::context::server(cfg), tls::config_error);
  }
  SECTION("a key that does not match the certificate") {
    auto cfg = server_config();
    cfg.key_file = cert("client.key");
    CHECK_THROWS_AS(tls::context::server(cfg), tls::config_error);
  }
  SECTION("a server without a certificate") {
    CHECK_THROWS_AS(tls::context::server(tls::server_config{}), tls::config_error);
  }
  SECTION("a CA file that does not exist") {
    auto cfg = client_config();
    cfg.ca_file = cert("missing_ca.pem");
    CHECK_THROWS_AS(tls::context::client(cfg), tls::config_error);
  }
}
