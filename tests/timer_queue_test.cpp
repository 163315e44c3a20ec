// Unit tests for fastnet::timer_queue on simulated time: firing order by
// deadline, caller-supplied ids, cancel (before firing and from inside
// callbacks), repeating timers, next_deadline skipping cancelled entries,
// size(), and a seeded 100000-timer schedule/cancel churn.
#include <catch2/catch.hpp>

#include <fastnet/timer_queue.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <numeric>
#include <optional>
#include <random>
#include <vector>

namespace {

using fastnet::clock;
using fastnet::timer_id;
using fastnet::timer_queue;
using std::chrono::milliseconds;

constexpr clock::duration no_repeat = clock::duration::zero();

timer_id id(uint64_t v) {
  return timer_id{v};
}

}  // namespace

TEST_CASE("timer_id: 0 is invalid, equality by value", "[unit][timer_queue]") {
  CHECK_FALSE(static_cast<bool>(timer_id{}));
  CHECK(static_cast<bool>(id(1)));
  CHECK(id(7) == id(7));
  CHECK_FALSE(id(7) == id(8));
}

TEST_CASE("an empty queue has nothing to run", "[unit][timer_queue]") {
  timer_queue q;
  const clock::time_point t0 = clock::now();
  CHECK(q.size() == 0);
  CHECK(q.next_deadline() == std::nullopt);
  CHECK(q.run_expired(t0 + std::chrono::hours(24)) == 0);
}

TEST_CASE("schedule returns the caller's id and counts live timers", "[unit][timer_queue]") {
  timer_queue q;
  const clock::time_point t0 = clock::now();
  CHECK(q.schedule(id(1), t0 + milliseconds(10), no_repeat, [] {}) == id(1));
  CHECK(q.schedule(id(42), t0 + milliseconds(5), no_repeat, [] {}) == id(42));
  CHECK(q.size() == 2);
  CHECK(q.next_deadline() == t0 + milliseconds(5));
}

TEST_CASE("run_expired fires due timers in deadline order", "[unit][timer_queue]") {
  timer_queue q;
  const clock::time_point t0 = clock::now();
  std::vector<int> fired;
  // Scheduled out of order; deadlines are distinct.
  const int offsets[] = {50, 10, 40, 20, 30, 60};
  uint64_t next_id = 1;
  for (int off : offsets)
    q.schedule(id(next_id++), t0 + milliseconds(off), no_repeat,
               [&fired, off] { fired.push_back(off); });
  REQUIRE(q.size() == 6);
  CHECK(q.next_deadline() == t0 + milliseconds(10));

  SECTION("nothing is due before the first deadline") {
    CHECK(q.run_expired(t0) == 0);
    CHECK(q.run_expired(t0 + milliseconds(9)) == 0);
    CHECK(fired.empty());
    CHECK(q.size() == 6);
  }
  SECTION("a deadline equal to now is due") {
    CHECK(q.run_expired(t0 + milliseconds(10)) == 1);
    CHECK(fired == std::vector<int>{10});
    CHECK(q.size() == 5);
    CHECK(q.next_deadline() == t0 + milliseconds(20));
  }
  SECTION("partial then full expiry") {
    CHECK(q.run_expired(t0 + milliseconds(35)) == 3);
    CHECK(fired == std::vector<int>{10, 20, 30});
    CHECK(q.size() == 3);
    CHECK(q.next_deadline() == t0 + milliseconds(40));
    CHECK(q.run_expired(t0 + milliseconds(100)) == 3);
    CHECK(fired == std::vector<int>{10, 20, 30, 40, 50, 60});
    CHECK(q.size() == 0);
    CHECK(q.next_deadline() == std::nullopt);
  }
  SECTION("one-shot timers fire once") {
    CHECK(q.run_expired(t0 + milliseconds(100)) == 6);
    CHECK(q.run_expired(t0 + milliseconds(200)) == 0);
    CHECK(fired.size() == 6);
  }
}

