// event_loop and loop_group on real threads: task queueing and ordering,
// quit and drain, timers (one-shot, repeating, cancel, 10000 at once), the
// eventfd doorbell, watch/modify/unwatch on a socketpair, and loop groups.
// Every wait is on an event (promise, latch, counter) and bounded.
#include <catch2/catch.hpp>
#include <fastnet/fastnet.hpp>

#include <pthread.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <future>
#include <latch>
#include <set>
#include <thread>
#include <type_traits>

#include "support/test_socket.hpp"

using namespace fastnet;
using namespace fastnet::test;

namespace {

/// Runs `loop` on a thread of its own; quits it and joins on destruction.
/// Declare it after everything its tasks touch, so the loop stops first.
class loop_thread {
 public:
  explicit loop_thread(event_loop& loop) : loop_(loop), thread_([this] { loop_.run(); }) {}
  ~loop_thread() { stop(); }
  loop_thread(const loop_thread&) = delete;
  loop_thread& operator=(const loop_thread&) = delete;
  void stop() {
    if (!thread_.joinable()) return;
    loop_.quit();
    thread_.join();
  }

 private:
  event_loop& loop_;
  std::thread thread_;
};

/// Runs `fn` on the loop thread and returns its result; fails the test when
/// the loop does not run it within 10 s.
template <typename F>
auto call_on(event_loop& loop, F fn) -> std::invoke_result_t<F> {
  using result = std::invoke_result_t<F>;
  auto done = std::make_shared<std::promise<result>>();
  auto fut = done->get_future();
  loop.queue_in_loop([done, fn]() mutable {
    if constexpr (std::is_void_v<result>) {
      fn();
      done->set_value();
    } else {
      done->set_value(fn());
    }
  });
  REQUIRE(fut.wait_for(10s) == std::future_status::ready);
  return fut.get();
}

bool ready(std::future<void>& f, std::chrono::milliseconds timeout = 10s) {
  return f.wait_for(timeout) == std::future_status::ready;
}

pid_t current_tid() {
  return static_cast<pid_t>(::syscall(SYS_gettid));
}

/// The system call thread `tid` of this process is blocked in, -1 when it is
/// running or the information is unavailable (/proc/<pid>/task/<tid>/syscall).
long blocked_syscall(pid_t tid) {
  std::ifstream in("/proc/self/task/" + std::to_string(tid) + "/syscall");
  std::string first;
  if (!(in >> first)) return -1;
  try {
    return std::stol(first);
  } catch (...) {
    return -1;  // "running"
  }
}

bool is_epoll_wait(long nr) {
#ifdef SYS_epoll_wait
  if (nr == SYS_epoll_wait) return true;
#endif
#ifdef SYS_epoll_pwait
  if (nr == SYS_epoll_pwait) return true;
#endif
#ifdef SYS_epoll_pwait2
  if (nr == SYS_epoll_pwait2) return true;
#endif
  return false;
}

/// Waits (bounded) until thread `tid` sleeps in epoll_wait. False when that
/// cannot be observed on this system or does not happen within 10 s.
bool wait_until_in_epoll_wait(pid_t tid) {
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (is_epoll_wait(blocked_syscall(tid))) return true;
    std::this_thread::yield();
  }
  return false;
}

}  // namespace

// ---- tasks ----------------------------------------------------------------

TEST_CASE("run() executes tasks queued before it, on the loop thread",
          "[integration][event_loop]") {
  event_loop loop;
  CHECK_FALSE(loop.running());
  CHECK_FALSE(loop.in_loop_thread());
  std::promise<bool> first_p, second_p;
  auto first = first_p.get_future();
  auto second = second_p.get_future();
  std::vector<int> order;  // loop thread only
  loop.queue_in_loop([&] {
    order.push_back(1);
    first_p.set_value(loop.in_loop_thread());
  });
  loop.run_in_loop([&] {  // off the loop thread (none yet): queued, not run here
    order.push_back(2);
    second_p.set_value(loop.in_loop_thread());
  });
  CHECK(first.wait_for(0s) == std::future_status::timeout);
  loop_thread runner(loop);
  REQUIRE(first.wait_for(10s) == std::future_status::ready);
  REQUIRE(second.wait_for(10s) == std::future_status::ready);
  CHECK(first.get());
  CHECK(second.get());
  CHECK(loop.running());
  CHECK_FALSE(loop.in_loop_thread());
  CHECK(call_on(loop, [&] { return order; }) == std::vector<int>{1, 2});
}

