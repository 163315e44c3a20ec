// Unit tests for fastnet::actors::detail::loop_executor (actors/src/loop_executor.hpp)
// with a real caf::actor_system and a real event_loop on its own thread: an
// actor woken through the executor is built and runs on the loop thread,
// after the waking task and in send order; an actor that uses up its
// throughput moves to a CAF worker; an actor woken from another thread or by
// another actor (also by one running on the loop) runs on a CAF worker;
// messages and replies between a loop-run actor and other actors arrive.
#include <catch2/catch.hpp>

#include <fastnet/actors/scheduler.hpp>
#include <fastnet/event_loop.hpp>

#include <caf/all.hpp>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "loop_executor.hpp"
#include "support/gate.hpp"

namespace {

using namespace std::chrono_literals;
using fastnet::actors::detail::loop_executor;
using fastnet::test::gate;

using hold_atom = caf::atom_constant<caf::atom("hold")>;
using ask_atom = caf::atom_constant<caf::atom("ask")>;
using tell_atom = caf::atom_constant<caf::atom("tell")>;
using double_atom = caf::atom_constant<caf::atom("double")>;

constexpr auto patience = 10s;  // only a hang waits this long

/// What an actor handled, and on which thread; where its behavior was built.
class recorder {
 public:
  struct entry {
    int value;
    std::thread::id thread;
  };

  void built() {
    std::lock_guard lock(m_);
    built_on_ = std::this_thread::get_id();
  }
  void add(int value) {
    std::lock_guard lock(m_);
    entries_.push_back({value, std::this_thread::get_id()});
    cv_.notify_all();
  }
  /// True once `n` entries are in.
  bool wait_for(size_t n) {
    std::unique_lock lock(m_);
    return cv_.wait_for(lock, patience, [&] { return entries_.size() >= n; });
  }
  std::vector<entry> entries() const {
    std::lock_guard lock(m_);
    return entries_;
  }
  size_t size() const {
    std::lock_guard lock(m_);
    return entries_.size();
  }
  std::optional<std::thread::id> built_on() const {
    std::lock_guard lock(m_);
    return built_on_;
  }

 private:
  mutable std::mutex m_;
  std::condition_variable cv_;
  std::vector<entry> entries_;
  std::optional<std::thread::id> built_on_;
};

/// Records every int it gets; `hold` parks it (on whatever thread it runs)
/// until `release` opens; `ask` is answered with twice the value; `tell`
/// forwards the value to another actor; `double` asks `doubler` and records
/// the answer.
caf::behavior recording_actor(caf::event_based_actor* self, std::shared_ptr<recorder> rec,
                              std::shared_ptr<gate> entered, std::shared_ptr<gate> release) {
  rec->built();
  return {
      [rec](int i) { rec->add(i); },
      [rec, entered, release](hold_atom, int i) {
        rec->add(i);
        entered->open();
        release->wait_for(patience);
      },
      [rec](ask_atom, int i) {
        rec->add(i);
        return 2 * i;
      },
      [self, rec](tell_atom, int i, const caf::actor& to) {
        rec->add(i);
        self->send(to, i);
      },
      [self, rec](double_atom, int i, const caf::actor& doubler) {
        rec->add(i);
        self->request(doubler, caf::infinite, ask_atom::value, i).then([rec](int d) {
          rec->add(d);
        });
      },
  };
}

/// An actor system with fastnet's scheduler settings, one event loop on its
/// own thread and that loop's executor; torn down in the order the server
/// uses: actors told to quit, the loop stopped (running what it deferred),
/// then the executor, then the actor system.
class executor_env {
 public:
  explicit executor_env(fastnet::actors::scheduler_options opts = {})
      : sys_(configured(cfg_, opts)), loop_thread_([this] { loop_.run(); }) {
    exec_ = std::make_unique<loop_executor>(sys_, loop_);
  }
  executor_env(const executor_env&) = delete;
  executor_env& operator=(const executor_env&) = delete;

  ~executor_env() {
    for (auto& a : actors_)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    actors_.clear();
    loop_.quit();
    loop_thread_.join();
    exec_.reset();
  }

  /// An actor that records into `rec`, spawned lazily (built when first woken).
  caf::actor spawn_recording(const std::shared_ptr<recorder>& rec,
                             std::shared_ptr<gate> entered = std::make_shared<gate>(),
                             std::shared_ptr<gate> release = std::make_shared<gate>()) {
    return keep(
        sys_.spawn<caf::lazy_init>(recording_actor, rec, std::move(entered), std::move(release)));
  }

