// The chat example (examples/chat_room.hpp) over real sockets and a real
// actor_system: a broadcast reaches every member, the commands (/nick,
// /join, /who, /quit), lines sent right behind a /join, leaves on close, a
// client that never reads is disconnected without slowing the room, and
// shutdown ends every actor. Tests wait on the data they expect (bounded by
// deadlines), never on time; assertions stay on the main thread.
#include <catch2/catch.hpp>
#include <fastnet/actors/scheduler.hpp>
#include <fastnet/actors/server.hpp>

#include <algorithm>
#include <caf/all.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "chat_room.hpp"
#include "support/line_reader.hpp"
#include "support/test_socket.hpp"
#include "support/ws_wire.hpp"

using namespace fastnet;
using namespace fastnet::test;

namespace {

/// One actor system with fastnet's scheduler settings, a chat server on
/// 127.0.0.1 and its chat. At the end: the server stops, the chat's actors
/// end, every actor has ended, and only then is the server destroyed (see
/// chat_service).
struct chat_env {
  chat_env() { srv.start(); }
  ~chat_env() {
    srv.stop();
    chat.shutdown();
    sys.await_all_actors_done();
  }
  static caf::actor_system_config& configured(caf::actor_system_config& cfg) {
    actors::apply(cfg);
    return cfg;
  }
  caf::actor_system_config cfg;
  caf::actor_system sys{configured(cfg)};
  actors::server srv{sys, chat::chat_server_options(*socket_address::ip("127.0.0.1", 0), 2)};
  chat::chat_service chat = chat::install_chat(srv, sys);
};

/// A chat client: a socket plus a line buffer. Used by one thread.
class chat_client {
 public:
  /// Connects, reads the greeting (to learn the nick) and waits until the
  /// lobby has announced this client: from then on it is a member.
  explicit chat_client(const socket_address& addr) : sock_(client_socket::connect(addr)) {}

  /// The second half of joining: see connect_member.
  bool greeted() {
    auto hello = read_line();
    if (!hello) return false;
    // "* welcome, guestN; commands: ..."
    const std::string prefix = "* welcome, ";
    if (hello->rfind(prefix, 0) != 0) return false;
    nick = hello->substr(prefix.size(), hello->find(';') - prefix.size());
    return wait_for("* " + nick + " joined");
  }

  bool send_line(std::string_view line) { return sock_.write_all(std::string(line) + "\n"); }
  bool send_raw(std::string_view bytes) { return sock_.write_all(bytes); }

  /// The next line without its '\n'; nullopt on EOF, error or timeout.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout = 10s) {
    return reader_.read_line(timeout);
  }

  /// Reads lines until one equals `wanted`; the lines before it go to
  /// `before` when given. False on EOF, error, timeout or after max_lines.
  bool wait_for(const std::string& wanted, std::vector<std::string>* before = nullptr,
                size_t max_lines = 10000) {
    for (size_t i = 0; i < max_lines; ++i) {
      auto line = read_line();
      if (!line) return false;
      if (*line == wanted) return true;
      if (before != nullptr) before->push_back(std::move(*line));
    }
    return false;
  }

  /// Reads lines until each of `wanted` has appeared, in any order. False
  /// on EOF, error, timeout or after max_lines.
  /// Every line read goes to `seen` when given.
  bool wait_for_all(std::vector<std::string> wanted, std::vector<std::string>* seen = nullptr,
                    size_t max_lines = 10000) {
    for (size_t i = 0; i < max_lines && !wanted.empty(); ++i) {
      auto line = read_line();
      if (!line) return false;
      std::erase(wanted, *line);
      if (seen != nullptr) seen->push_back(std::move(*line));
    }
    return wanted.empty();
  }

  /// What is left of the stream until EOF or reset (buffered lines included).
  end_kind read_to_end(std::string& rest) {
    rest = reader_.take_buffered();
    return sock_.read_to_end(rest, 10s);
  }

  client_socket& socket() { return sock_; }

  std::string nick;

 private:
  client_socket sock_;
  line_reader reader_{sock_.fd()};
};