TEST_CASE("run_in_loop runs inline on the loop thread, queue_in_loop always defers",
          "[integration][event_loop]") {
  event_loop loop;
  std::vector<std::string> order;  // loop thread only
  std::promise<void> done_p;
  auto done = done_p.get_future();
  loop_thread runner(loop);
  loop.queue_in_loop([&] {
    order.push_back("task begins");
    loop.run_in_loop([&] { order.push_back("run_in_loop (inline)"); });
    loop.queue_in_loop([&] {
      order.push_back("queue_in_loop (deferred)");
      done_p.set_value();
    });
    order.push_back("task ends");
  });
  REQUIRE(ready(done));
  CHECK(call_on(loop, [&] { return order; }) ==
        std::vector<std::string>{"task begins", "run_in_loop (inline)", "task ends",
                                 "queue_in_loop (deferred)"});

  // From another thread run_in_loop does not run inline: it runs on the loop thread.
  std::promise<std::thread::id> where_p;
  auto where = where_p.get_future();
  loop.run_in_loop([&] { where_p.set_value(std::this_thread::get_id()); });
  REQUIRE(where.wait_for(10s) == std::future_status::ready);
  CHECK(where.get() != std::this_thread::get_id());
}

TEST_CASE("4 producers x 10000 tasks: every task runs once, in order per producer",
          "[integration][event_loop]") {
  constexpr int producers = 4;
  constexpr int per_producer = 10000;
  event_loop loop;
  // Touched only on the loop thread; read by the test after `all_ran`.
  std::vector<std::vector<int>> seen(producers);
  for (auto& v : seen)
    v.reserve(per_producer);
  int total = 0;
  bool off_loop = false;
  std::promise<void> all_ran_p;
  auto all_ran = all_ran_p.get_future();
  loop_thread runner(loop);

  std::latch go(producers);
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p) {
    threads.emplace_back([&, p] {
      go.arrive_and_wait();  // start together for maximal contention
      for (int i = 0; i < per_producer; ++i) {
        auto fn = [&, p, i] {
          if (!loop.in_loop_thread()) off_loop = true;
          seen[static_cast<size_t>(p)].push_back(i);
          if (++total == producers * per_producer) all_ran_p.set_value();
        };
        // run_in_loop off the loop thread queues too: mix both entry points.
        if (p % 2 == 0) {
          loop.queue_in_loop(fn);
        } else {
          loop.run_in_loop(fn);
        }
      }
    });
  }
  for (auto& t : threads)
    t.join();
  REQUIRE(ready(all_ran, 30s));
  // A sentinel queued last: nothing ran twice after the count was reached.
  CHECK(call_on(loop, [&] { return total; }) == producers * per_producer);
  CHECK_FALSE(off_loop);
  std::vector<int> expected(per_producer);
  for (int i = 0; i < per_producer; ++i)
    expected[static_cast<size_t>(i)] = i;
  for (int p = 0; p < producers; ++p) {
    INFO("producer " << p);
    CHECK(seen[static_cast<size_t>(p)] == expected);
  }
}