  /// Runs `fn` on the loop thread and waits for it to return; false on a hang.
  bool on_loop(std::function<void()> fn) {
    auto done = std::make_shared<std::promise<void>>();
    auto finished = done->get_future();
    loop_.run_in_loop([fn = std::move(fn), done] {
      fn();
      done->set_value();
    });
    return finished.wait_for(patience) == std::future_status::ready;
  }

  /// Waits until the loop has finished what it was running (a deferred
  /// actor run included): an actor that ran there is idle again after this.
  bool sync_loop() {
    return on_loop([] {});
  }

  caf::actor keep(caf::actor a) {
    actors_.push_back(a);
    return a;
  }

  caf::actor_system& sys() { return sys_; }
  loop_executor& exec() { return *exec_; }
  std::thread::id loop_id() const { return loop_thread_.get_id(); }

 private:
  static caf::actor_system_config& configured(caf::actor_system_config& cfg,
                                              const fastnet::actors::scheduler_options& opts) {
    fastnet::actors::apply(cfg, opts);
    return cfg;
  }

  caf::actor_system_config cfg_;
  caf::actor_system sys_;
  fastnet::event_loop loop_;
  std::thread loop_thread_;
  std::unique_ptr<loop_executor> exec_;
  std::vector<caf::actor> actors_;
};

}  // namespace

TEST_CASE("an actor woken through the executor is built and runs on the loop thread",
          "[loop_executor]") {
  executor_env env;
  auto rec = std::make_shared<recorder>();
  auto a = env.spawn_recording(rec);

  REQUIRE(env.on_loop([&] { env.exec().send(a, caf::make_message(1)); }));
  REQUIRE(rec->wait_for(1));
  auto e = rec->entries();
  CHECK(e[0].value == 1);
  CHECK(e[0].thread == env.loop_id());
  CHECK(rec->built_on() == env.loop_id());  // lazy_init: built where first woken

  // Idle again, it is woken on the loop again.
  REQUIRE(env.sync_loop());
  REQUIRE(env.on_loop([&] { env.exec().send(a, caf::make_message(2)); }));
  REQUIRE(rec->wait_for(2));
  e = rec->entries();
  CHECK(e[1].value == 2);
  CHECK(e[1].thread == env.loop_id());
}

TEST_CASE("messages sent in one loop task run after it, in order, on the loop thread",
          "[loop_executor]") {
  executor_env env;
  auto rec = std::make_shared<recorder>();
  auto a = env.spawn_recording(rec);

  size_t handled_during_task = 99;
  REQUIRE(env.on_loop([&] {
    for (int i = 1; i <= 10; ++i)
      env.exec().send(a, caf::make_message(i));
    // The loop thread is busy here, so the actor cannot have run anywhere.
    handled_during_task = rec->size();
  }));
  CHECK(handled_during_task == 0);
  REQUIRE(rec->wait_for(10));
  auto e = rec->entries();
  REQUIRE(e.size() == 10);
  for (int i = 0; i < 10; ++i) {
    CHECK(e[i].value == i + 1);
    CHECK(e[i].thread == env.loop_id());
  }
}

// actor_cast<abstract_actor*> of a null caf::actor is the control block's
// address plus a cache line (0x40), not null: send() once checked the cast
// pointer and crashed here.
TEST_CASE("a send to a null handle is ignored", "[loop_executor]") {
  executor_env env;
  bool returned = false;
  REQUIRE(env.on_loop([&] {
    env.exec().send(caf::actor{}, caf::make_message(11));
    returned = true;
  }));
  CHECK(returned);
}

TEST_CASE("an actor that uses up its throughput on the loop moves to a CAF worker",
          "[loop_executor]") {
  fastnet::actors::scheduler_options opts;
  opts.max_throughput = 3;
  executor_env env(opts);
  auto rec = std::make_shared<recorder>();
  auto a = env.spawn_recording(rec);

  REQUIRE(env.on_loop([&] {
    for (int i = 1; i <= 10; ++i)
      env.exec().send(a, caf::make_message(i));
  }));
  REQUIRE(rec->wait_for(10));
  auto e = rec->entries();
  REQUIRE(e.size() == 10);
  size_t on_loop = 0;
  while (on_loop < e.size() && e[on_loop].thread == env.loop_id())
    ++on_loop;
  CHECK(on_loop >= 1);
  CHECK(on_loop <= 3);  // one turn at most
  for (size_t i = 0; i < e.size(); ++i) {
    CHECK(e[i].value == static_cast<int>(i) + 1);  // still in order
    if (i >= on_loop) CHECK(e[i].thread != env.loop_id());
  }
}

