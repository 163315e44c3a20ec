// bench/load_client as the benchmarks run it, against fastnet echo servers
// on 127.0.0.1: a faithful echo passes in every mode and framing, and an echo
// that corrupts or reorders bytes is caught by the client's verification (the
// benchmark tables rest on "every echoed byte verified"); with fastnet::tls,
// --tls passes a TLS echo in every mode and resumes sessions when asked.
// Each run is short and bounded; no timing is asserted.
#include <catch2/catch.hpp>
#include <fastnet/fastnet.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "support/child_process.hpp"
#include "support/test_socket.hpp"
#ifdef FASTNET_TLS_CERTS
#include "support/tls_peers.hpp"
#endif

using namespace fastnet;
using namespace fastnet::test;

namespace {

struct client_run {
  int exit_code = -1;
  std::string output;
};

/// Runs load_client against `port` for a short measured window.
client_run run_load_client(uint16_t port, std::vector<std::string> args) {
  std::vector<std::string> all{"--host",     "127.0.0.1", "--port", std::to_string(port),
                               "--duration", "0.3"};
  all.insert(all.end(), args.begin(), args.end());
  child_process client(FASTNET_LOAD_CLIENT_BIN, all, true);
  auto code = client.wait_exit(std::chrono::seconds(60));
  return {code.value_or(-1), client.output};
}

/// The number after `marker`, looked for after the first `label` in
/// load_client's output; -1 if either is absent.
long number_after(const std::string& output, const std::string& label, const std::string& marker) {
  auto line = output.find(label);
  if (line == std::string::npos) return -1;
  auto at = output.find(marker, line);
  if (at == std::string::npos) return -1;
  return std::stol(output.substr(at + marker.size()));
}

/// The count of one error kind ("errors : 1 (connect 0, verify 1, ...)"); -1 if absent.
long error_count(const std::string& output, const std::string& kind) {
  return number_after(output, "errors", kind + " ");
}

/// The completed message count ("messages : 42 (140/s)"); -1 if absent.
long message_count(const std::string& output) {
  return number_after(output, "messages", ":");
}

tcp_server_options local_server(const char* codec) {
  tcp_server_options o;
  o.address = *socket_address::ip("127.0.0.1", 0);
  o.loops = 1;
  o.codec = *make_codec_factory(codec, 16 << 20);
  return o;
}

/// An echo that changes what it sends back: flips one bit of every frame,
/// or rotates each frame by one byte.
class unfaithful_echo : public tcp_handler {
 public:
  enum class fault { flip, rotate };
  explicit unfaithful_echo(fault f) : fault_(f) {}
  void on_message(const connection_ptr& c, std::span<const std::byte> frame) override {
    std::vector<std::byte> out(frame.begin(), frame.end());
    if (fault_ == fault::flip) {
      out[out.size() / 2] ^= std::byte{0x10};
    } else {
      std::rotate(out.begin(), out.begin() + 1, out.end());
    }
    c->send(out);
  }

 private:
  fault fault_;
};

}  // namespace

TEST_CASE("load_client passes a faithful echo in every mode", "[integration][bench]") {
  raise_nofile();
  recording_echo handler;
  tcp_server server(local_server("raw"), handler);
  server.start();
  const auto port = server.local_address().port();
  const std::vector<std::vector<std::string>> cases{
      {"--mode", "pingpong", "--conns", "4"},
      {"--mode", "pipelined", "--conns", "4", "--inflight", "8"},
      {"--mode", "stream", "--size", "65536"},
      {"--mode", "shortconn", "--conns", "4"},
      {"--mode", "idle", "--conns", "20", "--ping-interval", "0.05"},
  };
  for (const auto& args : cases) {
    INFO(args[1]);
    auto run = run_load_client(port, args);
    INFO(run.output);
    CHECK(run.exit_code == 0);
    CHECK(error_count(run.output, "verify") == 0);
  }
}

TEST_CASE("load_client passes a faithful echo with line and len32 framing",
          "[integration][bench]") {
  for (const char* framing : {"line", "len32"}) {
    INFO(framing);
    recording_echo handler;
    tcp_server server(local_server(framing), handler);
    server.start();
    const auto port = server.local_address().port();
    for (const char* mode : {"pingpong", "stream"}) {
      INFO(mode);
      auto run = run_load_client(port, {"--mode", mode, "--frame", framing, "--size", "3000"});
      INFO(run.output);
      CHECK(run.exit_code == 0);
      CHECK(error_count(run.output, "verify") == 0);
    }
  }
}