TEST_CASE("quit() makes run() return, and tasks queued before quit() still run",
          "[integration][event_loop]") {
  event_loop loop;
  int ran = 0;  // loop thread only until run() returns
  std::promise<void> started_p, gate_p, returned_p;
  auto started = started_p.get_future();
  auto gate = gate_p.get_future().share();
  auto returned = returned_p.get_future();
  std::thread t([&] {
    loop.run();
    returned_p.set_value();
  });
  struct joiner {  // on any failure: release the loop and join, never leave a joinable thread
    event_loop& loop;
    std::promise<void>& gate;
    std::thread& t;
    bool released = false;
    ~joiner() {
      loop.quit();
      if (!released) gate.set_value();
      t.join();
    }
  } join_guard{loop, gate_p, t};

  SECTION("from another thread, while the loop is busy") {
    // Hold the loop inside a task so that the tasks below are still queued at quit().
    loop.queue_in_loop([&, gate] {
      started_p.set_value();
      (void)gate.wait_for(10s);
    });
    REQUIRE(ready(started));
    for (int i = 0; i < 1000; ++i)  // several of the loop's task batches
      loop.queue_in_loop([&] { ++ran; });
    loop.quit();
    join_guard.released = true;
    gate_p.set_value();
    REQUIRE(ready(returned));
    CHECK(ran == 1000);
    CHECK_FALSE(loop.running());
  }

  SECTION("from a task on the loop thread") {
    loop.queue_in_loop([&] {
      loop.quit();
      loop.queue_in_loop([&] { ++ran; });  // queued after quit(): drained on exit
    });
    REQUIRE(ready(returned));
    CHECK(ran == 1);
    CHECK_FALSE(loop.running());
  }
}

TEST_CASE("a task or timer that throws does not stop the loop", "[integration][event_loop]") {
  event_loop loop;
  std::promise<void> after_p;
  auto after = after_p.get_future();
  loop_thread runner(loop);
  loop.queue_in_loop([] { throw std::runtime_error("task failure (expected by the test)"); });
  loop.run_after(1ms, [] { throw 42; });
  loop.run_after(5ms, [&] { after_p.set_value(); });
  REQUIRE(ready(after));
  CHECK(loop.running());
  CHECK(call_on(loop, [&] { return loop.in_loop_thread(); }));
}

// ---- timers ---------------------------------------------------------------

TEST_CASE("run_after fires once, on the loop thread", "[integration][event_loop]") {
  event_loop loop;
  std::atomic<int> fires{0};
  std::atomic<bool> on_loop{false};
  int at_sentinel = -1;
  std::latch fired(1);
  std::promise<void> sentinel_p;
  auto sentinel = sentinel_p.get_future();
  loop_thread runner(loop);
  timer_id id = loop.run_after(5ms, [&] {
    on_loop = loop.in_loop_thread();
    fires.fetch_add(1);
    fired.count_down();
  });
  CHECK(static_cast<bool>(id));
  // A later one-shot: by the time it runs the first has fired, and only once.
  loop.run_after(50ms, [&] {
    at_sentinel = fires.load();
    sentinel_p.set_value();
  });
  REQUIRE(ready(sentinel));
  CHECK(fired.try_wait());
  CHECK(at_sentinel == 1);
  CHECK(on_loop);
  // Cancelling a fired or unknown timer is a no-op; the loop goes on.
  loop.cancel(id);
  loop.cancel(timer_id{});
  loop.cancel(timer_id{999999});
  CHECK(call_on(loop, [&] { return fires.load(); }) == 1);
}

TEST_CASE("run_every fires repeatedly, and cancelled from its own callback it stops",
          "[integration][event_loop]") {
  constexpr auto interval = 2ms;
  event_loop loop;
  timer_id id;  // loop thread only
  int fires = 0;
  int at_sentinel = -1;
  std::promise<void> done_p;
  auto done = done_p.get_future();
  loop_thread runner(loop);
  // Schedule from the loop thread so `id` is set before the first fire can run.
  call_on(loop, [&] {
    id = loop.run_every(interval, [&] {
      if (++fires != 3) return;
      loop.cancel(id);
      // Scheduled after the cancel, several intervals later: any further fire would come first.
      loop.run_after(interval * 10, [&] {
        at_sentinel = fires;
        done_p.set_value();
      });
    });
  });
  REQUIRE(ready(done));
  CHECK(at_sentinel == 3);
}

