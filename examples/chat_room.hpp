// chat_room.hpp — the logic of examples/chat_server.cpp, a line-based TCP
// chat. It is a header so that tests/chat_test.cpp runs exactly the server
// the example runs.
//
// Three kinds of actors:
//   directory  one per chat: room name -> room actor, rooms made on demand
//              (at most chat_options::max_rooms of them).
//   room       one per room name: its members (connection id -> nick and
//              connection handle) and the nicks in use; broadcasts.
//   member     the actor fastnet spawns for each connection: parses the
//              client's lines, keeps the client's nick and room.
//
// Protocol (one line per message, '\n' or "\r\n"):
//   text         the room gets "nick: text"; the sender gets it too (IRC-like
//                echo: seeing your own line means the room has sent it)
//   /nick NAME   rename; the room gets "* old is now NAME". Refused with an
//                "error: ..." line when NAME is empty, not a single word of
//                at most 32 printable characters, reserved (guest<digits>,
//                web<digits>)
//                or in use in the room.
//   /join ROOM   join ROOM (same rules as a nick), then leave the current
//                room; refused when the nick is in use in ROOM
//   /who         "* in ROOM: nick, nick, ..." (sorted)
//   /quit        "bye"; leaves the room at once, then the connection closes
//                gracefully (flush, half-close)
//   /anything    "error: unknown command /anything"
// A client starts as "guestN" (N = connection id) in room "lobby"; a
// WebSocket client (chat_server --ws-port) as "webN" (N = its connection id
// on that server: each server counts from 1, so the prefix keeps them apart). Joins and
// leaves are announced to the room ("* alice joined", "* alice left"); the
// joiner gets its own announcement too.
//
// Slow clients: a room sends through each member's connection_handle, which
// never blocks (it queues to the connection's loop and returns false when
// the connection is closing or over its output cap). A client that stops
// reading is disconnected once chat_server_options' 1 MiB of output waits
// for it; its member actor then leaves the room. No one waits for it.
//
// Shutdown: fastnet ends every member actor when the server stops; the
// directory and the rooms are ended by chat_service::shutdown (see there
// for the order of stop, shutdown and destruction).
#pragma once

#include <fastnet/actors/connection_handle.hpp>
#include <fastnet/actors/messages.hpp>
#include <fastnet/actors/server.hpp>
#include <fastnet/codecs.hpp>
#include <fastnet/ws.hpp>

#include <caf/all.hpp>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace chat {

using fastnet::actors::connection_handle;

// ---- Messages between the chat's actors (atom names: at most 10 characters) ----

/// (room_atom, std::string name) -> caf::actor: the room called `name`, made
/// on demand; an invalid handle when max_rooms rooms exist. Member -> directory.
using room_atom = caf::atom_constant<caf::atom("chat_room")>;
/// (join_atom, uint64_t id, std::string nick, connection_handle, caf::actor member)
/// -> bool: false when `nick` is in use in the room. Member -> room.
using join_atom = caf::atom_constant<caf::atom("chat_join")>;
/// (leave_atom, uint64_t id): the member leaves. Member -> room.
using leave_atom = caf::atom_constant<caf::atom("chat_leave")>;
/// (say_atom, uint64_t id, std::string text): broadcast "nick: text". Member -> room.
using say_atom = caf::atom_constant<caf::atom("chat_say")>;
/// (nick_atom, uint64_t id, std::string nick) -> bool: false when `nick` is in
/// use in the room. Member -> room.
using nick_atom = caf::atom_constant<caf::atom("chat_nick")>;
/// (who_atom, uint64_t id): the room sends the member's client the nick list. Member -> room.
using who_atom = caf::atom_constant<caf::atom("chat_who")>;
/// (sync_atom) -> bool: answered after everything the member sent before,
/// so what the room sent on its behalf (a /who list) is already queued on
/// its connection. Member -> room.
using sync_atom = caf::atom_constant<caf::atom("chat_sync")>;

/// Limits of the chat; every field has a default.
struct chat_options {
  /// Rooms the directory makes at most; a /join past it is refused. Rooms
  /// live until the chat shuts down, so this bounds their memory.
  size_t max_rooms = 1000;
};