TEST_CASE("an actor woken from another thread runs on a CAF worker", "[loop_executor]") {
  executor_env env;
  auto rec = std::make_shared<recorder>();
  auto a = env.spawn_recording(rec);
  REQUIRE(env.on_loop([&] { env.exec().send(a, caf::make_message(1)); }));
  REQUIRE(rec->wait_for(1));
  REQUIRE(env.sync_loop());  // idle again: the next message wakes it anew

  caf::anon_send(a, 2);
  REQUIRE(rec->wait_for(2));
  auto e = rec->entries();
  CHECK(e[1].value == 2);
  CHECK(e[1].thread != env.loop_id());
  CHECK(e[1].thread != std::this_thread::get_id());
}

TEST_CASE("an actor woken by another actor runs on a CAF worker", "[loop_executor]") {
  executor_env env;
  auto target_rec = std::make_shared<recorder>();
  auto target = env.spawn_recording(target_rec);
  auto sender_rec = std::make_shared<recorder>();
  auto sender = env.spawn_recording(sender_rec);
  REQUIRE(env.on_loop([&] { env.exec().send(target, caf::make_message(1)); }));
  REQUIRE(target_rec->wait_for(1));
  REQUIRE(env.sync_loop());

  SECTION("the other actor on a worker") {
    caf::anon_send(sender, tell_atom::value, 2, target);
    REQUIRE(sender_rec->wait_for(1));
    CHECK(sender_rec->entries()[0].thread != env.loop_id());
  }
  SECTION("the other actor on the loop thread: only the actor being woken is captured") {
    REQUIRE(env.on_loop(
        [&] { env.exec().send(sender, caf::make_message(tell_atom::value, 2, target)); }));
    REQUIRE(sender_rec->wait_for(1));
    CHECK(sender_rec->entries()[0].thread == env.loop_id());
  }
  REQUIRE(target_rec->wait_for(2));
  auto e = target_rec->entries();
  CHECK(e[1].value == 2);
  CHECK(e[1].thread != env.loop_id());
}

TEST_CASE("messages and replies between a loop-run actor and other actors arrive",
          "[loop_executor]") {
  executor_env env;
  auto rec = std::make_shared<recorder>();
  auto entered = std::make_shared<gate>();
  auto release = std::make_shared<gate>();
  auto a = env.spawn_recording(rec, entered, release);

  SECTION("a message it sends reaches an idle actor, which runs on a worker") {
    auto probe_rec = std::make_shared<recorder>();
    auto probe = env.spawn_recording(probe_rec);
    caf::anon_send(probe, 0);  // built on a worker, then idle
    REQUIRE(probe_rec->wait_for(1));

    REQUIRE(
        env.on_loop([&] { env.exec().send(a, caf::make_message(tell_atom::value, 7, probe)); }));
    REQUIRE(probe_rec->wait_for(2));
    CHECK(rec->entries()[0].thread == env.loop_id());
    auto e = probe_rec->entries();
    CHECK(e[1].value == 7);
    CHECK(e[1].thread != env.loop_id());
  }

  SECTION("the answer to a request it makes comes back") {
    auto doubler_rec = std::make_shared<recorder>();
    auto doubler = env.spawn_recording(doubler_rec);
    REQUIRE(env.on_loop(
        [&] { env.exec().send(a, caf::make_message(double_atom::value, 21, doubler)); }));
    REQUIRE(rec->wait_for(2));
    auto e = rec->entries();
    CHECK(e[0].value == 21);
    CHECK(e[0].thread == env.loop_id());
    CHECK(e[1].value == 42);  // the response, wherever it was handled
    REQUIRE(doubler_rec->wait_for(1));
    CHECK(doubler_rec->entries()[0].thread != env.loop_id());
  }

  SECTION("a request queued while it runs on the loop is answered from there") {
    caf::scoped_actor self{env.sys()};
    REQUIRE(env.on_loop([&] { env.exec().send(a, caf::make_message(hold_atom::value, 1)); }));
    REQUIRE(entered->wait_for(patience));  // parked on the loop thread, mailbox open
    self->send(a, ask_atom::value, 5);
    release->open();
    int answer = 0;
    self->receive([&](int x) { answer = x; }, caf::after(patience) >> [] {});
    CHECK(answer == 10);
    REQUIRE(rec->wait_for(2));
    auto e = rec->entries();
    CHECK(e[0].thread == env.loop_id());
    CHECK(e[1].value == 5);
    CHECK(e[1].thread == env.loop_id());  // the same turn on the loop picked it up
  }
}
