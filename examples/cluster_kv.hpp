// cluster_kv.hpp — the logic of examples/cluster.cpp, a key-value service
// spread over processes: workers each hold a shard of the keys in a stateful
// actor; gateways serve clients over TCP (one actor per connection) and
// forward each request to the worker that owns its key, over CAF's
// middleman (BASP). A header so that a user can see every actor in one place.
//
// Line protocol (one request per line, '\n' or "\r\n"; replies in order):
//   SET key value   -> OK              (value: the rest of the line, may hold spaces)
//   GET key         -> VALUE value | NOT_FOUND
//   DEL key         -> DELETED | NOT_FOUND
//   STATS           -> STATS gateway=LABEL up=U/T host:port=KEYS|down ...
//                      (LABEL names the gateway process; one entry per worker)
//   anything else   -> ERR ...
// Over WebSocket (gateway --websocket) each request and each reply is one
// message instead of a line. A key is one word of 1 to 250 printable characters. A request whose
// worker is down, unreachable or too slow gets "ERR ..." (never a hang):
// the ring answers at once for a worker it knows is down, and every request
// to a worker carries a timeout.
#pragma once

#include <fastnet/actors/connection_handle.hpp>
#include <fastnet/actors/messages.hpp>
#include <fastnet/actors/server.hpp>
#include <fastnet/actors/worker_ring.hpp>
#include <fastnet/ws/frame.hpp>
#include <fastnet/ws/utf8_validator.hpp>

#include <caf/all.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace cluster {

using fastnet::actors::connection_handle;

// ---- Messages that cross nodes: declared here once, registered on every node ----

/// What a gateway asks a worker.
struct kv_request {
  enum : uint8_t { set = 1, get = 2, del = 3 };
  uint8_t op = 0;
  std::string key;
  std::string value;  // SET only
};

/// What a worker answers.
struct kv_reply {
  enum : uint8_t { ok = 1, not_found = 2, full = 3 };
  uint8_t status = 0;
  std::string value;  // GET only
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, kv_request& x) {
  return f(caf::meta::type_name("kv_request"), x.op, x.key, x.value);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, kv_reply& x) {
  return f(caf::meta::type_name("kv_reply"), x.status, x.value);
}

/// (kv_stats_atom) -> uint64_t: the number of keys a worker holds. Gateway -> worker.
using kv_stats_atom = caf::atom_constant<caf::atom("kv_stats")>;

/// Registers every type above that crosses nodes. Every node (worker and
/// gateway) calls it on its config before building its actor_system: CAF
/// 0.17 serializes a type only under a name both ends know. Any thread.
inline void register_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<kv_request>("kv_request");
  cfg.add_message_type<kv_reply>("kv_reply");
}

// ---- Worker: one shard of the keys ----

/// Bounds of one worker's shard.
struct shard_limits {
  size_t max_keys = 1'000'000;
  size_t max_bytes = 256 << 20;  ///< keys and values together
};

/// A worker's shard; only the worker actor touches it.
struct shard_state {
  shard_limits limits;
  size_t bytes = 0;  // keys and values held
  std::unordered_map<std::string, std::string> keys;
};

/// The worker actor: a map bounded by `limits` (a SET past either bound is
/// refused with kv_reply::full, and the shard is unchanged). Published by
/// `cluster worker`; runs on CAF workers.
inline caf::behavior shard_actor(caf::stateful_actor<shard_state>* self, shard_limits limits) {
  self->state.limits = limits;
  return {
      [self](kv_request& req) -> kv_reply {
        auto& st = self->state;
        switch (req.op) {
          case kv_request::set: {
            auto it = st.keys.find(req.key);
            if (it != st.keys.end()) {
              size_t bytes = st.bytes - it->second.size() + req.value.size();
              if (bytes > st.limits.max_bytes) return {kv_reply::full, {}};
              st.bytes = bytes;
              it->second = std::move(req.value);
            } else {
              size_t bytes = st.bytes + req.key.size() + req.value.size();
              if (st.keys.size() >= st.limits.max_keys || bytes > st.limits.max_bytes)
                return {kv_reply::full, {}};
              st.bytes = bytes;
              st.keys.emplace(std::move(req.key), std::move(req.value));
            }
            return {kv_reply::ok, {}};
          }
          case kv_request::get: {
            auto it = st.keys.find(req.key);
            if (it == st.keys.end()) return {kv_reply::not_found, {}};
            return {kv_reply::ok, it->second};
          }
          case kv_request::del: {
            auto it = st.keys.find(req.key);
            if (it == st.keys.end()) return {kv_reply::not_found, {}};
            st.bytes -= it->first.size() + it->second.size();
            st.keys.erase(it);
            return {kv_reply::ok, {}};
          }
          default:
            return {kv_reply::not_found, {}};
        }
      },
      [self](kv_stats_atom) -> uint64_t { return self->state.keys.size(); },
  };
}

