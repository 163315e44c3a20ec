// A WebSocket conformance suite modeled on the Autobahn|Testsuite
// categories 1-7, 9 and 10: raw frames written over a real socket to a real
// fastnet server (ws::server_codec + an echo handler), the expected reaction
// asserted per case, and a summary table printed at the end.
//
// Each case sends bytes, then expects frames in order; then either a close
// frame with one of the listed codes followed by EOF, or (when the case
// expects the connection to stay open) the test's own close 1000 is echoed.
#include <catch2/catch.hpp>
#include <fastnet/fastnet.hpp>
#include <fastnet/ws.hpp>

#include <cstdio>
#include <map>
#include <sstream>

#include "support/test_socket.hpp"
#include "support/ws_wire.hpp"

using namespace fastnet;
using namespace fastnet::test;

namespace {

constexpr size_t max_message = 1 << 20;

class ws_echo final : public tcp_handler {
 public:
  void on_message(const connection_ptr& c, std::span<const std::byte> frame) override {
    uint8_t k = c->frame_kind();
    if (k == ws::kind::text || k == ws::kind::binary) c->send(frame, k);
  }
};

struct expected_frame {
  uint8_t opcode;
  std::string payload;
};

struct conformance_case {
  std::string id;  // Autobahn-style "category.subcase"
  std::string what;
  std::vector<std::string> chunks;  // written one after another
  std::vector<expected_frame> frames;
  std::vector<uint16_t> close_codes;  // empty: the connection must stay open
};

std::string frame(uint8_t op, const std::string& payload, bool fin = true, uint8_t rsv = 0) {
  raw_frame f;
  f.opcode = op;
  f.payload = payload;
  f.fin = fin;
  f.rsv = rsv;
  return encode_raw(f);
}
std::string text(const std::string& p, bool fin = true) {
  return frame(1, p, fin);
}
std::string binary(const std::string& p, bool fin = true) {
  return frame(2, p, fin);
}
std::string cont(const std::string& p, bool fin = true) {
  return frame(0, p, fin);
}
std::string ping(const std::string& p) {
  return frame(9, p);
}
std::string close_frame(uint16_t code, const std::string& reason = "") {
  return frame(8, ws::close_payload(code, reason));
}
std::vector<std::string> bytewise(const std::string& s) {
  std::vector<std::string> out;
  for (char c : s)
    out.emplace_back(1, c);
  return out;
}
std::string pattern(size_t n, uint32_t seed, bool ascii) {
  std::string s = random_bytes(n, seed);
  if (ascii)
    for (char& c : s)
      c = static_cast<char>('a' + static_cast<unsigned char>(c) % 26);
  return s;
}

std::vector<conformance_case> all_cases() {
  std::vector<conformance_case> v;
  const std::vector<uint16_t> e1002{1002}, e1007{1007}, e1009{1009};
  // 1 Framing: text and binary of boundary lengths (7-bit, 16-bit, 64-bit headers).
  int sub = 1;
  for (size_t n : {0, 125, 126, 127, 128, 65535, 65536}) {
    std::string t = pattern(n, static_cast<uint32_t>(n), true);
    v.push_back({"1.1." + std::to_string(sub),
                 "text of " + std::to_string(n) + " bytes",
                 {text(t)},
                 {{1, t}},
                 {}});
    std::string b = pattern(n, static_cast<uint32_t>(n + 1), false);
    v.push_back({"1.2." + std::to_string(sub++),
                 "binary of " + std::to_string(n) + " bytes",
                 {binary(b)},
                 {{2, b}},
                 {}});
  }
  v.push_back({"1.1.8", "text of 65536 bytes written in 997-byte chunks", {}, {}, {}});
  {
    std::string t = pattern(65536, 9, true), w = text(t);
    for (size_t i = 0; i < w.size(); i += 997)
      v.back().chunks.push_back(w.substr(i, 997));
    v.back().frames = {{1, t}};
  }
  v.push_back({"1.2.8",
               "binary of 64 bytes written one byte at a time",
               bytewise(binary("x")),
               {{2, "x"}},
               {}});
  v.back().chunks = bytewise(binary(pattern(64, 3, false)));
  v.back().frames = {{2, pattern(64, 3, false)}};

  // 2 Ping/pong.
  v.push_back({"2.1", "ping without payload", {ping("")}, {{10, ""}}, {}});
  v.push_back(
      {"2.2", "ping with text payload", {ping("Hello, world!")}, {{10, "Hello, world!"}}, {}});
  v.push_back({"2.3",
               "ping with binary payload",
               {ping("\x00\xff\xfe\xfd")},
               {{10, std::string("\x00\xff\xfe\xfd", 4)}},
               {}});
  v.back().chunks = {ping(std::string("\x00\xff\xfe\xfd", 4))};
  v.push_back({"2.4",
               "ping with 125-byte payload",
               {ping(std::string(125, 'p'))},
               {{10, std::string(125, 'p')}},
               {}});
  v.push_back({"2.5", "ping with 126-byte payload", {ping(std::string(126, 'p'))}, {}, e1002});
  v.push_back({"2.6",
               "ping with 125 bytes, written byte by byte",
               bytewise(ping(std::string(125, 'q'))),
               {{10, std::string(125, 'q')}},
               {}});
  v.push_back(
      {"2.7", "unsolicited pong", {frame(10, ""), text("still open")}, {{1, "still open"}}, {}});
  v.push_back({"2.8",
               "unsolicited pong with payload",
               {frame(10, "unsolicited"), text("ok")},
               {{1, "ok"}},
               {}});
  v.push_back({"2.10", "10 pings", {}, {}, {}});
  for (int i = 0; i < 10; ++i) {
    v.back().chunks.push_back(ping("p" + std::to_string(i)));
    v.back().frames.push_back({10, "p" + std::to_string(i)});
  }

  // 3 Reserved bits.
  for (uint8_t rsv = 1; rsv <= 7; ++rsv)
    v.push_back({"3." + std::to_string(rsv),
                 "text with RSV=" + std::to_string(rsv),
                 {frame(1, "Hello", true, rsv)},
                 {},
                 e1002});
  v.push_back({"3.8",
               "valid text, then RSV on a ping",
               {text("a"), frame(9, "", true, 4)},
               {{1, "a"}},
               e1002});
  v.push_back({"3.9", "RSV on a close", {frame(8, ws::close_payload(1000), true, 2)}, {}, e1002});

  // 4 Opcodes.
  sub = 1;
  for (uint8_t op : {3, 4, 5, 6, 7})
    v.push_back({"4.1." + std::to_string(sub++),
                 "reserved data opcode " + std::to_string(op),
                 {text("before"), frame(op, "x"), text("after")},
                 {{1, "before"}},
                 e1002});
  sub = 1;
  for (uint8_t op : {11, 12, 13, 14, 15})
    v.push_back({"4.2." + std::to_string(sub++),
                 "reserved control opcode " + std::to_string(op),
                 {frame(op, ""), ping("never")},
                 {},
                 e1002});

  // 5 Fragmentation.
  v.push_back({"5.1", "fragmented ping", {frame(9, "a", false), cont("b")}, {}, e1002});
  v.push_back({"5.2", "fragmented pong", {frame(10, "a", false), cont("b")}, {}, e1002});
  v.push_back(
      {"5.3", "text in two fragments", {text("frag", false), cont("ment")}, {{1, "fragment"}}, {}});
  v.push_back({"5.4", "binary in three fragments, one written per byte", {}, {{2, "abc"}}, {}});
  for (auto& piece : {binary("a", false), cont("b", false), cont("c")})
    for (auto& b : bytewise(piece))
      v.back().chunks.push_back(b);
  v.push_back({"5.6",
               "ping between text fragments",
               {text("frag", false), ping("p"), cont("ment")},
               {{10, "p"}, {1, "fragment"}},
               {}});
  v.push_back({"5.8",
               "empty fragments",
               {text("", false), cont("", false), cont("x", false), cont("")},
               {{1, "x"}},
               {}});
  v.push_back({"5.9", "continuation without a message", {cont("x"), text("never")}, {}, e1002});
  v.push_back({"5.10", "final continuation without a message", {cont("x", true)}, {}, e1002});
  v.push_back(
      {"5.15", "new text while a message is fragmented", {text("a", false), text("b")}, {}, e1002});
  v.push_back(
      {"5.17", "continuation after a finished message", {text("a"), cont("b")}, {{1, "a"}}, e1002});
  v.push_back({"5.19", "fragments with pings between each", {}, {}, {}});
  for (int i = 0; i < 5; ++i) {
    v.back().chunks.push_back(i == 0 ? text("f0", false) : cont("f" + std::to_string(i), i == 4));
    v.back().chunks.push_back(ping("p" + std::to_string(i)));
    if (i == 4) v.back().frames.push_back({1, "f0f1f2f3f4"});  // complete before the last ping
    v.back().frames.push_back({10, "p" + std::to_string(i)});
  }

  // 6 UTF-8.
  const std::string kosme = "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5";
  v.push_back({"6.2.1", "valid multi-byte text", {text(kosme)}, {{1, kosme}}, {}});
  v.push_back({"6.2.2",
               "valid text split inside a character across fragments",
               {text(kosme.substr(0, 3), false), cont(kosme.substr(3))},
               {{1, kosme}},
               {}});
  v.push_back({"6.2.3", "valid text split at every byte", {}, {{1, kosme}}, {}});
  for (size_t i = 0; i < kosme.size(); ++i)
    v.back().chunks.push_back(i == 0 ? text(kosme.substr(0, 1), false)
                                     : cont(kosme.substr(i, 1), i + 1 == kosme.size()));
  v.push_back({"6.2.4",
               "4-byte character U+10FFFF",
               {text("\xf4\x8f\xbf\xbf")},
               {{1, "\xf4\x8f\xbf\xbf"}},
               {}});
  sub = 1;
  for (std::string bad :
       {std::string("\xc0\x80"), std::string("\xed\xa0\x80"), std::string("\xf4\x90\x80\x80"),
        std::string("\xff"), std::string("\xce\xba\xe1\xbd"), std::string("\x80"),
        std::string("\xf8\x88\x80\x80\x80"), std::string("\xe0\x80\xaf")})
    v.push_back({"6.3." + std::to_string(sub++),
                 "invalid UTF-8 in a text message",
                 {text("ok" + bad)},
                 {},
                 e1007});
  v.push_back({"6.4.1",
               "fail fast: bad byte in the first fragment, message unfinished",
               {text("\xce\xba\xff", false)},
               {},
               e1007});
  {
    // The frame announces 1000 bytes; only a bad prefix is sent: the close
    // must come before the frame is complete.
    raw_frame f;
    f.opcode = 1;
    f.payload = "abc\xed\xa0\x80";
    f.claimed_len = 1000;
    v.push_back(
        {"6.4.2", "fail fast: bad bytes in an unfinished frame", {encode_raw(f)}, {}, e1007});
  }
  v.push_back({"6.4.3",
               "bad UTF-8 only in the last fragment",
               {text("good", false), cont("\xc3")},
               {},
               e1007});

  // 7 Close handling.
  v.push_back({"7.1.1", "close 1000", {close_frame(1000)}, {}, {1000}});
  v.push_back({"7.1.2", "close without payload", {frame(8, "")}, {}, {1005}});
  v.push_back(
      {"7.1.3", "text after close is ignored", {close_frame(1000), text("late")}, {}, {1000}});
  v.push_back(
      {"7.1.4", "close between fragments", {text("a", false), close_frame(1000)}, {}, {1000}});
  v.push_back({"7.3.1", "close with a 1-byte payload", {frame(8, "\x03")}, {}, e1002});
  v.push_back({"7.3.2",
               "close with a 123-byte reason",
               {close_frame(1000, std::string(123, 'r'))},
               {},
               {1000}});
  v.push_back({"7.3.3", "close reason with bad UTF-8", {close_frame(1000, "\xff")}, {}, e1007});
  sub = 1;
  for (uint16_t code :
       {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999})
    v.push_back({"7.7." + std::to_string(sub++),
                 "valid close code " + std::to_string(code),
                 {close_frame(code)},
                 {},
                 {code}});
  sub = 1;
  for (uint16_t code : {0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999, 5000, 65535})
    v.push_back({"7.9." + std::to_string(sub++),
                 "invalid close code " + std::to_string(code),
                 {close_frame(code)},
                 {},
                 e1002});

  // 9 Limits and large messages (max_message = 1 MiB here).
  {
    std::string t = pattern(max_message, 91, true);
    v.push_back({"9.1.1", "text of exactly the limit (1 MiB)", {text(t)}, {{1, t}}, {}});
    std::string b = pattern(max_message, 92, false);
    v.push_back({"9.2.1", "binary of 1 MiB in 4 KiB fragments", {}, {{2, b}}, {}});
    for (size_t i = 0; i < b.size(); i += 4096)
      v.back().chunks.push_back(i == 0 ? binary(b.substr(0, 4096), false)
                                       : cont(b.substr(i, 4096), i + 4096 >= b.size()));
    raw_frame big;
    big.opcode = 2;
    big.claimed_len = max_message + 1;
    v.push_back({"9.3.1",
                 "frame one byte over the limit: refused on its header",
                 {encode_raw(big)},
                 {},
                 e1009});
    raw_frame huge;
    huge.opcode = 1;
    huge.claimed_len = uint64_t{1} << 62;
    v.push_back({"9.3.2", "frame claiming 2^62 bytes", {encode_raw(huge)}, {}, e1009});
    raw_frame top;
    top.opcode = 2;
    top.claimed_len = uint64_t{1} << 63;
    v.push_back({"9.3.3", "64-bit length with the top bit set", {encode_raw(top)}, {}, e1002});
    v.push_back({"9.4.1", "fragments summing past the limit", {}, {}, e1009});
    for (int i = 0; i < 5; ++i)
      v.back().chunks.push_back(i == 0 ? binary(std::string(300000, 'x'), false)
                                       : cont(std::string(300000, 'x'), false));
    v.push_back({"9.5.1", "unmasked client frame", {}, {}, e1002});
    raw_frame plain;
    plain.masked = false;
    plain.payload = "x";
    v.back().chunks = {encode_raw(plain)};
  }

  // 10 Auto-fragmentation: a 64 KiB message in fragments of 1300 bytes comes back whole.
  {
    std::string t = pattern(65536, 10, true);
    v.push_back({"10.1.1", "64 KiB text in 1300-byte fragments", {}, {{1, t}}, {}});
    for (size_t i = 0; i < t.size(); i += 1300)
      v.back().chunks.push_back(i == 0 ? text(t.substr(0, 1300), false)
                                       : cont(t.substr(i, 1300), i + 1300 >= t.size()));
  }
  return v;
}

// Runs one case on a fresh connection; returns "" when it passed, else why not.
std::string run_case(const socket_address& addr, const conformance_case& c) {
  auto s = client_socket::connect(addr);
  if (!s.write_all(upgrade_request())) return "cannot send the upgrade";
  std::string head = read_http_head(s);
  if (head.rfind("HTTP/1.1 101", 0) != 0) return "no 101: " + head;
  bool wrote = true;
  // Written from another thread: a large echo must be read while we write.
  std::thread writer([&] {
    for (const auto& chunk : c.chunks)
      if (!s.write_all(chunk, 30s)) {
        wrote = c.close_codes.empty() ? false : wrote;  // a closing server may stop reading
        break;
      }
  });
  std::string why;
  for (const auto& want : c.frames) {
    auto got = read_server_frame(s, 30s);
    if (!got) {
      why = "connection ended before an expected frame";
      break;
    }
    if (got->opcode != want.opcode || got->payload != want.payload || !got->fin) {
      why = "unexpected frame: opcode " + std::to_string(got->opcode) + ", " +
            std::to_string(got->payload.size()) + " bytes";
      break;
    }
  }
  writer.join();
  if (!why.empty()) return why;
  if (!wrote) return "write failed";
  std::vector<uint16_t> codes = c.close_codes;
  if (codes.empty()) {
    // Still open and usable: our close must be echoed.
    if (!s.write_all(close_frame(1000))) return "write of the final close failed";
    codes = {1000};
  }
  auto got = read_server_frame(s);
  if (!got) return "no close frame";
  if (got->opcode != 8) return "expected close, got opcode " + std::to_string(got->opcode);
  auto info = ws::parse_close_payload(std::as_bytes(std::span(got->payload)));
  if (std::find(codes.begin(), codes.end(), info.code) == codes.end())
    return "close code " + std::to_string(info.code);
  std::string rest;
  auto end = s.read_to_end(rest);
  if (end == end_kind::timeout) return "server did not close the TCP connection";
  if (!rest.empty()) return "bytes after the close frame";
  return "";
}

}  // namespace

