// Unit tests for fastnet::detail::mpsc_stack and node_list (reactor/src/mpsc_stack.hpp):
// FIFO order of one producer, push's first-of-a-batch answer, take() on an
// empty stack, freeing of nodes never popped, and many producers against one
// consumer woken only by those first-of-a-batch answers (each item arrives
// exactly once, each producer's in its push order).
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <latch>
#include <memory>
#include <semaphore>
#include <thread>
#include <vector>

#include "mpsc_stack.hpp"

namespace {

using fastnet::detail::mpsc_stack;
using fastnet::detail::node_list;

/// A node that counts its constructions and destructions.
struct counted_node {
  static inline std::atomic<long> constructed{0};
  static inline std::atomic<long> destroyed{0};
  static void reset_counts() {
    constructed = 0;
    destroyed = 0;
  }

  counted_node(int p, int s) : producer(p), seq(s) { constructed.fetch_add(1); }
  ~counted_node() { destroyed.fetch_add(1); }
  counted_node(const counted_node&) = delete;
  counted_node& operator=(const counted_node&) = delete;

  int producer;
  int seq;
  counted_node* next = nullptr;
};

std::unique_ptr<counted_node> make_node(int seq, int producer = 0) {
  return std::make_unique<counted_node>(producer, seq);
}

/// The sequence numbers of everything `list` still holds, popped oldest first.
std::vector<int> drain(node_list<counted_node>& list) {
  std::vector<int> out;
  while (auto n = list.pop())
    out.push_back(n->seq);
  return out;
}

}  // namespace

TEST_CASE("one producer's items come out oldest first", "[mpsc_stack]") {
  mpsc_stack<counted_node> stack;
  for (int i = 1; i <= 5; ++i)
    stack.push(make_node(i));
  auto list = stack.take();
  CHECK(drain(list) == std::vector<int>{1, 2, 3, 4, 5});
  CHECK(list.empty());
  CHECK(stack.empty());

  // A second batch after a take is ordered on its own.
  stack.push(make_node(6));
  stack.push(make_node(7));
  auto second = stack.take();
  CHECK(drain(second) == std::vector<int>{6, 7});
}

TEST_CASE("push says true only for the first push into an empty stack", "[mpsc_stack]") {
  mpsc_stack<counted_node> stack;
  CHECK(stack.empty());
  CHECK(stack.push(make_node(1)));
  CHECK_FALSE(stack.empty());
  CHECK_FALSE(stack.push(make_node(2)));
  CHECK_FALSE(stack.push(make_node(3)));

  // Taking empties the stack: the next push starts a new batch.
  auto batch = stack.take();
  CHECK(stack.empty());
  CHECK(stack.push(make_node(4)));
  CHECK_FALSE(stack.push(make_node(5)));

  // Popping the taken list does not touch the stack's state.
  CHECK(drain(batch) == std::vector<int>{1, 2, 3});
  CHECK_FALSE(stack.push(make_node(6)));
}

TEST_CASE("take on an empty stack gives an empty list", "[mpsc_stack]") {
  mpsc_stack<counted_node> stack;
  auto list = stack.take();
  CHECK(list.empty());
  CHECK(list.pop() == nullptr);
  CHECK(stack.empty());

  // Also after a batch was taken, and more than once.
  stack.push(make_node(1));
  auto batch = stack.take();
  CHECK_FALSE(batch.empty());
  auto again = stack.take();
  CHECK(again.empty());
  CHECK(again.pop() == nullptr);
  CHECK(stack.push(make_node(2)));  // still a first push
}

