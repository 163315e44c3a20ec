// A worker's side of the cluster example: one shard of the keys in a
// stateful actor, published to the gateways over CAF's middleman (BASP).
#pragma once

#include <fastnet/metrics/registry.hpp>

#include <caf/all.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "messages.hpp"

namespace cluster {

/// Bounds of one worker's shard.
struct shard_limits {
  size_t max_keys = 1'000'000;
  size_t max_bytes = 256 << 20;  ///< keys and values together
};

/// A worker's families (fastnet_cluster_worker_*), made in `r` (which must
/// outlive them) at start-up and updated by its shard actor. The gauges of
/// keys and bytes held are set by the actor after each change, so they
/// equal what STATS reports (the actor's own count) whenever no request is
/// in flight.
struct worker_metrics {
  worker_metrics(fastnet::metrics::registry& r, const shard_limits& limits)
      : sets(requests(r, "set")),
        gets(requests(r, "get")),
        dels(requests(r, "del")),
        refused(r.make_counter("fastnet_cluster_worker_refused_total",
                               "SETs refused because the shard was at --max-keys or --max-bytes.")),
        keys(r.make_gauge("fastnet_cluster_worker_keys", "Keys this worker holds.")),
        bytes(r.make_gauge("fastnet_cluster_worker_bytes",
                           "Bytes of keys and values this worker holds.")) {
    r.make_gauge("fastnet_cluster_worker_max_keys", "Keys this worker holds at most (--max-keys).")
        .set(static_cast<double>(limits.max_keys));
    r.make_gauge("fastnet_cluster_worker_max_bytes",
                 "Bytes of keys and values this worker holds at most (--max-bytes).")
        .set(static_cast<double>(limits.max_bytes));
  }

  fastnet::metrics::counter& sets;  // requests handled, by op
  fastnet::metrics::counter& gets;
  fastnet::metrics::counter& dels;
  fastnet::metrics::counter& refused;
  fastnet::metrics::gauge& keys;
  fastnet::metrics::gauge& bytes;

 private:
  static fastnet::metrics::counter& requests(fastnet::metrics::registry& r, const char* op) {
    return r.make_counter("fastnet_cluster_worker_requests_total",
                          "Key requests (SET, GET, DEL) this worker handled, by operation.",
                          {{"op", op}});
  }
};

/// A worker's shard; only the worker actor touches it.
struct shard_state {
  shard_limits limits;
  size_t bytes = 0;  // keys and values held
  std::unordered_map<std::string, std::string> keys;
  std::shared_ptr<worker_metrics> metrics;  // null: not counted
};

/// The worker actor: a map bounded by `limits` (a SET past either bound is
/// refused with kv_reply::full, and the shard is unchanged), counted in
/// `metrics` when not null. Published by `cluster worker`; runs on CAF workers.
inline caf::behavior shard_actor(caf::stateful_actor<shard_state>* self, shard_limits limits,
                                 std::shared_ptr<worker_metrics> metrics) {
  self->state.limits = limits;
  self->state.metrics = std::move(metrics);
  // One request, answered; the caller counts it.
  auto handle = [self](kv_request& req) -> kv_reply {
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
  };
  return {
      [self, handle](kv_request& req) -> kv_reply {
        uint8_t op = req.op;
        kv_reply r = handle(req);
        // Counted before the reply leaves: a gateway's client that has its
        // reply finds the request in a scrape of this worker.
        if (auto* m = self->state.metrics.get()) {
          if (op == kv_request::set) m->sets.add();
          if (op == kv_request::get) m->gets.add();
          if (op == kv_request::del) m->dels.add();
          if (r.status == kv_reply::full) m->refused.add();
          m->keys.set(static_cast<double>(self->state.keys.size()));
          m->bytes.set(static_cast<double>(self->state.bytes));
        }
        return r;
      },
      [self](kv_stats_atom) -> uint64_t { return self->state.keys.size(); },
  };
}

}  // namespace cluster