TEST_CASE("load_client reports an echo with a flipped bit or reordered bytes",
          "[integration][bench]") {
  for (auto f : {unfaithful_echo::fault::flip, unfaithful_echo::fault::rotate}) {
    INFO((f == unfaithful_echo::fault::flip ? "flip" : "rotate"));
    unfaithful_echo handler(f);
    tcp_server server(local_server("raw"), handler);
    server.start();
    const auto port = server.local_address().port();
    for (const char* mode : {"pingpong", "stream"}) {
      INFO(mode);
      auto run = run_load_client(port, {"--mode", mode, "--conns", "1"});
      INFO(run.output);
      CHECK(run.exit_code == 1);
      CHECK(error_count(run.output, "verify") >= 1);
    }
  }
}

#ifdef FASTNET_TLS_CERTS
namespace {

tcp_server_options local_tls_server(const std::shared_ptr<tls::context>& ctx) {
  auto o = local_server("raw");
  o.transport = ctx->transports();
  return o;
}

}  // namespace

TEST_CASE("load_client --tls passes a faithful TLS echo in every mode",
          "[integration][bench][tls]") {
  raise_nofile();
  auto ctx = tls::context::server(server_config());
  recording_echo handler;
  tcp_server server(local_tls_server(ctx), handler);
  server.start();
  const auto port = server.local_address().port();
  const std::vector<std::vector<std::string>> cases{
      {"--mode", "pingpong", "--conns", "4"},
      {"--mode", "stream", "--size", "65536"},
      {"--mode", "idle", "--conns", "20", "--ping-interval", "0.05"},
      {"--mode", "handshake", "--conns", "2"},
      {"--mode", "handshake", "--conns", "2", "--tls-resume"},
      {"--mode", "pingpong", "--conns", "2", "--tls-version", "1.2"},
  };
  for (const auto& args : cases) {
    const bool resume = args.back() == "--tls-resume";
    INFO(args[1] << (resume ? " resumed" : ""));
    auto all = args;
    all.insert(all.end(), {"--tls", "--tls-ca", cert("ca.pem")});
    auto run = run_load_client(port, all);
    INFO(run.output);
    CHECK(run.exit_code == 0);
    CHECK(error_count(run.output, "verify") == 0);
    CHECK(error_count(run.output, "tls") == 0);
    // Each slot's first handshake is full; the later ones offer the last
    // session, and fastnet resumes it.
    if (resume) CHECK(number_after(run.output, "handshakes in the window", "full, ") > 0);
  }
}

TEST_CASE("load_client --tls refuses a server its CA did not sign", "[integration][bench][tls]") {
  auto ctx = tls::context::server(server_config());
  recording_echo handler;
  tcp_server server(local_tls_server(ctx), handler);
  server.start();
  auto run = run_load_client(
      server.local_address().port(),
      {"--mode", "pingpong", "--conns", "1", "--tls", "--tls-ca", cert("other_ca.pem")});
  INFO(run.output);
  CHECK(run.exit_code == 1);
  CHECK(error_count(run.output, "tls") >= 1);
}
#endif

TEST_CASE("load_client --rate paces ping-pong to the offered load", "[integration][bench]") {
  recording_echo handler;
  tcp_server server(local_server("raw"), handler);
  server.start();
  const auto port = server.local_address().port();
  // 10 connections at 200 messages/s: one message per connection every
  // 50 ms, so a 0.3 s window holds at most 7 per connection. Unpaced, the
  // same run completes thousands; a slow machine can only complete fewer.
  auto run = run_load_client(port, {"--mode", "pingpong", "--conns", "10", "--rate", "200"});
  INFO(run.output);
  CHECK(run.exit_code == 0);
  CHECK(error_count(run.output, "verify") == 0);
  const long messages = message_count(run.output);
  CHECK(messages > 0);
  CHECK(messages <= 70);

  auto misuse = run_load_client(port, {"--mode", "stream", "--rate", "200"});
  INFO(misuse.output);
  CHECK(misuse.exit_code == 2);
}