TEST_CASE("WebSocket conformance (Autobahn categories 1-7, 9, 10)", "[ws][conformance]") {
  ws::server_options o;
  o.max_frame = max_message;
  o.max_message = max_message;
  server_options opts;
  opts.address = *socket_address::ip("127.0.0.1", 0);
  opts.loops = 2;
  opts.codec = ws::server_codec_factory(o);
  ws_echo handler;
  tcp_server server(opts, handler);
  server.start();

  auto cases = all_cases();
  std::map<int, std::pair<int, int>> per_category;  // passed, total
  std::ostringstream table;
  int failed = 0;
  for (const auto& c : cases) {
    std::string why = run_case(server.local_address(), c);
    auto& cat = per_category[std::stoi(c.id.substr(0, c.id.find('.')))];
    ++cat.second;
    if (why.empty()) {
      ++cat.first;
    } else {
      ++failed;
      table << "  FAIL " << c.id << " " << c.what << ": " << why << "\n";
    }
  }
  std::printf("WebSocket conformance: %zu cases, %d failed\n", cases.size(), failed);
  std::printf("  %-9s %7s %6s\n", "category", "passed", "total");
  for (const auto& [cat, pt] : per_category)
    std::printf("  %-9d %7d %6d\n", cat, pt.first, pt.second);
  std::printf("%s", table.str().c_str());
  std::fflush(stdout);
  CHECK(failed == 0);
  INFO(table.str());
  CHECK(table.str().empty());
}