/// The name every client starts in.
inline constexpr std::string_view lobby = "lobby";

/// The reactor and actor settings the chat runs with: the line codec (a line
/// of more than 4 KiB is a protocol error that closes that connection), and
/// output_policy::disconnect with a 1 MiB high water mark, so a client that
/// stops reading is reset once 1 MiB waits for it instead of growing the
/// server's memory. Any thread.
inline fastnet::actors::server_options chat_server_options(const fastnet::socket_address& address,
                                                           size_t loops = 0) {
  fastnet::actors::server_options opts;
  opts.net.address = address;
  opts.net.loops = loops;
  opts.net.codec = *fastnet::make_codec_factory("line", 4096);
  opts.net.connection.high_water_mark = 1 << 20;
  opts.net.connection.low_water_mark = 256 << 10;
  opts.output = fastnet::actors::output_policy::disconnect;
  return opts;
}

/// The same chat over WebSocket (RFC 6455) for browsers: one text message
/// per line both ways (sends without a kind go out as text), messages of at
/// most 4 KiB like the TCP lines, and a plain GET of "/" answers `page`, so a
/// browser loads the page and opens its WebSocket on the same port. Any thread.
inline fastnet::actors::server_options chat_ws_server_options(
    const fastnet::socket_address& address, std::string page, size_t loops = 0) {
  fastnet::actors::server_options opts = chat_server_options(address, loops);
  fastnet::ws::server_protocol_options ws;
  ws.path = "/chat";
  ws.page_path = "/";
  ws.page = std::move(page);
  ws.max_frame = 4096;
  ws.max_message = 4096;
  ws.default_kind = fastnet::ws::kind::text;
  opts.net.protocol = fastnet::ws::server_protocol_factory(std::move(ws));
  return opts;
}

/// True for a usable nick or room name: 1 to 32 printable ASCII characters,
/// no spaces. Any thread.
inline bool valid_name(std::string_view s) {
  if (s.empty() || s.size() > 32) return false;
  for (char c : s)
    if (c <= ' ' || c > '~') return false;
  return true;
}

/// True for the names given to new clients ("guest" or "web", then
/// digits), which /nick refuses so that a newcomer's name is never taken.
/// Any thread.
inline bool is_guest_name(std::string_view s) {
  for (std::string_view prefix : {std::string_view("guest"), std::string_view("web")}) {
    if (s.size() <= prefix.size() || s.substr(0, prefix.size()) != prefix) continue;
    bool digits = true;
    for (char c : s.substr(prefix.size()))
      if (c < '0' || c > '9') digits = false;
    if (digits) return true;
  }
  return false;
}

/// Member ids (a room's key) of WebSocket clients: their connection ids,
/// which start at 1 on every server, moved past any TCP connection's.
inline constexpr uint64_t ws_member_id_base = uint64_t{1} << 62;

// ---- Room ----

/// A room's state; lives inside the room actor, so only that actor touches
/// it (on whichever CAF worker runs the actor, one message at a time).
struct room_state {
  /// One member as the room sees it.
  struct member {
    std::string nick;
    connection_handle conn;  // the room writes to the client directly
    caf::actor_addr actor;   // the member actor, monitored while a member
  };

  std::string name;
  std::map<uint64_t, member> members;  // by connection id
  std::set<std::string> nicks;         // in use here; sorted for /who

  /// Sends `line` to every member, the sender included. Never waits: a
  /// false from send() means that member's connection is closing or over
  /// its output cap; its actor leaves the room when the connection closes.
  void broadcast(std::string_view line) const {
    for (const auto& entry : members)
      entry.second.conn.send(line);
  }
};