// ---- Gateway: one actor per client connection ----

/// Settings of a gateway's connection actors.
struct gateway_options {
  /// Bound on every request to the ring or a worker: past it the client
  /// gets "ERR ..." and the next request goes on.
  std::chrono::milliseconds request_timeout{1000};
  /// Clients speak WebSocket: requests and replies are messages (the server's
  /// codec must be "websocket").
  bool websocket = false;
  /// Names this gateway in STATS (cluster.cpp: its pid), so a client behind a
  /// shared port (SO_REUSEPORT) can tell which gateway serves it.
  std::string label = "gateway";
};

/// One client of a gateway: parses its lines and forwards them. Requests
/// are handled one at a time, in order: while one is in flight the
/// connection stops reading (lines already read wait in `queued_`, bounded
/// by the server's inbound budget). Owned by the connection's actor; every
/// method runs in that actor.
class client_session : public std::enable_shared_from_this<client_session> {
 public:
  client_session(caf::event_based_actor* self, connection_handle conn, caf::actor ring,
                 gateway_options opts)
      : self_(self),
        conn_(std::move(conn)),
        ring_(std::move(ring)),
        opts_(opts),
        websocket_(opts.websocket) {}

  /// A line from the client.
  void on_line(std::string& line) {
    if (done_) return;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (busy_) {
      queued_.push_back(std::move(line));
      return;
    }
    handle(line);
  }

  /// The connection closed: drop what waits; answers still in flight are ignored.
  void on_closed() {
    done_ = true;
    queued_.clear();
  }

 private:
  void handle(const std::string& line) {
    std::string_view rest(line);
    auto word = next_word(rest);
    if (word == "SET" || word == "GET" || word == "DEL") {
      auto key = next_word(rest);
      if (key.empty() || key.size() > 250)
        return reply("ERR usage: SET key value | GET key | DEL key");
      kv_request req;
      req.key = std::string(key);
      if (word == "SET") {
        req.op = kv_request::set;
        req.value = std::string(rest);
      } else {
        if (!rest.empty()) return reply("ERR usage: SET key value | GET key | DEL key");
        req.op = word == "GET" ? kv_request::get : kv_request::del;
      }
      return forward(std::move(req));
    }
    if (word == "STATS" && rest.empty()) return stats();
    std::string err = "ERR unknown command ";
    err.append(word);
    reply(err);
  }

  /// Asks the ring for the key's owner, then the owner; one reply line.
  void forward(kv_request req) {
    begin_request();
    auto me = shared_from_this();
    self_->request(ring_, opts_.request_timeout, fastnet::actors::route_atom::value, req.key)
        .then(
            [me, req = std::move(req)](caf::actor& owner, std::string& name) mutable {
              if (!owner) {
                std::string err = name.empty() ? std::string("ERR no worker up") : "ERR worker ";
                if (!name.empty()) err.append(name).append(" down");
                return me->finish(err);
              }
              uint8_t op = req.op;
              me->self_->request(owner, me->opts_.request_timeout, std::move(req))
                  .then([me, op](kv_reply& r) { me->finish(format(op, r)); },
                        [me, name](caf::error& err) {
                          std::string line = "ERR worker ";
                          line.append(name).append(": ").append(to_string(err));
                          me->finish(line);
                        });
            },
            [me](caf::error& err) {
              std::string line = "ERR ring: ";
              line.append(to_string(err));
              me->finish(line);
            });
  }

