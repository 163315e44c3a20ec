// Echo over real sockets: sizes from 1 B to 8 MiB, many connections, every
// byte verified; raw, line and len32 framing; partial writes; IPv6, Unix
// domain and SO_REUSEPORT listeners; per-connection order.
#include <catch2/catch.hpp>
#include <fastnet/fastnet.hpp>

#include <thread>

#include "support/test_socket.hpp"

using namespace fastnet;
using namespace fastnet::test;

namespace {

tcp_server_options local_server(const char* codec, size_t loops = 2) {
  tcp_server_options o;
  o.address = *socket_address::ip("127.0.0.1", 0);
  o.loops = loops;
  o.codec = *make_codec_factory(codec, 16 << 20);
  return o;
}

std::string len32(const std::string& payload) {
  std::string h(4, '\0');
  uint32_t n = static_cast<uint32_t>(payload.size());
  for (int i = 0; i < 4; ++i)
    h[static_cast<size_t>(i)] = static_cast<char>(n >> (24 - 8 * i));
  return h + payload;
}

}  // namespace

TEST_CASE("raw echo from 1 byte to 8 MiB, every byte verified", "[integration][echo]") {
  recording_echo handler;
  tcp_server server(local_server("raw"), handler);
  server.start();
  for (size_t size : {size_t{1}, size_t{7}, size_t{64}, size_t{4096}, size_t{65537},
                      size_t{1} << 20, size_t{8} << 20}) {
    auto c = client_socket::connect(server.local_address());
    std::string msg = random_bytes(size, static_cast<uint32_t>(size));
    // Write and read concurrently: an 8 MiB echo does not fit in socket buffers.
    bool wrote = false;  // Catch2 assertions belong on the main thread
    std::thread writer([&] { wrote = c.write_all(msg); });
    auto got = c.read_exact(size, 30s);
    writer.join();
    REQUIRE(wrote);
    REQUIRE(got.has_value());
    CHECK(*got == msg);
  }
}

TEST_CASE("200 connections echo concurrently without mixing bytes", "[integration][echo]") {
  recording_echo handler;
  tcp_server server(local_server("raw"), handler);
  server.start();
  std::vector<client_socket> clients;
  for (int i = 0; i < 200; ++i)
    clients.push_back(client_socket::connect(server.local_address()));
  REQUIRE(handler.connects.wait_for_at_least(200));
  for (int round = 0; round < 5; ++round) {
    std::vector<std::string> sent;
    for (size_t i = 0; i < clients.size(); ++i) {
      sent.push_back(random_bytes(1 + (i * 37 + static_cast<size_t>(round) * 101) % 3000,
                                  static_cast<uint32_t>(i * 10 + static_cast<size_t>(round))));
      REQUIRE(clients[i].write_all(sent.back()));
    }
    for (size_t i = 0; i < clients.size(); ++i) {
      auto got = clients[i].read_exact(sent[i].size());
      REQUIRE(got.has_value());
      REQUIRE(*got == sent[i]);
    }
  }
}

TEST_CASE("len32 frames written one byte at a time arrive whole and in order",
          "[integration][echo][codec]") {
  std::vector<std::string> frames_seen;
  std::mutex mutex;
  waitable_counter count;
  struct collect final : tcp_handler {
    std::vector<std::string>& out;
    std::mutex& m;
    waitable_counter& n;
    collect(std::vector<std::string>& o, std::mutex& mm, waitable_counter& c)
        : out(o), m(mm), n(c) {}
    void on_message(const connection_ptr& c, std::span<const std::byte> f) override {
      {
        std::lock_guard lock(m);
        out.emplace_back(reinterpret_cast<const char*>(f.data()), f.size());
      }
      c->send(f);
      n.add();
    }
  } handler(frames_seen, mutex, count);
  tcp_server server(local_server("len32"), handler);
  server.start();
  auto c = client_socket::connect(server.local_address());
  std::vector<std::string> payloads = {"a", "", "hello", random_bytes(70000, 3), "tail"};
  std::string wire;
  for (auto& p : payloads)
    wire += len32(p);
  // Partial writes: the server sees every possible split of headers and payloads.
  bool wrote = true;  // Catch2 assertions belong on the main thread
  std::thread writer([&] {
    for (size_t i = 0; i < wire.size() && wrote; i += (i < 200 ? 1 : 997))
      wrote = c.write_all(std::string_view(wire).substr(i, i < 200 ? 1 : 997));
  });
  auto echoed = c.read_exact(wire.size(), 30s);
  writer.join();
  REQUIRE(wrote);
  REQUIRE(count.wait_for_at_least(static_cast<long>(payloads.size())));
  REQUIRE(echoed.has_value());
  CHECK(*echoed == wire);
  std::lock_guard lock(mutex);
  CHECK(frames_seen == payloads);
}