TEST_CASE("cancel before firing", "[unit][timer_queue]") {
  timer_queue q;
  const clock::time_point t0 = clock::now();
  std::vector<uint64_t> fired;
  for (uint64_t i = 1; i <= 5; ++i)
    q.schedule(id(i), t0 + milliseconds(10 * i), no_repeat, [&fired, i] { fired.push_back(i); });

  q.cancel(id(2));
  q.cancel(id(4));
  CHECK(q.size() == 3);

  SECTION("cancelled timers never run") {
    CHECK(q.run_expired(t0 + milliseconds(100)) == 3);
    CHECK(fired == std::vector<uint64_t>{1, 3, 5});
    CHECK(q.size() == 0);
  }
  SECTION("cancelling unknown, cancelled or fired ids is a no-op") {
    q.cancel(id(2));    // already cancelled
    q.cancel(id(999));  // never scheduled
    q.cancel(timer_id{});
    CHECK(q.size() == 3);
    CHECK(q.run_expired(t0 + milliseconds(10)) == 1);
    q.cancel(id(1));  // already fired
    CHECK(q.size() == 2);
    CHECK(q.run_expired(t0 + milliseconds(100)) == 2);
    CHECK(fired == std::vector<uint64_t>{1, 3, 5});
  }
}

TEST_CASE("cancel from inside a callback", "[unit][timer_queue]") {
  timer_queue q;
  const clock::time_point t0 = clock::now();

  SECTION("a callback cancels another due timer") {
    bool b_ran = false;
    bool c_ran = false;
    q.schedule(id(1), t0 + milliseconds(1), no_repeat, [&] { q.cancel(id(2)); });
    q.schedule(id(2), t0 + milliseconds(2), no_repeat, [&] { b_ran = true; });
    q.schedule(id(3), t0 + milliseconds(3), no_repeat, [&] { c_ran = true; });
    CHECK(q.run_expired(t0 + milliseconds(10)) == 2);
    CHECK_FALSE(b_ran);
    CHECK(c_ran);
    CHECK(q.size() == 0);
  }
  SECTION("a callback cancels a later, not yet due timer") {
    bool b_ran = false;
    q.schedule(id(1), t0 + milliseconds(1), no_repeat, [&] { q.cancel(id(2)); });
    q.schedule(id(2), t0 + milliseconds(50), no_repeat, [&] { b_ran = true; });
    CHECK(q.run_expired(t0 + milliseconds(10)) == 1);
    CHECK(q.size() == 0);
    CHECK(q.next_deadline() == std::nullopt);
    CHECK(q.run_expired(t0 + milliseconds(100)) == 0);
    CHECK_FALSE(b_ran);
  }
  SECTION("a one-shot callback cancels its own id") {
    int runs = 0;
    q.schedule(id(1), t0 + milliseconds(1), no_repeat, [&] {
      ++runs;
      q.cancel(id(1));
    });
    q.schedule(id(2), t0 + milliseconds(2), no_repeat, [&] { ++runs; });
    CHECK(q.run_expired(t0 + milliseconds(10)) == 2);
    CHECK(runs == 2);
    CHECK(q.size() == 0);
  }
  SECTION("a repeating callback cancels its own id") {
    int runs = 0;
    q.schedule(id(7), t0 + milliseconds(10), milliseconds(10), [&] {
      if (++runs == 3) q.cancel(id(7));
    });
    for (int k = 1; k <= 10; ++k)
      q.run_expired(t0 + milliseconds(10 * k));
    CHECK(runs == 3);
    CHECK(q.size() == 0);
    CHECK(q.next_deadline() == std::nullopt);
  }
  SECTION("a callback may schedule a new timer") {
    bool second_ran = false;
    q.schedule(id(1), t0 + milliseconds(1), no_repeat, [&] {
      q.schedule(id(2), t0 + milliseconds(20), no_repeat, [&] { second_ran = true; });
    });
    CHECK(q.run_expired(t0 + milliseconds(5)) == 1);
    CHECK(q.size() == 1);
    CHECK(q.next_deadline() == t0 + milliseconds(20));
    CHECK_FALSE(second_ran);
    CHECK(q.run_expired(t0 + milliseconds(20)) == 1);
    CHECK(second_ran);
    CHECK(q.size() == 0);
  }
}