/// The room actor's behavior. Spawned by the directory; runs on CAF workers.
/// Members that end without leaving (a crash, or the connection closing
/// while a /join is in flight) are removed when their down_msg arrives.
inline caf::behavior room_actor(caf::stateful_actor<room_state>* self, std::string name) {
  self->state.name = std::move(name);
  // Removes member `it` and tells the others.
  auto remove = [self](std::map<uint64_t, room_state::member>::iterator it) {
    auto& st = self->state;
    std::string nick = std::move(it->second.nick);
    self->demonitor(it->second.actor);
    st.nicks.erase(nick);
    st.members.erase(it);
    st.broadcast("* " + nick + " left");
  };
  self->set_down_handler([self, remove](caf::down_msg& down) {
    auto& members = self->state.members;
    for (auto it = members.begin(); it != members.end(); ++it)
      if (it->second.actor == down.source) return remove(it);
  });
  return {
      [self](join_atom, uint64_t id, std::string& nick, connection_handle& conn,
             caf::actor& member) -> bool {
        auto& st = self->state;
        if (st.nicks.count(nick) != 0 || st.members.count(id) != 0) return false;
        self->monitor(member);
        st.nicks.insert(nick);
        st.members.emplace(id, room_state::member{nick, std::move(conn), member.address()});
        st.broadcast("* " + nick + " joined");
        return true;
      },
      [self, remove](leave_atom, uint64_t id) {
        auto it = self->state.members.find(id);
        if (it != self->state.members.end()) remove(it);
      },
      [self](say_atom, uint64_t id, const std::string& text) {
        auto& st = self->state;
        auto it = st.members.find(id);
        if (it != st.members.end()) st.broadcast(it->second.nick + ": " + text);
      },
      [self](nick_atom, uint64_t id, std::string& nick) -> bool {
        auto& st = self->state;
        auto it = st.members.find(id);
        if (it == st.members.end() || st.nicks.count(nick) != 0) return false;
        std::string old = std::exchange(it->second.nick, nick);
        st.nicks.erase(old);
        st.nicks.insert(nick);
        st.broadcast("* " + old + " is now " + nick);
        return true;
      },
      [self](who_atom, uint64_t id) {
        auto& st = self->state;
        auto it = st.members.find(id);
        if (it == st.members.end()) return;
        std::string line = "* in " + st.name + ":";
        const char* sep = " ";
        for (const auto& nick : st.nicks) {
          line.append(sep).append(nick);
          sep = ", ";
        }
        it->second.conn.send(std::move(line));
      },
      [](sync_atom) { return true; },
  };
}

// ---- Directory ----

/// The directory's state; only the directory actor touches it.
struct directory_state {
  chat_options opts;
  std::unordered_map<std::string, caf::actor> rooms;  // each one monitored
  bool closing = false;                               // told to exit: waiting for the rooms to end
  caf::error reason;                                  // why, once closing
};

/// The directory actor's behavior: hands out rooms by name, making them on
/// demand. An exit message (chat_service sends one) is passed on to every
/// room, and the directory quits once all of them have ended: when it is
/// gone, no room runs any more (and none sends to a connection). Runs on CAF
/// workers.
inline caf::behavior directory_actor(caf::stateful_actor<directory_state>* self,
                                     chat_options opts) {
  self->state.opts = opts;
  self->set_exit_handler([self](caf::exit_msg& msg) {
    auto& st = self->state;
    if (st.closing) return;
    st.closing = true;
    st.reason = std::move(msg.reason);
    for (auto& entry : st.rooms)
      self->send_exit(entry.second, st.reason);
    if (st.rooms.empty()) self->quit(st.reason);
  });
  // A room ended: at shutdown, or because it failed (it should not; it is
  // then forgotten and made anew on the next /join).
  self->set_down_handler([self](caf::down_msg& down) {
    auto& st = self->state;
    for (auto it = st.rooms.begin(); it != st.rooms.end(); ++it)
      if (it->second.address() == down.source) {
        st.rooms.erase(it);
        break;
      }
    if (st.closing && st.rooms.empty()) self->quit(st.reason);
  });
  return {
      [self](room_atom, const std::string& name) -> caf::actor {
        auto& st = self->state;
        if (st.closing) return caf::actor{};
        auto it = st.rooms.find(name);
        if (it != st.rooms.end()) return it->second;
        if (st.rooms.size() >= st.opts.max_rooms) return caf::actor{};
        auto room = self->spawn(room_actor, name);
        self->monitor(room);
        st.rooms.emplace(name, room);
        return room;
      },
  };
}