TEST_CASE("run_every cancelled from another thread stops before its next run",
          "[integration][event_loop]") {
  constexpr auto interval = 2ms;
  event_loop loop;
  waitable_counter fires;
  long at_marker = -1, at_sentinel = -1;
  std::promise<void> done_p;
  auto done = done_p.get_future();
  loop_thread runner(loop);
  timer_id id = loop.run_every(interval, [&] { fires.add(); });
  REQUIRE(fires.wait_for_at_least(3));
  loop.cancel(id);
  // Tasks from one thread run in order: the marker runs after the cancel took
  // effect; the sentinel then waits ten intervals for a fire that must not come.
  loop.queue_in_loop([&] {
    at_marker = fires.value();
    loop.run_after(interval * 10, [&] {
      at_sentinel = fires.value();
      done_p.set_value();
    });
  });
  REQUIRE(ready(done));
  CHECK(at_marker >= 3);
  CHECK(at_sentinel == at_marker);
}

TEST_CASE("a run_after cancelled before it fires never runs", "[integration][event_loop]") {
  event_loop loop;
  std::atomic<int> fires{0};
  int at_sentinel = -1;
  std::promise<void> done_p;
  auto done = done_p.get_future();
  loop_thread runner(loop);

  SECTION("cancelled from another thread") {
    // The cancel is queued right behind the schedule; 200 ms leaves no room
    // for the timer to come due in between.
    timer_id id = loop.run_after(200ms, [&] { fires.fetch_add(1); });
    loop.cancel(id);
    loop.run_after(400ms, [&] {
      at_sentinel = fires.load();
      done_p.set_value();
    });
  }
  SECTION("cancelled on the loop thread") {
    loop.queue_in_loop([&] {
      timer_id id = loop.run_after(1ms, [&] { fires.fetch_add(1); });
      loop.cancel(id);  // takes effect at once on the loop thread
      loop.run_after(50ms, [&] {
        at_sentinel = fires.load();
        done_p.set_value();
      });
    });
  }
  REQUIRE(ready(done));
  CHECK(at_sentinel == 0);
  CHECK(fires.load() == 0);
}

TEST_CASE("10000 run_after timers on one loop all fire, each once", "[integration][event_loop]") {
  constexpr int timers = 10000;
  event_loop loop;
  std::vector<int> fired(timers, 0);  // loop thread only
  int count = 0;
  std::promise<void> all_p;
  auto all = all_p.get_future();
  loop_thread runner(loop);
  for (int i = 0; i < timers; ++i) {
    auto delay = std::chrono::milliseconds(1 + (i * 7919) % 50);
    loop.run_after(delay, [&, i] {
      ++fired[static_cast<size_t>(i)];
      if (++count == timers) all_p.set_value();
    });
  }
  REQUIRE(ready(all, 30s));
  // Past the longest delay: nothing fires twice or late.
  std::promise<void> after_p;
  auto after = after_p.get_future();
  loop.run_after(100ms, [&] { after_p.set_value(); });
  REQUIRE(ready(after));
  CHECK(call_on(loop, [&] { return count; }) == timers);
  CHECK(std::count(fired.begin(), fired.end(), 1) == timers);
}

// ---- doorbell -------------------------------------------------------------