TEST_CASE("repeating timers", "[unit][timer_queue]") {
  timer_queue q;
  const clock::time_point t0 = clock::now();
  const auto interval = milliseconds(100);
  int runs = 0;
  q.schedule(id(1), t0 + interval, interval, [&] { ++runs; });

  SECTION("fire once per interval as simulated time advances") {
    CHECK(q.run_expired(t0 + milliseconds(99)) == 0);
    for (int k = 1; k <= 20; ++k) {
      INFO("tick " << k);
      CHECK(q.run_expired(t0 + k * interval) == 1);
      CHECK(runs == k);
      CHECK(q.size() == 1);
      CHECK(q.next_deadline() == t0 + (k + 1) * interval);
      // Nothing more is due until the next multiple of the interval.
      CHECK(q.run_expired(t0 + k * interval + milliseconds(50)) == 0);
    }
  }
  SECTION("stop after cancel") {
    CHECK(q.run_expired(t0 + interval) == 1);
    CHECK(q.run_expired(t0 + 2 * interval) == 1);
    q.cancel(id(1));
    CHECK(q.size() == 0);
    CHECK(q.next_deadline() == std::nullopt);
    CHECK(q.run_expired(t0 + 10 * interval) == 0);
    CHECK(runs == 2);
  }
  SECTION("after a stall the timer stays scheduled in the future") {
    size_t ran = q.run_expired(t0 + 10 * interval + milliseconds(5));
    CHECK(ran >= 1);
    CHECK(runs == static_cast<int>(ran));
    CHECK(q.size() == 1);
    auto next = q.next_deadline();
    REQUIRE(next.has_value());
    CHECK(*next > t0 + 10 * interval + milliseconds(5));
  }
  SECTION("interleaved with one-shot timers") {
    std::vector<int> order;
    q.schedule(id(2), t0 + milliseconds(150), no_repeat, [&] { order.push_back(150); });
    q.schedule(id(3), t0 + milliseconds(250), no_repeat, [&] { order.push_back(250); });
    for (int k = 1; k <= 3; ++k)
      q.run_expired(t0 + k * interval + milliseconds(60));
    CHECK(runs == 3);
    CHECK(order == std::vector<int>{150, 250});
    CHECK(q.size() == 1);
  }
}

TEST_CASE("an id can be scheduled again after cancel or firing", "[unit][timer_queue]") {
  timer_queue q;
  const clock::time_point t0 = clock::now();
  int old_runs = 0;
  int new_runs = 0;

  SECTION("cancelled one-shot, rescheduled later") {
    q.schedule(id(1), t0 + milliseconds(10), no_repeat, [&] { ++old_runs; });
    q.cancel(id(1));
    q.schedule(id(1), t0 + milliseconds(30), no_repeat, [&] { ++new_runs; });
    CHECK(q.size() == 1);
    CHECK(q.next_deadline() == t0 + milliseconds(30));
    CHECK(q.run_expired(t0 + milliseconds(20)) == 0);
    CHECK(q.run_expired(t0 + milliseconds(30)) == 1);
    CHECK(old_runs == 0);
    CHECK(new_runs == 1);
    CHECK(q.size() == 0);
  }
  SECTION("cancelled repeating timer, rescheduled as a one-shot") {
    q.schedule(id(1), t0 + milliseconds(10), milliseconds(10), [&] { ++old_runs; });
    CHECK(q.run_expired(t0 + milliseconds(10)) == 1);
    q.cancel(id(1));
    q.schedule(id(1), t0 + milliseconds(25), no_repeat, [&] { ++new_runs; });
    CHECK(q.next_deadline() == t0 + milliseconds(25));
    CHECK(q.run_expired(t0 + milliseconds(20)) == 0);
    CHECK(q.run_expired(t0 + milliseconds(100)) == 1);
    CHECK(old_runs == 1);
    CHECK(new_runs == 1);
    CHECK(q.size() == 0);
    CHECK(q.next_deadline() == std::nullopt);
  }
  SECTION("fired one-shot, rescheduled") {
    q.schedule(id(1), t0 + milliseconds(10), no_repeat, [&] { ++old_runs; });
    CHECK(q.run_expired(t0 + milliseconds(10)) == 1);
    q.schedule(id(1), t0 + milliseconds(40), no_repeat, [&] { ++new_runs; });
    CHECK(q.next_deadline() == t0 + milliseconds(40));
    CHECK(q.run_expired(t0 + milliseconds(40)) == 1);
    CHECK(old_runs == 1);
    CHECK(new_runs == 1);
  }
}

TEST_CASE("next_deadline skips cancelled entries", "[unit][timer_queue]") {
  timer_queue q;
  const clock::time_point t0 = clock::now();
  for (uint64_t i = 1; i <= 5; ++i)
    q.schedule(id(i), t0 + milliseconds(10 * i), no_repeat, [] {});
  CHECK(q.next_deadline() == t0 + milliseconds(10));
  q.cancel(id(1));
  CHECK(q.next_deadline() == t0 + milliseconds(20));
  q.cancel(id(3));  // not at the top: the top stays
  CHECK(q.next_deadline() == t0 + milliseconds(20));
  q.cancel(id(2));
  CHECK(q.next_deadline() == t0 + milliseconds(40));
  q.cancel(id(4));
  q.cancel(id(5));
  CHECK(q.next_deadline() == std::nullopt);
  CHECK(q.size() == 0);
}