// ---- Member (one per connection) ----

/// One client: its nick and room, and the parsing of its lines. Owned by
/// the connection's actor (captured by its behavior); every method runs in
/// that actor, one message at a time, on whichever CAF worker runs it.
///
/// /join and /nick ask a room (and the directory) and wait for the answer
/// without blocking: until it arrives the member is "busy", stops reading
/// from its socket, and keeps the lines already delivered in `queued_`, to
/// be handled in order afterwards. (A CAF `await` would not do: fastnet
/// delivers a batch of lines synchronously, so later lines of the batch
/// would overtake the awaited answer.)
class member : public std::enable_shared_from_this<member> {
 public:
  /// A TCP client: its member id is its connection id, its nick "guest<id>".
  member(caf::event_based_actor* self, connection_handle conn, caf::actor directory)
      : member(self, conn, std::move(directory), conn.id(), "guest" + std::to_string(conn.id())) {}
  /// A client with its own member id (unique in the chat) and first nick.
  member(caf::event_based_actor* self, connection_handle conn, caf::actor directory, uint64_t id,
         std::string nick)
      : self_(self),
        conn_(std::move(conn)),
        directory_(std::move(directory)),
        id_(id),
        nick_(std::move(nick)) {}

  /// Greets the client and joins the lobby. Called once, at spawn.
  void start() {
    conn_.send("* welcome, " + nick_ + "; commands: /nick NAME, /join ROOM, /who, /quit");
    join(std::string(lobby));
  }

  /// One line from the client.
  void on_line(std::string& line) {
    if (done_) return;
    if (busy_) {
      queued_.push_back(std::move(line));
      return;
    }
    handle(line);
  }

  /// The client finished sending (EOF, or a WebSocket Close): answer what
  /// it asked before, then close, so `printf '/who\n' | nc -N` gets its list.
  void on_peer_closed() {
    peer_done_ = true;
    finish_if_answered();
  }

  /// The connection closed (peer, /quit, overflow, server stop): leave the room.
  void on_closed() {
    done_ = true;
    queued_.clear();
    leave();
  }

 private:
  /// One line while no request is in flight: text for the room, or a command.
  void handle(std::string& line) {
    if (line.empty()) return;
    if (line[0] != '/') {
      if (room_)
        self_->send(room_, say_atom::value, id_, std::move(line));
      else
        error("not in a room; /join ROOM");
      return;
    }
    auto space = line.find(' ');
    std::string cmd = line.substr(0, space);
    std::string arg = space == std::string::npos ? std::string{} : trim(line.substr(space + 1));
    if (cmd == "/nick") {
      rename(std::move(arg));
    } else if (cmd == "/join") {
      if (!valid_name(arg))
        error("usage: /join ROOM (one word, at most 32 characters)");
      else if (room_ && arg == room_name_)
        error("already in " + arg);
      else
        join(std::move(arg));
    } else if (cmd == "/who") {
      if (room_)
        self_->send(room_, who_atom::value, id_);
      else
        error("not in a room; /join ROOM");
    } else if (cmd == "/quit") {
      // Leave now: the room should not wait for the connection to close.
      // "bye" and the close wait until the room has sent what it sends on
      // our behalf (a /who list, our own lines), as at the peer's EOF.
      done_ = true;
      queued_.clear();
      close_after_room(true);
    } else {
      error("unknown command " + cmd);
    }
  }

  /// /nick: checks the name here, then asks the room, which knows the nicks in use.
  void rename(std::string nick) {
    if (!valid_name(nick)) return error("usage: /nick NAME (one word, at most 32 characters)");
    if (nick == nick_) return error("you are already " + nick);
    if (is_guest_name(nick)) return error("guest names are reserved");
    if (!room_) {
      nick_ = std::move(nick);
      conn_.send("* you are now " + nick_);
      return;
    }
    begin_request();
    auto me = shared_from_this();
    self_->request(room_, caf::infinite, nick_atom::value, id_, nick)
        .then(
            [me, nick](bool ok) {
              if (ok)
                me->nick_ = nick;
              else
                me->error("nick " + nick + " is in use in " + me->room_name_);
              me->end_request();
            },
            [me](caf::error& err) { me->request_failed(err); });
  }