TEST_CASE("an idle loop is woken by one queue_in_loop from another thread",
          "[integration][event_loop]") {
  event_loop loop;
  loop_thread runner(loop);
  const pid_t tid = call_on(loop, [] { return current_tid(); });
  if (!wait_until_in_epoll_wait(tid)) {
    WARN("cannot observe the loop thread sleeping in epoll_wait here; checking the task only");
    uint64_t i0 = call_on(loop, [&] { return loop.iterations(); });
    uint64_t i1 = call_on(loop, [&] { return loop.iterations(); });
    CHECK(i1 > i0);
    return;
  }
  for (int round = 0; round < 20; ++round) {
    INFO("round " << round);
    // The loop sleeps in epoll_wait with nothing else to do: only the doorbell can wake it.
    REQUIRE(wait_until_in_epoll_wait(tid));
    const uint64_t wakeups_before = loop.wakeups();
    const uint64_t iterations_before = loop.iterations();
    std::promise<uint64_t> ran_p;
    auto ran = ran_p.get_future();
    loop.queue_in_loop([&] { ran_p.set_value(loop.iterations()); });
    REQUIRE(ran.wait_for(10s) == std::future_status::ready);
    CHECK(ran.get() > iterations_before);
    CHECK(loop.wakeups() == wakeups_before + 1);
  }
}

TEST_CASE("no doorbell is rung while the loop is busy running tasks", "[integration][event_loop]") {
  event_loop loop;
  int ran = 0;  // loop thread only
  std::promise<void> started_p, gate_p, all_p;
  auto started = started_p.get_future();
  auto gate = gate_p.get_future().share();
  auto all = all_p.get_future();
  loop_thread runner(loop);
  struct release_guard {
    std::promise<void>& gate;
    bool done = false;
    ~release_guard() {
      if (!done) gate.set_value();
    }
  } release{gate_p};
  loop.queue_in_loop([&, gate] {
    started_p.set_value();
    (void)gate.wait_for(10s);
  });
  REQUIRE(ready(started));
  // The loop is inside a task, not in epoll_wait: producers must not ring.
  const uint64_t wakeups_before = loop.wakeups();
  std::vector<std::thread> producers;
  for (int p = 0; p < 2; ++p) {
    producers.emplace_back([&] {
      for (int i = 0; i < 500; ++i)
        loop.queue_in_loop([&] {
          if (++ran == 1000) all_p.set_value();
        });
    });
  }
  for (auto& t : producers)
    t.join();
  CHECK(loop.wakeups() == wakeups_before);
  release.done = true;
  gate_p.set_value();
  REQUIRE(ready(all));
}

// ---- watching descriptors -------------------------------------------------

namespace {

/// Reads whatever arrives on `fd`; on writability switches back to reading only.
class socket_watcher final : public io_handler {
 public:
  socket_watcher(event_loop& loop, int fd) : loop_(loop), fd_(fd) {}

  void handle_events(uint32_t events) override {
    if (!loop_.in_loop_thread()) off_loop = true;
    if (events & EPOLLIN) {
      char buf[256];
      ssize_t n;
      while ((n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT)) > 0)
        received.append(buf, static_cast<size_t>(n));
      readable.add();
    }
    if (events & EPOLLOUT) {
      loop_.modify(fd_, EPOLLIN, this);  // level-triggered: stop asking for writability
      writable.add();
    }
  }

  std::string received;  // loop thread only
  std::atomic<bool> off_loop{false};
  waitable_counter readable;
  waitable_counter writable;

 private:
  event_loop& loop_;
  int fd_;
};

}  // namespace

TEST_CASE("watch, modify and unwatch deliver readiness of a socketpair to the io_handler",
          "[integration][event_loop]") {
  int fds[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) == 0);
  unique_fd watched(fds[0]), peer(fds[1]);
  event_loop loop;
  socket_watcher watcher(loop, watched.get());
  loop_thread runner(loop);

  call_on(loop, [&] { loop.watch(watched.get(), EPOLLIN, &watcher); });
  REQUIRE(::write(peer.get(), "ping", 4) == 4);
  REQUIRE(watcher.readable.wait_for_at_least(1));
  CHECK(call_on(loop, [&] { return watcher.received; }) == "ping");
  CHECK(watcher.writable.value() == 0);

  // Ask for writability too: it fires once, and the handler's modify() back to
  // EPOLLIN takes effect (two more loop passes see no further EPOLLOUT).
  call_on(loop, [&] { loop.modify(watched.get(), EPOLLIN | EPOLLOUT, &watcher); });
  REQUIRE(watcher.writable.wait_for_at_least(1));
  call_on(loop, [] {});
  call_on(loop, [] {});
  CHECK(watcher.writable.value() == 1);

  // After unwatch, new input is not reported; it stays in the socket.
  call_on(loop, [&] { loop.unwatch(watched.get()); });
  const long reads_before = watcher.readable.value();
  REQUIRE(::write(peer.get(), "x", 1) == 1);
  call_on(loop, [] {});  // two full loop passes after the data arrived
  call_on(loop, [] {});
  CHECK(watcher.readable.value() == reads_before);
  char c = 0;
  CHECK(::recv(watched.get(), &c, 1, MSG_DONTWAIT) == 1);
  CHECK(c == 'x');
  CHECK(call_on(loop, [&] { return watcher.received; }) == "ping");
  CHECK_FALSE(watcher.off_loop.load());
}