TEST_CASE("100000 timers scheduled and cancelled in random order", "[unit][timer_queue]") {
  constexpr uint64_t n = 100000;
  timer_queue q;
  const clock::time_point t0 = clock::now();
  std::mt19937 rng(20240601);
  std::uniform_int_distribution<int> offset_ms(1, 1000000);
  std::map<uint64_t, clock::time_point> live;  // model: id -> deadline
  size_t fired = 0;
  for (uint64_t i = 1; i <= n; ++i) {
    auto when = t0 + milliseconds(offset_ms(rng));
    q.schedule(id(i), when, no_repeat, [&fired] { ++fired; });
    live[i] = when;
  }
  REQUIRE(q.size() == n);

  std::vector<uint64_t> ids(n);
  std::iota(ids.begin(), ids.end(), uint64_t{1});
  std::shuffle(ids.begin(), ids.end(), rng);

  auto model_min = [&] {
    std::optional<clock::time_point> m;
    for (const auto& [k, when] : live)
      if (!m || when < *m) m = when;
    return m;
  };

  // Cancel in random order, checking next_deadline against the model now and then.
  for (size_t i = 0; i < ids.size(); ++i) {
    q.cancel(id(ids[i]));
    live.erase(ids[i]);
    if (i % 9973 == 0 || ids.size() - i < 5) {
      INFO("after " << i + 1 << " cancels");
      REQUIRE(q.size() == live.size());
      REQUIRE(q.next_deadline() == model_min());
    }
  }
  CHECK(q.size() == 0);
  CHECK(q.next_deadline() == std::nullopt);
  CHECK(q.run_expired(t0 + std::chrono::hours(1000)) == 0);
  CHECK(fired == 0);

  // The queue is still usable after the churn.
  bool ran = false;
  q.schedule(id(n + 1), t0 + milliseconds(5), no_repeat, [&] { ran = true; });
  CHECK(q.next_deadline() == t0 + milliseconds(5));
  CHECK(q.run_expired(t0 + milliseconds(5)) == 1);
  CHECK(ran);
}

TEST_CASE("random schedule/cancel/run against a model", "[unit][timer_queue]") {
  timer_queue q;
  const clock::time_point t0 = clock::now();
  std::mt19937 rng(7);
  std::map<uint64_t, clock::time_point> live;  // one-shot timers only
  std::vector<uint64_t> fired_ids;
  uint64_t next_id = 1;
  clock::time_point now = t0;
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };

  for (int step = 0; step < 20000; ++step) {
    INFO("step " << step);
    int op = pick(0, 9);
    if (op < 5) {
      uint64_t i = next_id++;
      auto when = now + milliseconds(pick(0, 500));
      q.schedule(id(i), when, no_repeat, [&fired_ids, i] { fired_ids.push_back(i); });
      live[i] = when;
    } else if (op < 8) {
      if (next_id > 1) {
        uint64_t i = static_cast<uint64_t>(pick(1, static_cast<int>(next_id - 1)));
        q.cancel(id(i));
        live.erase(i);
      }
    } else {
      now += milliseconds(pick(0, 100));
      fired_ids.clear();
      size_t ran = q.run_expired(now);
      // Exactly the live timers due at `now` run, in nondecreasing deadline order.
      std::vector<uint64_t> due;
      for (const auto& [k, when] : live)
        if (when <= now) due.push_back(k);
      REQUIRE(ran == due.size());
      REQUIRE(fired_ids.size() == due.size());
      for (size_t k = 1; k < fired_ids.size(); ++k)
        REQUIRE(live[fired_ids[k - 1]] <= live[fired_ids[k]]);
      std::vector<uint64_t> sorted = fired_ids;
      std::sort(sorted.begin(), sorted.end());
      REQUIRE(sorted == due);
      for (uint64_t k : due)
        live.erase(k);
    }
    REQUIRE(q.size() == live.size());
    std::optional<clock::time_point> expected_next;
    for (const auto& [k, when] : live)
      if (!expected_next || when < *expected_next) expected_next = when;
    REQUIRE(q.next_deadline() == expected_next);
  }
}