  /// /join (and the first join): gets the room from the directory, joins
  /// it, and only then leaves the current room, so a refused join changes nothing.
  void join(std::string name) {
    begin_request();
    auto me = shared_from_this();
    self_->request(directory_, caf::infinite, room_atom::value, name)
        .then(
            [me, name](caf::actor& room) {
              if (!room) {
                me->error("cannot open room " + name + " (too many rooms, or shutting down)");
                return me->end_request();
              }
              me->self_
                  ->request(room, caf::infinite, join_atom::value, me->id_, me->nick_, me->conn_,
                            caf::actor_cast<caf::actor>(me->self_))
                  .then(
                      [me, name, room](bool ok) {
                        if (ok) {
                          if (me->room_) me->self_->send(me->room_, leave_atom::value, me->id_);
                          me->room_ = room;
                          me->room_name_ = name;
                        } else {
                          me->error("nick " + me->nick_ + " is in use in " + name);
                        }
                        me->end_request();
                      },
                      [me](caf::error& err) { me->request_failed(err); });
            },
            [me](caf::error& err) { me->request_failed(err); });
  }

  /// Leaves the current room, if any.
  void leave() {
    if (room_) self_->send(room_, leave_atom::value, id_);
    room_ = nullptr;
  }

  /// A request is in flight: stop reading (bounds `queued_`) until it is answered.
  void begin_request() {
    busy_ = true;
    conn_.pause_reading();
  }

  /// The answer came: handle the lines that waited, in order, until one of
  /// them starts another request; resume reading when none is in flight.
  void end_request() {
    busy_ = false;
    while (!busy_ && !done_ && !queued_.empty()) {
      std::string line = std::move(queued_.front());
      queued_.pop_front();
      handle(line);
    }
    if (!busy_ && !done_) conn_.resume_reading();
    finish_if_answered();
  }

  /// After the peer finished: once no request is in flight and no line
  /// waits, closes the connection. Replies the room sends on our behalf
  /// (/who) are made on the room's thread: its answer to a sync comes after
  /// them, and the close after that answer, so they go out before the FIN.
  void finish_if_answered() {
    if (!peer_done_ || busy_ || done_ || !queued_.empty()) return;
    done_ = true;
    close_after_room(false);
  }

  /// Leaves the room, then closes once the room has answered a sync: its
  /// messages to this client are queued on the connection by then. With
  /// `bye`, says so first.
  void close_after_room(bool bye) {
    auto finish = [conn = conn_, bye] {
      if (bye) conn.send(std::string_view("bye"));  // (a bare literal is ambiguous)
      conn.close();                                 // flushes, then half-closes
    };
    caf::actor room = room_;
    leave();
    if (!room) return finish();
    self_->request(room, caf::infinite, sync_atom::value)
        .then([finish](bool) { finish(); }, [finish](caf::error&) { finish(); });
  }

  /// The room or directory is gone (the chat is shutting down).
  void request_failed(const caf::error& err) {
    error("chat unavailable (" + to_string(err) + ")");
    end_request();
  }

  /// Tells this client (only) what went wrong.
  void error(const std::string& what) { conn_.send("error: " + what); }

  /// `s` without leading and trailing blanks.
  static std::string trim(std::string s) {
    auto first = s.find_first_not_of(" \t");
    if (first == std::string::npos) return {};
    auto last = s.find_last_not_of(" \t");
    return s.substr(first, last - first + 1);
  }

  caf::event_based_actor* self_;
  connection_handle conn_;
  caf::actor directory_;
  uint64_t id_;
  std::string nick_;
  std::string room_name_;
  caf::actor room_;  // invalid until the first join succeeds
  bool busy_ = false;
  bool done_ = false;       // /quit, closed, or closing after the peer: ignore the rest
  bool peer_done_ = false;  // the client sends nothing more
  std::deque<std::string> queued_;
};

