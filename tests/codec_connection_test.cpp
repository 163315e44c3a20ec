// The codec and protocol contracts as the connection honours them, over real
// sockets: frame kinds on input and output (including sends from other
// threads), a protocol's replies, frames it absorbs, its end of the peer's
// input, a failure and its farewell, its greeting, and set_codec() and
// set_protocol() switching layers mid-stream with the bytes already
// buffered going to the new ones.
#include <catch2/catch.hpp>
#include <fastnet/fastnet.hpp>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/test_socket.hpp"

using namespace fastnet;
using namespace fastnet::test;

namespace {

std::string str(std::span<const std::byte> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

/// A toy framing with kinds: lines, where "T:x" is a frame of kind text and
/// "B:x" of kind binary. encode_as prefixes the kind as a digit.
class toy_codec final : public codec {
 public:
  decode_result decode(std::span<const std::byte> input) override {
    decode_result r = line_.decode(input);
    if (r.state != decode_result::status::frame) return r;
    if (r.frame.size() >= 2 && static_cast<char>(r.frame[1]) == ':') {
      r.kind = static_cast<char>(r.frame[0]) == 'T' ? frame_kind::text : frame_kind::binary;
      r.frame = r.frame.subspan(2);
    }
    return r;
  }
  void encode_as(std::span<const std::byte> payload, frame_kind kind, fragment,
                 encoded_frame& out) override {
    out.head[0] = static_cast<std::byte>('0' + static_cast<int>(kind));
    out.head_len = 1;
    out.body = payload;
    out.tail[0] = std::byte{'\n'};
    out.tail_len = 1;
  }
  const char* name() const override { return "toy"; }

 private:
  line_codec line_;
};

/// A toy protocol on toy_codec: "PING" is answered with "PONG\n" by the
/// protocol itself, "QUIT" is answered with "BYE\n" and ends the peer's
/// input, "BAD" breaks the protocol (its farewell says "ERR\n"); its
/// greeting is "HELLO\n" when asked for one.
class toy_protocol final : public protocol {
 public:
  explicit toy_protocol(bool greet = false) : greet_(greet) {}
  codec& framing() override { return framing_; }
  protocol_step on_frame(const decode_result& r) override {
    protocol_step s;
    std::string line = str(r.frame);
    if (line == "PING") {
      s.reply = bytes("PONG\n");
    } else if (line == "QUIT") {
      s.reply = bytes("BYE\n");
      s.then = protocol_step::next::peer_closed;
    } else if (line == "BAD") {
      s.then = protocol_step::next::fail;
      s.error = "bad line";
    } else {
      s.deliver = true;
      s.kind = r.kind;
      s.payload = r.frame;
    }
    return s;
  }
  std::span<const std::byte> greeting() override { return greet_ ? bytes("HELLO\n") : bytes(""); }
  std::span<const std::byte> farewell(close_reason why) override {
    return why == close_reason::protocol_error ? bytes("ERR\n") : bytes("");
  }
  const char* name() const override { return "toy"; }

 private:
  static std::span<const std::byte> bytes(const char* s) {
    return std::as_bytes(std::span(s, std::char_traits<char>::length(s)));
  }
  toy_codec framing_;
  bool greet_;
};

/// Echoes each frame with its kind; "SWITCH" switches to len32, "UPGRADE"
/// to toy_protocol (with its greeting).
class kind_echo final : public tcp_handler {
 public:
  void on_message(const connection_ptr& c, std::span<const std::byte> frame) override {
    std::string s = str(frame);
    if (s == "SWITCH") {
      length_prefix_codec::options o;
      c->set_codec(std::make_unique<length_prefix_codec>(o));
      c->send(std::string_view("switched"), frame_kind::data);  // already framed by the new codec
      return;
    }
    if (s == "UPGRADE") {
      c->set_protocol(std::make_unique<toy_protocol>(true));
      return;
    }
    if (s == "THREAD") {
      // A send with a kind from another thread goes through the command queue.
      auto conn = c;
      std::thread([conn] { conn->send(std::string("from-thread"), frame_kind::binary); }).join();
      return;
    }
    c->send(frame, c->frame_kind());
  }
  void on_close(const connection_ptr&, close_reason why) override {
    {
      std::lock_guard lock(mutex);
      reasons.push_back(why);
    }
    closes.add();
  }
  std::mutex mutex;
  std::vector<close_reason> reasons;
  waitable_counter closes;
};

tcp_server_options toy_server() {
  tcp_server_options o;
  o.address = *socket_address::ip("127.0.0.1", 0);
  o.loops = 1;
  o.protocol = [] { return std::make_unique<toy_protocol>(); };
  return o;
}

}  // namespace

TEST_CASE("frame kinds reach the handler and go back out through encode_as", "[codec]") {
  kind_echo handler;
  tcp_server server(toy_server(), handler);
  server.start();
  auto c = client_socket::connect(server.local_address());
  REQUIRE(c.write_all("T:hello\nB:world\nplain\n"));
  auto got = c.read_exact(std::string("1hello\n2world\n0plain\n").size());
  REQUIRE(got);
  CHECK(*got == "1hello\n2world\n0plain\n");  // no prefix: kind 0
}

TEST_CASE("a protocol's reply is written and nothing is delivered for it", "[codec]") {
  kind_echo handler;
  tcp_server server(toy_server(), handler);
  server.start();
  auto c = client_socket::connect(server.local_address());
  REQUIRE(c.write_all("PING\nT:a\nPING\n"));
  auto got = c.read_exact(std::string("PONG\n1a\nPONG\n").size());
  REQUIRE(got);
  CHECK(*got == "PONG\n1a\nPONG\n");
}

TEST_CASE(
    "a protocol's peer_closed writes the reply, then closes, and later input is not delivered",
    "[codec]") {
  kind_echo handler;
  tcp_server server(toy_server(), handler);
  server.start();
  auto c = client_socket::connect(server.local_address());
  REQUIRE(c.write_all("T:x\nQUIT\nT:never\n"));
  std::string out;
  CHECK(c.read_to_end(out) == end_kind::eof);
  CHECK(out == "1x\nBYE\n");
  c.close();
  REQUIRE(handler.closes.wait_for_at_least(1));
  std::lock_guard lock(handler.mutex);
  CHECK(handler.reasons.at(0) == close_reason::peer_closed);
}

TEST_CASE("a protocol failure writes the farewell, then closes as a protocol error", "[codec]") {
  kind_echo handler;
  tcp_server server(toy_server(), handler);
  server.start();
  auto c = client_socket::connect(server.local_address());
  REQUIRE(c.write_all("BAD\nT:never\n"));
  std::string out;
  CHECK(c.read_to_end(out) == end_kind::eof);
  CHECK(out == "ERR\n");
  c.close();
  REQUIRE(handler.closes.wait_for_at_least(1));
  std::lock_guard lock(handler.mutex);
  CHECK(handler.reasons.at(0) == close_reason::protocol_error);
}

TEST_CASE("sends with a kind from another thread keep the kind", "[codec]") {
  kind_echo handler;
  tcp_server server(toy_server(), handler);
  server.start();
  auto c = client_socket::connect(server.local_address());
  REQUIRE(c.write_all("THREAD\nT:after\n"));
  auto got = c.read_exact(std::string("2from-thread\n1after\n").size());
  REQUIRE(got);
  CHECK(*got == "2from-thread\n1after\n");
}

TEST_CASE("set_codec switches mid-stream and buffered bytes go to the new codec", "[codec]") {
  kind_echo handler;
  tcp_server server(toy_server(), handler);
  server.start();
  auto c = client_socket::connect(server.local_address());
  // One write: the switch request and the first len32 frames arrive together.
  std::string frames = std::string(
      "\0\0\0\x03"
      "abc"
      "\0\0\0\x01"
      "z",
      12);
  REQUIRE(c.write_all("T:before\nSWITCH\n" + frames));
  std::string want = "1before\n" + std::string("\0\0\0\x08switched", 12) + frames;
  auto got = c.read_exact(want.size());
  REQUIRE(got);
  CHECK(*got == want);
}

TEST_CASE("set_protocol upgrades a live connection and buffered bytes go to the protocol",
          "[codec]") {
  kind_echo handler;
  tcp_server_options o = toy_server();
  o.protocol = nullptr;
  o.codec = [] { return std::make_unique<toy_codec>(); };
  tcp_server server(o, handler);
  server.start();
  auto c = client_socket::connect(server.local_address());
  // One write: before the upgrade PING is a frame like any other; after it,
  // in the same read, the protocol answers it; its greeting comes first.
  REQUIRE(c.write_all("PING\nUPGRADE\nPING\nT:after\nQUIT\n"));
  std::string out;
  CHECK(c.read_to_end(out) == end_kind::eof);
  CHECK(out == "0PING\nHELLO\nPONG\n1after\nBYE\n");
  c.close();
  REQUIRE(handler.closes.wait_for_at_least(1));
}

namespace {

/// Echoes frames; "SWITCH" gives this one connection a line codec of its own.
class switching_echo final : public tcp_handler {
 public:
  void on_message(const connection_ptr& c, std::span<const std::byte> frame) override {
    if (str(frame) == "SWITCH") {
      c->set_codec(std::make_unique<line_codec>());
      return;
    }
    c->send(frame);
  }
};

std::string len32(std::string_view payload) {
  std::string out(4, '\0');
  out[3] = static_cast<char>(payload.size());
  out.append(payload);
  return out;
}

}  // namespace

TEST_CASE("a shareable codec is made once per loop and lent to every connection", "[codec]") {
  std::atomic<int> made{0};
  switching_echo handler;
  tcp_server_options o;
  o.address = *socket_address::ip("127.0.0.1", 0);
  o.loops = 2;
  o.codec = [&made] {
    made.fetch_add(1);
    return std::make_unique<length_prefix_codec>();
  };
  tcp_server server(o, handler);
  server.start();
  std::vector<client_socket> clients;
  for (int i = 0; i < 6; ++i) {
    clients.push_back(client_socket::connect(server.local_address()));
    const std::string payload = "message " + std::to_string(i);
    auto msg = len32(payload);
    REQUIRE(clients.back().write_all(msg));
    auto got = clients.back().read_exact(msg.size());
    REQUIRE(got);
    CHECK(*got == msg);
  }
  CHECK(made.load() == 2);  // one per loop, not one per connection

  // A connection that switches codec gets its own; the others keep the shared one.
  REQUIRE(clients[0].write_all(len32("SWITCH") + "line\n"));
  auto line = clients[0].read_exact(5);
  REQUIRE(line);
  CHECK(*line == "line\n");
  for (size_t i = 1; i < clients.size(); ++i) {
    auto msg = len32("again");
    REQUIRE(clients[i].write_all(msg));
    auto got = clients[i].read_exact(msg.size());
    REQUIRE(got);
    CHECK(*got == msg);
  }
}

TEST_CASE("a codec that is not shareable is made for every connection", "[codec]") {
  std::atomic<int> made{0};
  switching_echo handler;
  tcp_server_options o;
  o.address = *socket_address::ip("127.0.0.1", 0);
  o.loops = 1;
  o.codec = [&made] {
    made.fetch_add(1);
    return std::make_unique<line_codec>();
  };
  tcp_server server(o, handler);
  server.start();
  std::vector<client_socket> clients;
  for (int i = 0; i < 3; ++i) {
    clients.push_back(client_socket::connect(server.local_address()));
    REQUIRE(clients.back().write_all("x\n"));
    REQUIRE(clients.back().read_exact(1));
  }
  CHECK(made.load() == 3);
}