// ---- loop_group -----------------------------------------------------------

TEST_CASE("loop_group start() returns with every loop running on its own named thread",
          "[integration][event_loop]") {
  loop_group group(3, "grp");
  REQUIRE(group.size() == 3);
  for (size_t i = 0; i < group.size(); ++i)
    CHECK_FALSE(group.loop(i).running());
  group.start();
  for (size_t i = 0; i < group.size(); ++i)
    CHECK(group.loop(i).running());  // no waiting: start() returned after they all ran

  struct report {
    bool in_loop;
    std::thread::id id;
    std::string name;
  };
  auto ask = [&](size_t i) {
    return call_on(group.loop(i), [&group, i] {
      char name[32] = {};
      pthread_getname_np(pthread_self(), name, sizeof name);
      return report{group.loop(i).in_loop_thread(), std::this_thread::get_id(), name};
    });
  };
  std::set<std::thread::id> ids;
  std::vector<std::thread::id> first_ids;
  for (size_t i = 0; i < group.size(); ++i) {
    report r = ask(i);
    CHECK(r.in_loop);
    CHECK(r.id != std::this_thread::get_id());
    CHECK(r.name == "grp-" + std::to_string(i));
    ids.insert(r.id);
    first_ids.push_back(r.id);
  }
  CHECK(ids.size() == group.size());

  group.start();  // idempotent: the same threads go on
  for (size_t i = 0; i < group.size(); ++i)
    CHECK(ask(i).id == first_ids[i]);

  group.stop();  // joins: afterwards no loop is running
  for (size_t i = 0; i < group.size(); ++i)
    CHECK_FALSE(group.loop(i).running());
  group.stop();  // idempotent
}

TEST_CASE("loop_group with 0 threads has one loop per core", "[integration][event_loop]") {
  loop_group group;
  CHECK(group.size() == std::max(1u, std::thread::hardware_concurrency()));
  group.start();
  for (size_t i = 0; i < group.size(); ++i)
    CHECK(group.loop(i).running());
  group.stop();
}

TEST_CASE("loop_group load counters", "[integration][event_loop]") {
  loop_group group(4);
  for (size_t i = 0; i < group.size(); ++i)
    CHECK(group.load(i) == 0);
  group.add_load(2, 5);
  group.add_load(2, -2);
  group.add_load(0, 1);
  CHECK(group.load(0) == 1);
  CHECK(group.load(1) == 0);
  CHECK(group.load(2) == 3);
  CHECK(group.load(3) == 0);

  // From the loop threads concurrently, as servers do.
  group.start();
  waitable_counter done;
  for (size_t i = 0; i < group.size(); ++i) {
    group.loop(i).queue_in_loop([&] {
      for (int k = 0; k < 10000; ++k)
        group.add_load(1, 1);
      for (int k = 0; k < 5000; ++k)
        group.add_load(1, -1);
      done.add();
    });
  }
  REQUIRE(done.wait_for_at_least(static_cast<long>(group.size())));
  CHECK(group.load(1) == group.size() * 5000);
  group.stop();
}