TEST_CASE("nodes that are not popped are freed", "[mpsc_stack]") {
  counted_node::reset_counts();

  SECTION("a stack destroyed with nodes never taken") {
    {
      mpsc_stack<counted_node> stack;
      for (int i = 0; i < 10; ++i)
        stack.push(make_node(i));
      CHECK(counted_node::destroyed == 0);
    }
    CHECK(counted_node::constructed == 10);
    CHECK(counted_node::destroyed == 10);
  }

  SECTION("a list destroyed part way through popping") {
    mpsc_stack<counted_node> stack;
    for (int i = 0; i < 10; ++i)
      stack.push(make_node(i));
    {
      auto list = stack.take();
      auto first = list.pop();
      REQUIRE(first);
      CHECK(first->seq == 0);
      first.reset();
      CHECK(counted_node::destroyed == 1);
    }
    CHECK(counted_node::destroyed == 10);
  }

  SECTION("clear() frees and empties the list") {
    mpsc_stack<counted_node> stack;
    for (int i = 0; i < 4; ++i)
      stack.push(make_node(i));
    auto list = stack.take();
    list.clear();
    CHECK(list.empty());
    CHECK(counted_node::destroyed == 4);
  }

  SECTION("move assignment frees the target's nodes and empties the source") {
    mpsc_stack<counted_node> stack;
    stack.push(make_node(1));
    stack.push(make_node(2));
    auto target = stack.take();
    stack.push(make_node(3));
    auto source = stack.take();
    target = std::move(source);
    CHECK(counted_node::destroyed == 2);
    CHECK(source.empty());  // NOLINT(bugprone-use-after-move): documented state
    CHECK(drain(target) == std::vector<int>{3});
    CHECK(counted_node::destroyed == 3);
  }

  SECTION("move construction hands the nodes over once") {
    mpsc_stack<counted_node> stack;
    stack.push(make_node(1));
    stack.push(make_node(2));
    {
      auto source = stack.take();
      node_list<counted_node> moved(std::move(source));
      CHECK(source.empty());  // NOLINT(bugprone-use-after-move): documented state
      CHECK(drain(moved) == std::vector<int>{1, 2});
    }
    CHECK(counted_node::destroyed == 2);
  }

  CHECK(counted_node::constructed == counted_node::destroyed);
}

TEST_CASE("many producers, one consumer woken by first pushes: every item once, in order",
          "[mpsc_stack][threads]") {
  constexpr int producers = 4;
  constexpr int per_producer = 20'000;
  constexpr long total = long{producers} * per_producer;
  counted_node::reset_counts();

  mpsc_stack<counted_node> stack;
  // One permit per first-of-a-batch push: the consumer takes only when told
  // to, so a batch whose wake was lost would leave it waiting (and fail).
  std::counting_semaphore<total> wakes(0);
  std::latch start(producers + 1);

  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p) {
    threads.emplace_back([&, p] {
      start.arrive_and_wait();
      for (int s = 0; s < per_producer; ++s)
        if (stack.push(make_node(s, p))) wakes.release();
    });
  }

  std::vector<int> next_seq(producers, 0);
  long received = 0;
  long out_of_order = 0;  // a duplicate, a gap or a reordering
  long foreign = 0;       // a producer id nobody used
  bool lost_wake = false;
  start.arrive_and_wait();
  while (received < total) {
    if (!wakes.try_acquire_for(std::chrono::seconds(10))) {
      lost_wake = true;
      break;
    }
    auto batch = stack.take();
    while (auto n = batch.pop()) {
      ++received;
      if (n->producer < 0 || n->producer >= producers) {
        ++foreign;
        continue;
      }
      if (n->seq != next_seq[n->producer]) ++out_of_order;
      next_seq[n->producer] = n->seq + 1;
    }
  }
  for (auto& t : threads)
    t.join();

  INFO("received " << received << " of " << total);
  CHECK_FALSE(lost_wake);
  CHECK(received == total);
  CHECK(out_of_order == 0);
  CHECK(foreign == 0);
  for (int p = 0; p < producers; ++p)
    CHECK(next_seq[p] == per_producer);
  CHECK(stack.take().empty());  // nothing was left behind
  CHECK(counted_node::constructed == total);
  CHECK(counted_node::destroyed == total);
}
