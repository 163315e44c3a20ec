// The messages that cross nodes in the cluster example: declared here once,
// registered on every node (gateway and worker) before its actor_system is
// built. CAF 0.17 serializes a type only under a name both ends know.
#pragma once

#include <caf/all.hpp>

#include <cstdint>
#include <string>

namespace cluster {

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

}  // namespace cluster