TEST_CASE("handshake: bad requests are answered and closed", "[ws][handshake]") {
  ws::server_options o;
  o.path = "/ws";
  o.protocols = {"chat.v2", "chat.v1"};
  o.page_path = "/";
  o.page = "<html>hi</html>";
  server_options opts;
  opts.address = *socket_address::ip("127.0.0.1", 0);
  opts.loops = 1;
  opts.codec = ws::server_codec_factory(o);
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
}

TEST_CASE("handshake: a peer that never finishes it is dropped at the deadline",
          "[ws][handshake]") {
  ws::server_options o;
  o.handshake_timeout = std::chrono::milliseconds(200);
  server_options opts;
  opts.address = *socket_address::ip("127.0.0.1", 0);
  opts.loops = 1;
  opts.codec = ws::server_codec_factory(o);
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

TEST_CASE(
    "ws::make_codec_factory: \"websocket\" bounded by max_frame, other names from the reactor",
    "[ws][factory]") {
  constexpr size_t limit = 64;  // max_frame bounds frames and messages
  auto factory = ws::make_codec_factory("websocket", limit);
  REQUIRE(factory.has_value());
  server_options opts;
  opts.address = *socket_address::ip("127.0.0.1", 0);
  opts.loops = 1;
  opts.codec = *factory;
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

  auto line = ws::make_codec_factory("line", 8);
  REQUIRE(line.has_value());
  CHECK(std::string((*line)()->name()) == "line");
  CHECK_FALSE(ws::make_codec_factory("json", 8).has_value());
}