bool contains(const std::vector<std::string>& lines, std::string_view text) {
  for (const auto& l : lines)
    if (l.find(text) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("chat: a line reaches all 20 members of the lobby", "[chat]") {
  chat_env env;
  std::vector<chat_client> clients;
  clients.reserve(20);
  for (int i = 0; i < 20; ++i) {
    clients.emplace_back(env.srv.local_address());
    REQUIRE(clients.back().greeted());  // a member of the lobby from here on
  }
  auto& speaker = clients[7];
  REQUIRE(speaker.send_line("hello, everyone"));
  const std::string expected = speaker.nick + ": hello, everyone";
  for (auto& c : clients) {
    INFO("client " << c.nick);
    CHECK(c.wait_for(expected));
  }
}

TEST_CASE("chat: /nick /who /join /quit and unknown commands", "[chat]") {
  chat_env env;
  chat_client a(env.srv.local_address());
  REQUIRE(a.greeted());
  chat_client b(env.srv.local_address());
  REQUIRE(b.greeted());
  const std::string guest_b = b.nick;

  // /nick: the room sees the rename; bad and taken names are refused.
  REQUIRE(a.send_line("/nick alice"));
  const std::string renamed = "* " + a.nick + " is now alice";
  CHECK(a.wait_for(renamed));
  CHECK(b.wait_for(renamed));
  REQUIRE(b.send_line("/nick alice"));
  CHECK(b.wait_for("error: nick alice is in use in lobby"));
  REQUIRE(b.send_line("/nick"));
  CHECK(b.wait_for("error: usage: /nick NAME (one word, at most 32 characters)"));
  REQUIRE(b.send_line("/nick two words"));
  CHECK(b.wait_for("error: usage: /nick NAME (one word, at most 32 characters)"));
  REQUIRE(b.send_line("/nick guest99"));
  CHECK(b.wait_for("error: guest names are reserved"));
  REQUIRE(b.send_line("/nick bob"));
  CHECK(b.wait_for("* " + guest_b + " is now bob"));
  CHECK(a.wait_for("* " + guest_b + " is now bob"));

  // /who lists the room's nicks, sorted.
  REQUIRE(b.send_line("/who"));
  CHECK(b.wait_for("* in lobby: alice, bob"));

  // Unknown commands.
  REQUIRE(b.send_line("/frob x"));
  CHECK(b.wait_for("error: unknown command /frob"));

  // /join: alice moves to rust; the lobby sees her leave.
  REQUIRE(a.send_line("/join rust"));
  CHECK(a.wait_for("* alice joined"));
  CHECK(b.wait_for("* alice left"));
  // A lobby broadcast, then /who: the lobby answers /who after the broadcast
  // has been queued to every member, so any copy for alice (there must be
  // none) is queued before her own "ping" below comes back.
  REQUIRE(b.send_line("hello lobby"));
  REQUIRE(b.send_line("/who"));
  CHECK(b.wait_for("bob: hello lobby"));
  CHECK(b.wait_for("* in lobby: bob"));
  REQUIRE(a.send_line("ping"));
  std::vector<std::string> seen;
  CHECK(a.wait_for("alice: ping", &seen));
  CHECK_FALSE(contains(seen, "hello lobby"));
  REQUIRE(a.send_line("/who"));
  CHECK(a.wait_for("* in rust: alice"));
  REQUIRE(a.send_line("/join rust"));
  CHECK(a.wait_for("error: already in rust"));

  // Nicks are unique per room: bob may be alice in the lobby, but cannot
  // bring that nick into rust; the refused /join leaves him where he was.
  REQUIRE(b.send_line("/nick alice"));
  CHECK(b.wait_for("* bob is now alice"));
  REQUIRE(b.send_line("/join rust"));
  CHECK(b.wait_for("error: nick alice is in use in rust"));
  REQUIRE(b.send_line("/who"));
  CHECK(b.wait_for("* in lobby: alice"));
  REQUIRE(b.send_line("/nick bob"));
  CHECK(b.wait_for("* alice is now bob"));
  REQUIRE(b.send_line("/join rust"));
  CHECK(a.wait_for("* bob joined"));
  CHECK(b.wait_for("* bob joined"));

  // /quit: "bye", then EOF; the room announces the leave.
  REQUIRE(a.send_line("/quit"));
  CHECK(a.wait_for("bye"));
  std::string rest;
  CHECK(a.read_to_end(rest) == end_kind::eof);
  CHECK(rest.empty());
  CHECK(b.wait_for("* alice left"));
  REQUIRE(b.send_line("/who"));
  CHECK(b.wait_for("* in rust: bob"));
}

TEST_CASE("chat: lines right behind a /join go to the new room in order", "[chat]") {
  chat_env env;
  chat_client a(env.srv.local_address());
  REQUIRE(a.greeted());
  REQUIRE(a.send_line("/join rust"));
  REQUIRE(a.wait_for("* " + a.nick + " joined"));
  chat_client lobby_member(env.srv.local_address());
  REQUIRE(lobby_member.greeted());

  // One write: the member is busy joining while the rest of it is read.
  chat_client c(env.srv.local_address());
  REQUIRE(c.greeted());
  REQUIRE(c.send_raw("/join rust\r\nhi from c\n/who\nsecond\n/join lobby\nback home\n"));
  CHECK(a.wait_for("* " + c.nick + " joined"));
  CHECK(a.wait_for(c.nick + ": hi from c"));
  CHECK(a.wait_for(c.nick + ": second"));
  CHECK(a.wait_for("* " + c.nick + " left"));
  // Lines from one room arrive in order; lines from two rooms may not: the
  // lobby's "back home" may overtake anything rust sends.
  auto [first, last] = std::minmax(a.nick, c.nick);
  const std::vector<std::string> from_rust = {
      c.nick + ": hi from c", "* in rust: " + first + ", " + last, c.nick + ": second"};
  std::vector<std::string> seen;
  auto wanted = from_rust;
  wanted.push_back(c.nick + ": back home");
  CHECK(c.wait_for_all(wanted, &seen));
  std::vector<std::string> rust_order;
  for (const auto& line : seen)
    if (std::find(from_rust.begin(), from_rust.end(), line) != from_rust.end())
      rust_order.push_back(line);
  CHECK(rust_order == from_rust);
  // The lobby saw c leave for rust, come back, and speak; none of the rust lines.
  seen.clear();
  CHECK(lobby_member.wait_for(c.nick + ": back home", &seen));
  CHECK(contains(seen, "* " + c.nick + " left"));
  CHECK(contains(seen, "* " + c.nick + " joined"));
  CHECK_FALSE(contains(seen, "hi from c"));
  CHECK_FALSE(contains(seen, "second"));
}

TEST_CASE("chat: a connection that closes leaves its room", "[chat]") {
  chat_env env;
  chat_client a(env.srv.local_address());
  REQUIRE(a.greeted());
  std::string gone;
  {
    chat_client b(env.srv.local_address());
    REQUIRE(b.greeted());
    gone = b.nick;
    REQUIRE(a.wait_for("* " + gone + " joined"));
  }  // b closes its socket without /quit
  CHECK(a.wait_for("* " + gone + " left"));
  {
    chat_client c(env.srv.local_address());
    REQUIRE(c.greeted());
    REQUIRE(a.wait_for("* " + c.nick + " joined"));
    gone = c.nick;
    c.socket().set_linger_zero();  // reset instead of FIN
  }
  CHECK(a.wait_for("* " + gone + " left"));
  REQUIRE(a.send_line("/who"));
  CHECK(a.wait_for("* in lobby: " + a.nick));
}

TEST_CASE("chat: /who over a half-closed connection gets its answer before the FIN", "[chat]") {
  // What `printf '/who\n' | nc -N host port` does: the request, then EOF at
  // once, in the same burst as the join. The answer is made by the room
  // actor, after a round trip; the connection must wait for it.
  chat_env env;
  for (bool after_greeting : {false, true}) {
    chat_client c(env.srv.local_address());
    if (after_greeting) {
      REQUIRE(c.greeted());
      REQUIRE(c.send_line("/who"));
    } else {
      REQUIRE(c.send_raw("/who\n/nick ann" + std::to_string(c.socket().fd()) + "\n/who\n"));
    }
    c.socket().shutdown_write();
    std::string rest;
    CHECK(c.read_to_end(rest) == end_kind::eof);
    INFO(rest);
    CHECK(rest.find("* in lobby: ") != std::string::npos);
    if (!after_greeting) {
      // Both lists, in order: the second one after the rename.
      auto first = rest.find("* in lobby: ");
      CHECK(rest.find("* in lobby: ", first + 1) != std::string::npos);
      CHECK(rest.find("ann", first) != std::string::npos);
    }
  }
}

TEST_CASE("chat: lines and /who right before /quit are answered before bye", "[chat]") {
  chat_env env;
  for (int round = 0; round < 10; ++round) {
    chat_client c(env.srv.local_address());
    REQUIRE(c.greeted());
    REQUIRE(c.send_raw("hello\n/who\n/quit\n"));
    std::string rest;
    CHECK(c.read_to_end(rest) == end_kind::eof);
    INFO(rest);
    auto said = rest.find(c.nick + ": hello");
    auto list = rest.find("* in lobby: ");
    auto bye = rest.find("bye");
    CHECK(said != std::string::npos);
    CHECK(list != std::string::npos);
    CHECK(bye != std::string::npos);
    CHECK(said < list);
    CHECK(list < bye);
  }
}

TEST_CASE("chat: a client that never reads is disconnected and the room goes on", "[chat][slow]") {
  chat_env env;
  chat_client silent(env.srv.local_address());
  silent.socket().set_recv_buffer(4096);
  REQUIRE(silent.greeted());  // the last time it reads until the end
  chat_client sender(env.srv.local_address());
  REQUIRE(sender.greeted());
  std::vector<chat_client> readers;
  readers.reserve(3);
  for (int i = 0; i < 3; ++i) {
    readers.emplace_back(env.srv.local_address());
    REQUIRE(readers.back().greeted());
  }

  // Send 1 KiB lines in batches of 100. After each batch every reader
  // reads up to the batch's last line (so no reader falls more than a batch
  // behind, while the silent client falls behind without bound) and checks
  // it got every line, in order. Go on until the room announces that the
  // silent client left: past the kernel's buffers and the server's 1 MiB.
  const std::string left = "* " + silent.nick + " left";
  const std::string prefix = sender.nick + ": ";
  const size_t batch = 100;
  const size_t max_lines = 30000;                       // ~30 MiB: far more than the buffers hold
  std::vector<size_t> received(readers.size() + 1, 0);  // readers, then the sender
  std::vector<bool> saw_left(readers.size() + 1, false);
  std::vector<bool> in_order(readers.size() + 1, true);
  size_t sent = 0;
  while (!saw_left.back() && sent < max_lines) {
    std::string lines;
    std::string last;
    for (size_t i = sent; i < sent + batch; ++i) {
      last = std::to_string(i) + " ";
      last.resize(1024, static_cast<char>('a' + i % 26));
      lines.append(last).append("\n");
    }
    const std::string last_line = prefix + last;
    REQUIRE(sender.send_raw(lines));
    sent += batch;
    for (size_t r = 0; r <= readers.size(); ++r) {
      auto& c = r < readers.size() ? readers[r] : sender;
      for (;;) {
        auto line = c.read_line();
        INFO("reader " << r << " after " << received[r] << " lines");
        REQUIRE(line.has_value());
        if (*line == left) {
          saw_left[r] = true;
          continue;
        }
        if (line->rfind(prefix, 0) != 0) continue;
        const std::string number = std::to_string(received[r]) + " ";
        if (line->compare(prefix.size(), number.size(), number) != 0) in_order[r] = false;
        ++received[r];
        if (*line == last_line) break;
      }
    }
  }
  INFO("sent " << sent << " lines");
  REQUIRE(saw_left.back());  // the silent client was disconnected
  for (size_t r = 0; r <= readers.size(); ++r) {
    INFO("reader " << r);
    CHECK(received[r] == sent);
    CHECK(in_order[r]);
  }
  // Readers saw the leave, at the latest right after the final batch.
  for (size_t r = 0; r < readers.size(); ++r)
    if (!saw_left[r]) CHECK(readers[r].wait_for(left));

  // The silent client's connection was reset by the server.
  std::string rest;
  CHECK(silent.read_to_end(rest) != end_kind::timeout);

  // The server still answers, old members and newcomers alike.
  chat_client late(env.srv.local_address());
  REQUIRE(late.greeted());
  REQUIRE(late.send_line("/who"));
  std::string who = "* in lobby:";
  std::vector<std::string> nicks{sender.nick, late.nick};
  for (auto& r : readers)
    nicks.push_back(r.nick);
  std::sort(nicks.begin(), nicks.end());
  for (size_t i = 0; i < nicks.size(); ++i)
    who.append(i == 0 ? " " : ", ").append(nicks[i]);
  CHECK(late.wait_for(who));
  REQUIRE(readers[0].send_line("still here"));
  CHECK(late.wait_for(readers[0].nick + ": still here"));
  CHECK(sender.wait_for(readers[0].nick + ": still here"));
}

TEST_CASE("chat: stop with members in several rooms ends every actor", "[chat]") {
  caf::actor_system_config cfg;
  actors::apply(cfg);
  caf::actor_system sys{cfg};
  std::vector<chat_client> clients;
  {
    actors::server srv(sys, chat::chat_server_options(*socket_address::ip("127.0.0.1", 0), 2));
    chat::chat_service chat = chat::install_chat(srv, sys);
    srv.start();
    clients.reserve(30);
    for (int i = 0; i < 30; ++i) {
      clients.emplace_back(srv.local_address());
      REQUIRE(clients.back().greeted());
      REQUIRE(clients.back().send_line("/join room" + std::to_string(i % 5)));
      REQUIRE(clients.back().wait_for("* " + clients.back().nick + " joined"));
    }
    // stop() waits for each client to close its side (or for the close
    // linger): the clients read to the end and close while it runs.
    std::thread stopper([&] { srv.stop(); });
    std::vector<end_kind> ends;
    for (auto& c : clients) {
      std::string rest;
      ends.push_back(c.read_to_end(rest));
      c.socket().close();
    }
    stopper.join();
    chat.shutdown();
    for (auto end : ends)
      CHECK(end == end_kind::eof);  // every connection was closed gracefully
    // Every actor (members, rooms, directory) ends: this would block (and
    // the test time out) if one were left.
    sys.await_all_actors_done();
    CHECK(sys.registry().running() == 0);
  }
}

namespace {

/// chat_env plus chat_server --ws-port's second server: WebSocket members
/// in the same directory. Stops both servers before the chat ends, and every
/// actor ends before either server is destroyed (rooms hold handles of both).
struct chat_ws_env {
  chat_ws_env() {
    ws_srv.spawn_per_connection(chat::ws_member_behavior(chat.directory()));
    srv.start();
    ws_srv.start();
  }
  ~chat_ws_env() {
    ws_srv.stop();
    srv.stop();
    chat.shutdown();
    sys.await_all_actors_done();
  }
  caf::actor_system_config cfg;
  caf::actor_system sys{chat_env::configured(cfg)};
  actors::server srv{sys, chat::chat_server_options(*socket_address::ip("127.0.0.1", 0), 1)};
  actors::server ws_srv{
      sys, chat::chat_ws_server_options(*socket_address::ip("127.0.0.1", 0), "<p>chat</p>", 1)};
  chat::chat_service chat = chat::install_chat(srv, sys);
};

/// The payload of the next text frame from the server; nullopt otherwise.
std::optional<std::string> read_text(client_socket& s) {
  auto f = read_server_frame(s);
  if (!f || f->opcode != wire_op::text) return std::nullopt;
  return std::move(f->payload);
}

}  // namespace

TEST_CASE("chat: WebSocket members share the rooms with TCP members", "[chat][ws]") {
  chat_ws_env env;
  // Two TCP members (connection ids 1 and 2 on their server).
  chat_client a(env.srv.local_address());
  REQUIRE(a.greeted());
  chat_client b(env.srv.local_address());
  REQUIRE(b.greeted());

  // A page load is connection 1 of the WebSocket server: it gets the page
  // and joins nothing.
  auto page = client_socket::connect(env.ws_srv.local_address());
  REQUIRE(page.write_all("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
  CHECK(read_http_head(page).rfind("HTTP/1.1 200", 0) == 0);

  // The WebSocket is connection 2 there, like b here: it must still be a
  // member of its own (webN, id apart from every TCP member's).
  auto web = client_socket::connect(env.ws_srv.local_address());
  REQUIRE(web.write_all(upgrade_request("/chat")));
  REQUIRE(read_http_head(web).rfind("HTTP/1.1 101", 0) == 0);
  auto welcome = read_text(web);
  REQUIRE(welcome);
  REQUIRE(welcome->rfind("* welcome, web", 0) == 0);
  const std::string nick = welcome->substr(11, welcome->find(';') - 11);
  CHECK(read_text(web) == "* " + nick + " joined");
  CHECK(a.wait_for("* " + nick + " joined"));
  CHECK(b.wait_for("* " + nick + " joined"));

  // A TCP line reaches the browser as one text message.
  REQUIRE(a.send_line("hello from tcp"));
  CHECK(read_text(web) == a.nick + ": hello from tcp");
  CHECK(b.wait_for(a.nick + ": hello from tcp"));

  // A text message is lines: a newline in it cannot forge a line for TCP clients.
  raw_frame text;
  text.payload = "hi\r\nguest1: forged";
  REQUIRE(web.write_all(encode_raw(text)));
  CHECK(read_text(web) == nick + ": hi");
  CHECK(read_text(web) == nick + ": guest1: forged");
  for (auto* c : {&a, &b}) {
    CHECK(c->wait_for(nick + ": hi"));
    CHECK(c->wait_for(nick + ": guest1: forged"));
  }

  // Its names are reserved like guestN.
  REQUIRE(a.send_line("/nick " + nick));
  CHECK(a.wait_for("error: guest names are reserved"));

  // Closing the WebSocket leaves the room.
  raw_frame close;
  close.opcode = wire_op::close;
  close.payload = ws::close_payload(ws::close_code::normal);
  REQUIRE(web.write_all(encode_raw(close)));
  auto answer = read_server_frame(web);
  REQUIRE(answer);
  CHECK(answer->opcode == wire_op::close);
  web.close();  // the server's close waits for our FIN (RFC 6455 7.1.1)
  CHECK(a.wait_for("* " + nick + " left"));
}
