// The Autobahn-style WebSocket conformance cases (categories 1-7, 9, 10)
// and their runner, shared by the reactor-mode and the actor-mode suites:
// raw frames over a real socket, the expected reaction asserted per case.
//
// Each case sends bytes, then expects frames in order; then either a close
// frame with one of the listed codes followed by EOF, or (when the case
// expects the connection to stay open) the test's own close 1000 is echoed.
// Every open-ended case also runs with its Close in the same write (".c").
#pragma once

#include <fastnet/fastnet.hpp>
#include <fastnet/ws.hpp>

#include <algorithm>
#include <cstdio>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/test_socket.hpp"
#include "support/ws_wire.hpp"

namespace fastnet::test {

/// The server's max_frame and max_message in these cases.
inline constexpr size_t max_message = 1 << 20;

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

inline std::string frame(uint8_t op, const std::string& payload, bool fin = true, uint8_t rsv = 0) {
  raw_frame f;
  f.opcode = op;
  f.payload = payload;
  f.fin = fin;
  f.rsv = rsv;
  return encode_raw(f);
}
inline std::string text(const std::string& p, bool fin = true) {
  return frame(1, p, fin);
}
inline std::string binary(const std::string& p, bool fin = true) {
  return frame(2, p, fin);
}
inline std::string cont(const std::string& p, bool fin = true) {
  return frame(0, p, fin);
}
inline std::string ping(const std::string& p) {
  return frame(9, p);
}
inline std::string close_frame(uint16_t code, const std::string& reason = "") {
  return frame(8, ws::close_payload(code, reason));
}
inline std::vector<std::string> bytewise(const std::string& s) {
  std::vector<std::string> out;
  for (char c : s)
    out.emplace_back(1, c);
  return out;
}
inline std::string pattern(size_t n, uint32_t seed, bool ascii) {
  std::string s = random_bytes(n, seed);
  if (ascii)
    for (char& c : s)
      c = static_cast<char>('a' + static_cast<unsigned char>(c) % 26);
  return s;
}

inline std::vector<conformance_case> all_cases() {
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
  // Every case that leaves the connection open, again with the client's
  // Close in the same write as everything before it: the echoes must come
  // first, then the Close reply, then the FIN (".c" cases).
  const size_t n = v.size();
  for (size_t i = 0; i < n; ++i) {
    if (!v[i].close_codes.empty()) continue;
    conformance_case c = v[i];
    std::string all;
    for (auto& chunk : c.chunks)
      all += chunk;
    c.id += ".c";
    c.what += ", then a close, in one write";
    c.chunks = {all + close_frame(1000)};
    c.close_codes = {1000};
    v.push_back(std::move(c));
  }
  return v;
}

// Runs one case on a fresh connection; returns "" when it passed, else why not.
/// How strictly replies are ordered. A callback server answers each frame
/// before it reads the next, so everything comes back in frame order. With
/// replies made asynchronously (actors), the protocol's pongs go out as soon
/// as their ping is read (RFC 6455 5.5.2) and may overtake the echo of an
/// earlier message: pongs and echoes are then each checked in their own
/// order. Close replies and the FIN come after everything in both modes.
enum class reply_order { strict, pongs_apart };

inline std::string run_case(const socket_address& addr, const conformance_case& c,
                            reply_order order = reply_order::strict) {
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
  std::vector<expected_frame> pongs, others;  // pongs_apart: two orders checked
  for (const auto& want : c.frames)
    (order == reply_order::pongs_apart && want.opcode == 10 ? pongs : others).push_back(want);
  size_t next_pong = 0, next_other = 0;
  for (size_t i = 0; i < c.frames.size(); ++i) {
    auto got = read_server_frame(s, 30s);
    if (!got) {
      why = "connection ended before an expected frame";
      break;
    }
    const bool pong_slot = got->opcode == 10 && next_pong < pongs.size();
    const auto& want = pong_slot                    ? pongs[next_pong++]
                       : next_other < others.size() ? others[next_other++]
                                                    : c.frames[i];
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

/// The server's limits in large_cases(): the largest message they send.
inline constexpr size_t large_max_message = 16 << 20;

/// A message (0 B to 16 MiB, text and binary, whole or in fragments with a
/// ping between them, or right after an unsolicited pong) and the client's
/// Close, all in one write: the echo comes first, then the Close reply, then
/// the FIN. Needs a server with large_max_message limits.
inline std::vector<conformance_case> large_cases() {
  std::vector<conformance_case> v;
  int sub = 1;
  for (size_t n : {size_t{0}, size_t{1}, size_t{65536}, size_t{1} << 20, large_max_message}) {
    for (uint8_t op : {uint8_t{1}, uint8_t{2}}) {
      const std::string p = pattern(n, static_cast<uint32_t>(n + op), op == 1);
      const std::string what =
          std::string(op == 1 ? "text" : "binary") + " of " + std::to_string(n) + " bytes";
      const std::string id = "11." + std::to_string(sub++) + ".";
      v.push_back({id + "1",
                   what + ", then a close",
                   {frame(op, p) + close_frame(1000)},
                   {{op, p}},
                   {1000}});
      v.push_back({id + "2",
                   "a pong, " + what + ", then a close",
                   {frame(10, "unsolicited") + frame(op, p) + close_frame(1000)},
                   {{op, p}},
                   {1000}});
      if (n < 3) continue;
      const size_t third = n / 3;
      v.push_back(
          {id + "3",
           what + " in 3 fragments with a ping between, then a close",
           {frame(op, p.substr(0, third), false) + ping("p") + cont(p.substr(third, third), false) +
            cont(p.substr(2 * third)) + close_frame(1000, "bye")},
           {{10, "p"}, {op, p}},
           {1000}});
    }
  }
  return v;
}

/// Runs `cases` against `addr` as run_conformance() does.
inline std::string run_cases(const socket_address& addr, const char* title,
                             const std::vector<conformance_case>& cases,
                             reply_order order = reply_order::strict);

/// Runs every case against `addr`; prints a summary table and returns the
/// failures, one line each (empty: all passed).
inline std::string run_conformance(const socket_address& addr, const char* title,
                                   reply_order order = reply_order::strict) {
  return run_cases(addr, title, all_cases(), order);
}

inline std::string run_cases(const socket_address& addr, const char* title,
                             const std::vector<conformance_case>& cases, reply_order order) {
  std::map<int, std::pair<int, int>> per_category;  // passed, total
  std::ostringstream table;
  int failed = 0;
  for (const auto& c : cases) {
    std::string why = run_case(addr, c, order);
    auto& cat = per_category[std::stoi(c.id.substr(0, c.id.find('.')))];
    ++cat.second;
    if (why.empty()) {
      ++cat.first;
    } else {
      ++failed;
      table << "  FAIL " << c.id << " " << c.what << ": " << why << "\n";
    }
  }
  std::printf("WebSocket conformance (%s): %zu cases, %d failed\n", title, cases.size(), failed);
  std::printf("  %-9s %7s %6s\n", "category", "passed", "total");
  for (const auto& [cat, pt] : per_category)
    std::printf("  %-9d %7d %6d\n", cat, pt.first, pt.second);
  std::printf("%s", table.str().c_str());
  std::fflush(stdout);
  return table.str();
}

}  // namespace fastnet::test