/// The behavior of each connection's actor: a member of the chat behind
/// `directory`. Called by fastnet inside each new connection actor.
inline fastnet::actors::connection_behavior member_behavior(caf::actor directory) {
  return [directory](caf::event_based_actor* self, connection_handle conn) -> caf::behavior {
    auto m = std::make_shared<member>(self, std::move(conn), directory);
    m->start();
    return {
        [m](fastnet::actors::received_atom, std::string& line) { m->on_line(line); },
        [m](fastnet::actors::peer_closed_atom) { m->on_peer_closed(); },
        [m](fastnet::actors::closed_atom, fastnet::close_reason) { m->on_closed(); },
    };
  };
}

/// A WebSocket text message as lines: split at '\n' (a trailing '\r' is
/// dropped), so a message cannot smuggle a line break to the TCP clients.
inline void on_ws_text(member& m, std::string_view text) {
  while (!text.empty()) {
    auto end = text.find('\n');
    std::string line(text.substr(0, end));
    if (!line.empty() && line.back() == '\r') line.pop_back();
    m.on_line(line);
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
}

/// The behavior of each WebSocket connection's actor: the same member,
/// started only once the opening handshake completes (kind::open), because
/// nothing may be sent before it, and a plain page load (no Upgrade) is a
/// connection too, which must not join a room. Each text message is a line.
inline fastnet::actors::connection_behavior ws_member_behavior(caf::actor directory) {
  return [directory](caf::event_based_actor* self, connection_handle conn) -> caf::behavior {
    uint64_t id = conn.id();
    auto m = std::make_shared<member>(self, std::move(conn), directory, ws_member_id_base + id,
                                      "web" + std::to_string(id));
    return {
        [m](fastnet::actors::message_atom, fastnet::frame_kind kind, std::string& payload) {
          if (kind == fastnet::ws::kind::open)
            m->start();
          else if (kind == fastnet::ws::kind::text)
            on_ws_text(*m, payload);
          // binary: not part of the chat; close: peer_closed follows
        },
        [m](fastnet::actors::peer_closed_atom) { m->on_peer_closed(); },
        [m](fastnet::actors::closed_atom, fastnet::close_reason) { m->on_closed(); },
    };
  };
}

// ---- Wiring ----

/// The chat's directory actor, held by the code that runs the server.
/// shutdown() (or the destructor) ends the directory and every room, and
/// returns once they are gone: without it, ~actor_system would wait for
/// them forever.
///
/// Order at stop: server.stop(), then shutdown(), then let every actor end
/// (actor_system::await_all_actors_done) before the server is destroyed.
/// Rooms hold connection handles, and a handle must not be used while its
/// server is being destroyed.
///
/// Thread safety: one controlling thread, never an actor (it blocks).
class chat_service {
 public:
  chat_service(caf::actor_system& sys, caf::actor directory)
      : sys_(&sys), directory_(std::move(directory)) {}
  ~chat_service() { shutdown(); }
  chat_service(chat_service&& other) noexcept
      : sys_(other.sys_), directory_(std::move(other.directory_)) {
    other.directory_ = nullptr;
  }
  chat_service& operator=(chat_service&&) = delete;
  chat_service(const chat_service&) = delete;
  chat_service& operator=(const chat_service&) = delete;

  /// Ends the directory and every room; returns when all have terminated. Idempotent.
  void shutdown() {
    if (!directory_) return;
    caf::scoped_actor self{*sys_};
    self->send_exit(directory_, caf::exit_reason::user_shutdown);
    self->wait_for(directory_);  // the directory ends after its rooms
    directory_ = nullptr;
  }

  const caf::actor& directory() const { return directory_; }

 private:
  caf::actor_system* sys_;
  caf::actor directory_;
};

/// Spawns the chat's directory in `sys` and makes `srv` run a member actor
/// per connection. Call before srv.start(), from the thread that controls
/// the server; keep the result until the server has stopped.
inline chat_service install_chat(fastnet::actors::server& srv, caf::actor_system& sys,
                                 chat_options opts = {}) {
  caf::actor directory = sys.spawn(directory_actor, opts);
  srv.spawn_per_connection(member_behavior(directory));
  return chat_service(sys, std::move(directory));
}

}  // namespace chat
