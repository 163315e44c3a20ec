// A gateway's side of the cluster example: one actor per client connection
// parses the line protocol and forwards each request to the worker that owns
// its key, found by the worker ring (fastnet/actors/worker_ring.hpp).
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
//
// Metrics (cluster --metrics-port): gateway_metrics below (and a worker's
// worker_metrics in shard.hpp), counted where the work is done, once per request (never per byte),
// with the registry's atomic counters. Without the flag their pointers are
// null and nothing is counted.
#pragma once

#include <fastnet/actors/connection_handle.hpp>
#include <fastnet/actors/messages.hpp>
#include <fastnet/actors/server.hpp>
#include <fastnet/actors/worker_ring.hpp>
#include <fastnet/metrics/registry.hpp>
#include <fastnet/ws/frame.hpp>
#include <fastnet/ws/utf8_validator.hpp>

#include <caf/all.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "messages.hpp"

namespace cluster {

using fastnet::actors::connection_handle;

/// Why a request got "ERR ...": the `reason` label of
/// fastnet_cluster_request_errors_total, a fixed set.
enum class request_error : uint8_t {
  bad_request,  // not a valid request line; never left the gateway
  ring,         // the ring actor did not answer in time (STATS or routing)
  no_worker,    // no worker is up to own the key
  down,         // the key's worker is known to be down (--on-down fail): failed at once
  timeout,      // sent to the worker, no reply within --request-timeout
  failed,       // sent to the worker, and the request failed otherwise (link or actor lost)
  full,         // the worker refused a SET: its shard is full
};
inline constexpr std::array<const char*, 7> request_error_names{
    "bad_request", "ring", "no_worker", "down", "timeout", "failed", "full"};

/// A gateway's families (fastnet_cluster_*), made in `r` (which must
/// outlive them) at start-up for the configured workers, and updated by the
/// connection actors (requests) and the ring (membership). Thread safety:
/// every method from any thread.
class gateway_metrics {
 public:
  gateway_metrics(fastnet::metrics::registry& r, const std::vector<std::string>& workers)
      : up_(workers_gauge(r, "up")),
        down_(workers_gauge(r, "down")),
        seconds_(r.make_histogram(
            "fastnet_cluster_request_seconds",
            "Time from the gateway's forwarding of a key request (asking the ring for its "
            "owner) to the worker's answer or the request's failure; requests sent to a worker.",
            // From a loopback round trip to well past the default 1 s request timeout.
            fastnet::metrics::log_linear_buckets(1e-5, 10))) {
    down_.set(static_cast<double>(workers.size()));  // the ring starts with none connected
    for (const auto& w : workers)
      routed_.emplace(
          w, &r.make_counter("fastnet_cluster_requests_total",
                             "Key requests (SET, GET, DEL) sent to each worker.", {{"worker", w}}));
    for (size_t i = 0; i < errors_.size(); ++i)
      errors_[i] = &r.make_counter("fastnet_cluster_request_errors_total",
                                   "Requests answered with ERR, by reason.",
                                   {{"reason", request_error_names[i]}});
  }

  /// A request was sent to `worker` (a name from the ring: "host:port").
  void routed(const std::string& worker) {
    if (auto it = routed_.find(worker); it != routed_.end()) it->second->add();
  }
  /// A request sent to a worker was answered (or failed) after `d`.
  void took(std::chrono::steady_clock::duration d) {
    seconds_.observe(std::chrono::duration<double>(d).count());
  }
  void error(request_error e) { errors_[static_cast<size_t>(e)]->add(); }
  /// A worker went up or down (worker_ring_options::on_change).
  void worker_changed(bool up) {
    up_.add(up ? 1 : -1);
    down_.add(up ? -1 : 1);
  }

 private:
  static fastnet::metrics::gauge& workers_gauge(fastnet::metrics::registry& r, const char* state) {
    return r.make_gauge("fastnet_cluster_workers", "Configured workers, by state in the ring.",
                        {{"state", state}});
  }

  fastnet::metrics::gauge& up_;
  fastnet::metrics::gauge& down_;
  fastnet::metrics::histogram& seconds_;
  // Filled by the constructor, then only read: no lock needed.
  std::unordered_map<std::string, fastnet::metrics::counter*> routed_;
  std::array<fastnet::metrics::counter*, request_error_names.size()> errors_{};
};

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
  /// Where requests are counted; null: nowhere.
  std::shared_ptr<gateway_metrics> metrics;
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
      if (key.empty() || key.size() > 250) return bad_request();
      kv_request req;
      req.key = std::string(key);
      if (word == "SET") {
        req.op = kv_request::set;
        req.value = std::string(rest);
      } else {
        if (!rest.empty()) return bad_request();
        req.op = word == "GET" ? kv_request::get : kv_request::del;
      }
      return forward(std::move(req));
    }
    if (word == "STATS" && rest.empty()) return stats();
    count(request_error::bad_request);
    std::string err = "ERR unknown command ";
    err.append(word);
    reply(err);
  }

  void bad_request() {
    count(request_error::bad_request);
    reply("ERR usage: SET key value | GET key | DEL key");
  }

  void count(request_error e) {
    if (opts_.metrics) opts_.metrics->error(e);
  }

  /// Asks the ring for the key's owner, then the owner; one reply line.
  /// With metrics, each outcome is counted before the reply is sent, so a
  /// client holding its reply finds its request in a scrape.
  void forward(kv_request req) {
    begin_request();
    auto me = shared_from_this();
    // Read the clock only when the time is kept (`cluster single` measures this path).
    auto started =
        opts_.metrics ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
    self_->request(ring_, opts_.request_timeout, fastnet::actors::route_atom::value, req.key)
        .then(
            [me, started, req = std::move(req)](caf::actor& owner, std::string& name) mutable {
              auto* m = me->opts_.metrics.get();
              if (!owner) {
                if (m) m->error(name.empty() ? request_error::no_worker : request_error::down);
                std::string err = name.empty() ? std::string("ERR no worker up") : "ERR worker ";
                if (!name.empty()) err.append(name).append(" down");
                return me->finish(err);
              }
              if (m) m->routed(name);
              uint8_t op = req.op;
              me->self_->request(owner, me->opts_.request_timeout, std::move(req))
                  .then(
                      [me, started, op](kv_reply& r) {
                        if (auto* metrics = me->opts_.metrics.get()) {
                          metrics->took(std::chrono::steady_clock::now() - started);
                          if (r.status == kv_reply::full) metrics->error(request_error::full);
                        }
                        me->finish(format(op, r));
                      },
                      [me, started, name](caf::error& err) {
                        if (auto* metrics = me->opts_.metrics.get()) {
                          metrics->took(std::chrono::steady_clock::now() - started);
                          metrics->error(err == caf::sec::request_timeout ? request_error::timeout
                                                                          : request_error::failed);
                        }
                        std::string line = "ERR worker ";
                        line.append(name).append(": ").append(to_string(err));
                        me->finish(line);
                      });
            },
            [me](caf::error& err) {
              me->count(request_error::ring);
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
              me->count(request_error::ring);
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
