// fastnet::actors — routing keys to actors on other nodes by consistent
// hashing, with the membership kept by monitoring and reconnecting.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/atom.hpp>
#include <caf/io/middleman_actor.hpp>

#include <fastnet/actors/node.hpp>

namespace fastnet::actors {

/// (route_atom, std::string key) -> (caf::actor owner, std::string owner_name):
/// the worker that owns `key`. `owner` is invalid when that worker is down
/// (ring_policy::fail) or when no worker is up; `owner_name` names the
/// worker ("host:port"), empty when there is none.
using route_atom = caf::atom_constant<caf::atom("fn_route")>;
/// (members_atom) -> (std::vector<std::string> names, std::vector<caf::actor> actors):
/// every configured worker in list order, with an invalid actor for one that is down.
using members_atom = caf::atom_constant<caf::atom("fn_members")>;
/// (ready_atom) -> size_t: the number of workers up, answered once the first
/// connection attempt to every worker has ended (succeeded or failed).
using ready_atom = caf::atom_constant<caf::atom("fn_ready")>;

/// What becomes of the keys of a worker that is down.
enum class ring_policy {
  /// They stay its own: requests for them fail at once (for workers holding
  /// state that no other worker has) until the worker is back.
  fail,
  /// The worker leaves the ring and only its share of keys moves to the
  /// others (for stateless or cache-like workers); it moves back on rejoin.
  reroute,
};

/// The workers and how to reach them.
struct worker_ring_options {
  /// Static membership: each worker's published address. A worker's ring
  /// position follows its index here, so every gateway given the same list
  /// routes every key to the same worker.
  std::vector<endpoint> workers;
  /// What becomes of the keys of a worker that is down.
  ring_policy policy = ring_policy::fail;
  /// Points per worker on the ring (fastnet::hash_ring replicas).
  size_t replicas = 160;
  /// A connection attempt that has not finished by then has failed.
  std::chrono::milliseconds connect_timeout{1000};
  /// Reconnect back-off for a worker that is down: starts at retry_min,
  /// doubles per failed attempt, never exceeds retry_max.
  std::chrono::milliseconds retry_min{100};
  /// The longest reconnect back-off (see retry_min).
  std::chrono::milliseconds retry_max{2000};
  /// The middleman actor the ring connects through. Unset: the plain
  /// middleman's (BASP over TCP). For BASP over TLS give the OpenSSL
  /// module's: node_middleman() in node_tls.hpp.
  caf::io::middleman_actor middleman;
  /// Told each time worker `index` (into `workers`) goes up or down; every
  /// worker starts down. For a membership gauge kept by events: the state
  /// is the ring actor's own, and asking it at each scrape would block the
  /// scraping thread on an actor round trip. Called in the ring actor
  /// (never concurrently with itself) before it answers anything that
  /// reflects the change; must be quick and must not block. Empty: none.
  std::function<void(size_t index, bool up)> on_change;
};

/// Spawns the ring actor: it connects to every worker through CAF's
/// middleman (remote_actor, asynchronously), monitors each one it reaches,
/// places it on a fastnet::hash_ring (the loop balancer's ring), and answers
/// route_atom, members_atom and ready_atom. A worker whose down_msg arrives
/// (it died, or the middleman's heartbeat timed its node out) is marked down
/// and reconnected with back-off until it is back. The actor lives until it
/// gets an exit message (worker_ring does that). Any thread.
caf::actor spawn_worker_ring(caf::actor_system& sys, worker_ring_options opts);

/// Owns a ring actor: spawns it, and ends it (waiting until it has
/// terminated) on destruction or stop(), so ~actor_system never waits for it.
/// Thread safety: constructor, stop() and destructor from one controlling
/// thread, never from an actor (they block); actor() from any thread.
class worker_ring {
 public:
  /// Spawns the ring actor (spawn_worker_ring) and returns at once, before
  /// any worker is reached: wait_ready() waits for that. `sys` must outlive
  /// the ring.
  worker_ring(caf::actor_system& sys, worker_ring_options opts);
  /// Ends the ring actor and waits for it, as stop() does.
  ~worker_ring() { stop(); }
  worker_ring(const worker_ring&) = delete;
  worker_ring& operator=(const worker_ring&) = delete;

  /// The ring actor (see spawn_worker_ring for what it answers).
  const caf::actor& actor() const { return actor_; }
  /// Waits (at most `timeout`) until the first connection attempt to every
  /// worker has ended; returns how many workers are up (0 on timeout).
  size_t wait_ready(std::chrono::milliseconds timeout);
  /// Ends the ring actor and waits for it. Idempotent.
  void stop();

 private:
  caf::actor_system* sys_;
  caf::actor actor_;
};

}  // namespace fastnet::actors