TEST_CASE("line codec splits lines, strips CR, and appends newline on send",
          "[integration][echo][codec]") {
  recording_echo handler;
  tcp_server server(local_server("line"), handler);
  server.start();
  auto c = client_socket::connect(server.local_address());
  REQUIRE(c.write_all("one\r\ntwo\nthree"));
  REQUIRE(c.write_all("\n"));
  auto got = c.read_exact(std::string("one\ntwo\nthree\n").size());
  REQUIRE(got.has_value());
  CHECK(*got == "one\ntwo\nthree\n");
  CHECK(handler.frames.load() == 3);
}

TEST_CASE("an oversized len32 frame is a protocol error and closes the connection",
          "[integration][echo][codec]") {
  recording_echo handler;
  auto opts = local_server("len32");
  opts.codec = *make_codec_factory("len32", 1024);
  tcp_server server(opts, handler);
  server.start();
  auto c = client_socket::connect(server.local_address());
  REQUIRE(c.write_all(std::string("\x00\x01\x00\x00", 4)));  // announces 65536 > 1024
  std::string rest;
  CHECK(c.read_to_end(rest) != end_kind::timeout);
  REQUIRE(handler.closes.wait_for_at_least(1));
  CHECK(handler.close_reasons().at(0) == close_reason::protocol_error);
  CHECK(handler.frames.load() == 0);
}

TEST_CASE("IPv6, Unix domain and SO_REUSEPORT listeners echo", "[integration][echo]") {
  recording_echo handler;
  std::vector<tcp_server_options> variants;
  auto v6 = local_server("raw");
  v6.address = *socket_address::ip("::1", 0);
  variants.push_back(v6);
  auto un = local_server("raw");
  std::string path = "/tmp/fastnet_echo_test_" + std::to_string(::getpid()) + ".sock";
  un.address = *socket_address::unix_path(path);
  variants.push_back(un);
  auto rp = local_server("raw", 2);
  rp.reuse_port = true;
  variants.push_back(rp);
  for (auto& opts : variants) {
    tcp_server server(opts, handler);
    server.start();
    INFO(server.local_address().to_string());
    for (int i = 0; i < 8; ++i) {
      auto c = client_socket::connect(server.local_address());
      std::string msg = random_bytes(1000 + static_cast<size_t>(i), static_cast<uint32_t>(i));
      REQUIRE(c.write_all(msg));
      auto got = c.read_exact(msg.size());
      REQUIRE(got.has_value());
      CHECK(*got == msg);
    }
  }
  ::unlink(path.c_str());
}

TEST_CASE("sends from a non-loop thread keep their order", "[integration][echo]") {
  // The handler hands each connection to a worker thread that sends numbered
  // lines; the client must see them in order.
  struct handler_t final : tcp_handler {
    std::vector<std::thread> workers;
    std::mutex m;
    void on_connect(const connection_ptr& c) override {
      std::lock_guard lock(m);
      workers.emplace_back([c] {
        for (int i = 0; i < 20000; ++i)
          c->send(std::to_string(i));
      });
    }
    void on_message(const connection_ptr&, std::span<const std::byte>) override {}
    ~handler_t() override {
      for (auto& w : workers)
        w.join();
    }
  } handler;
  tcp_server server(local_server("line"), handler);
  server.start();
  auto c = client_socket::connect(server.local_address());
  std::string expected;
  for (int i = 0; i < 20000; ++i)
    expected += std::to_string(i) + "\n";
  auto got = c.read_exact(expected.size(), 30s);
  REQUIRE(got.has_value());
  CHECK(*got == expected);
  server.stop();
}