  /// STATS: the ring's members, then each live worker's key count.
  void stats() {
    begin_request();
    auto me = shared_from_this();
    self_->request(ring_, opts_.request_timeout, fastnet::actors::members_atom::value)
        .then(
            [me](std::vector<std::string>& names, std::vector<caf::actor>& handles) {
              struct gather {
                std::vector<std::string> names;
                std::vector<std::string> counts;
                size_t pending = 0;
              };
              auto g = std::make_shared<gather>();
              g->names = std::move(names);
              g->counts.assign(handles.size(), "down");
              auto done = [me, g] {
                size_t up = 0;
                for (const auto& c : g->counts)
                  if (c != "down") ++up;
                std::string line = "STATS gateway=";
                line.append(me->opts_.label).append(" up=");
                line.append(std::to_string(up)).append("/").append(std::to_string(g->names.size()));
                for (size_t i = 0; i < g->names.size(); ++i)
                  line.append(" ").append(g->names[i]).append("=").append(g->counts[i]);
                me->finish(line);
              };
              for (size_t i = 0; i < handles.size(); ++i) {
                if (!handles[i]) continue;
                ++g->pending;
                me->self_->request(handles[i], me->opts_.request_timeout, kv_stats_atom::value)
                    .then(
                        [g, i, done](uint64_t n) {
                          g->counts[i] = std::to_string(n);
                          if (--g->pending == 0) done();
                        },
                        [g, done](caf::error&) {
                          if (--g->pending == 0) done();
                        });
              }
              if (g->pending == 0) done();
            },
            [me](caf::error& err) {
              std::string line = "ERR ring: ";
              line.append(to_string(err));
              me->finish(line);
            });
  }

  static std::string format(uint8_t op, kv_reply& r) {
    if (r.status == kv_reply::full) return "ERR worker full";
    if (r.status == kv_reply::not_found) return "NOT_FOUND";
    if (op == kv_request::get) {
      std::string line = "VALUE ";
      line.append(r.value);
      return line;
    }
    return op == kv_request::del ? "DELETED" : "OK";
  }

  /// The first blank-separated word of `rest`, which loses it and the blank after it.
  static std::string_view next_word(std::string_view& rest) {
    auto end = rest.find(' ');
    auto word = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 1);
    return word;
  }

  /// One reply: a line, or over WebSocket a message, text when it is valid
  /// UTF-8 (a value stored from a binary message or raw bytes may not be).
  void reply(const std::string& line) {
    if (!websocket_) {
      conn_.send(std::string_view(line));
      return;
    }
    fastnet::ws::utf8_validator utf8;
    bool text = utf8.feed(std::as_bytes(std::span(line.data(), line.size()))) && utf8.complete();
    conn_.send(std::string_view(line), text ? fastnet::ws::kind::text : fastnet::ws::kind::binary);
  }

  void begin_request() {
    busy_ = true;
    conn_.pause_reading();
  }

  /// The reply of the request in flight: send it, then handle the lines
  /// that waited until one starts another request.
  void finish(const std::string& line) {
    if (done_) return;
    reply(line);
    busy_ = false;
    while (!busy_ && !done_ && !queued_.empty()) {
      std::string next = std::move(queued_.front());
      queued_.pop_front();
      handle(next);
    }
    if (!busy_ && !done_) conn_.resume_reading();
  }

  caf::event_based_actor* self_;
  connection_handle conn_;
  caf::actor ring_;
  gateway_options opts_;
  bool websocket_;
  bool busy_ = false;
  bool done_ = false;
  std::deque<std::string> queued_;
};

/// A stand-in for the worker ring in a single process (`cluster single`):
/// every key is owned by the local `shard`. Gateways and their sessions run
/// unchanged, without the network hop, so the two can be measured side by
/// side. Runs on CAF workers; ends on an exit message.
inline caf::behavior local_ring(caf::event_based_actor* self, caf::actor shard) {
  (void)self;
  return {
      [shard](fastnet::actors::route_atom,
              const std::string&) -> caf::result<caf::actor, std::string> {
        return {shard, std::string("local")};
      },
      [shard](fastnet::actors::members_atom)
          -> caf::result<std::vector<std::string>, std::vector<caf::actor>> {
        return {std::vector<std::string>{"local"}, std::vector<caf::actor>{shard}};
      },
  };
}

/// The behavior of each gateway connection actor: a client_session
/// forwarding through `ring` (a fastnet::actors::worker_ring's actor).
inline fastnet::actors::connection_behavior gateway_behavior(caf::actor ring,
                                                             gateway_options opts = {}) {
  return [ring, opts](caf::event_based_actor* self, connection_handle conn) -> caf::behavior {
    auto s = std::make_shared<client_session>(self, std::move(conn), ring, opts);
    return {
        [s](fastnet::actors::received_atom, std::string& line) { s->on_line(line); },
        // WebSocket: text and binary messages are requests; the opening
        // handshake (kind open) and the peer's close frame are not.
        [s](fastnet::actors::message_atom, fastnet::frame_kind kind, std::string& frame) {
          if (kind == fastnet::ws::kind::text || kind == fastnet::ws::kind::binary)
            s->on_line(frame);
        },
        [s](fastnet::actors::closed_atom, fastnet::close_reason) { s->on_closed(); },
    };
  };
}

}  // namespace cluster
