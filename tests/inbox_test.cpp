// Unit tests for fastnet::actors::detail::inbox (actors/src/inbox.hpp), the
// queue from a connection's loop to its actor: one wake per batch, frames
// popped oldest first with their kinds, frame/byte accounting, the pause
// (at either bound) / resume (at half of both, once) protocol, and the
// documented invariant that a drain racing with a pause never leaves the
// inbox paused with nobody to resume it: on threads, and over every
// interleaving of the two sides' calls. offer() needs a live
// fastnet::connection: the integration tests (actors_test) cover it.
#include <catch2/catch.hpp>

#include <atomic>
#include <barrier>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "inbox.hpp"

namespace {

using fastnet::frame_kind;

/// The inbox with its budget, driven as a connection and its actor do: the
/// budget lives with whoever serves the connection, and the actor takes
/// frames in batches.
class inbox {
 public:
  inbox(size_t max_frames, size_t max_bytes) : budget_{max_frames, max_bytes} {}
  bool push(std::string&& frame, frame_kind kind = frame_kind::data) {
    return in_.push(std::move(frame), kind);
  }
  bool should_pause() const { return in_.should_pause(budget_); }
  void mark_paused() { in_.mark_paused(); }
  void begin_drain() { in_.begin_drain(); }
  /// The next frame and its kind, oldest first, as drain() takes them.
  bool pop(std::string& out, frame_kind& kind) {
    if (taken_.empty()) taken_ = in_.take();
    auto node = taken_.pop();
    if (!node) return false;
    out = std::move(node->frame);
    kind = node->kind;
    return true;
  }
  void done(size_t n) { in_.done(n); }
  bool should_resume() { return in_.should_resume(budget_); }
  size_t frames() const { return in_.frames(); }
  size_t bytes() const { return in_.bytes(); }

 private:
  fastnet::actors::detail::inbound_budget budget_;
  fastnet::actors::detail::inbox in_;
  fastnet::actors::detail::inbox::batch taken_;
};

/// Any byte as a kind: the inbox carries it through unchanged.
frame_kind as_kind(int i) {
  return static_cast<frame_kind>(static_cast<uint8_t>(i));
}

/// Pops everything the inbox holds, oldest first, marking each frame done.
std::vector<std::pair<std::string, frame_kind>> pop_all(inbox& in) {
  std::vector<std::pair<std::string, frame_kind>> out;
  std::string frame;
  frame_kind kind = frame_kind::data;
  while (in.pop(frame, kind)) {
    in.done(frame.size());
    out.emplace_back(std::move(frame), kind);
  }
  return out;
}

/// Pops one frame and marks it done; its size, or -1 when there was none.
long pop_one(inbox& in) {
  std::string frame;
  frame_kind kind = frame_kind::data;
  if (!in.pop(frame, kind)) return -1;
  in.done(frame.size());
  return static_cast<long>(frame.size());
}

}  // namespace

TEST_CASE("inbox: one wake per batch", "[inbox]") {
  inbox in(100, 1000);
  CHECK(in.push("a"));  // the first frame wakes the actor
  CHECK_FALSE(in.push("b"));
  CHECK_FALSE(in.push("c"));  // the rest ride along with that wake

  in.begin_drain();     // the wake arrived
  CHECK(in.push("d"));  // a frame after the drain started needs a wake of its own
  CHECK_FALSE(in.push("e"));

  // Popping does not reset the flag; only begin_drain does.
  CHECK(pop_all(in).size() == 5);
  CHECK_FALSE(in.push("f"));
  in.begin_drain();
  CHECK(in.push("g"));
}

TEST_CASE("inbox: frames are popped oldest first with their kinds", "[inbox]") {
  inbox in(100, 1000);
  in.push("one");
  in.push("two", frame_kind::text);
  in.push("three", frame_kind::binary);

  std::string frame;
  frame_kind kind = frame_kind::open;
  REQUIRE(in.pop(frame, kind));
  CHECK(frame == "one");
  CHECK(kind == frame_kind::data);  // the default kind

  // Frames pushed after the actor took a batch come after that batch.
  in.push("four", frame_kind::close);
  REQUIRE(in.pop(frame, kind));
  CHECK(frame == "two");
  CHECK(kind == frame_kind::text);
  REQUIRE(in.pop(frame, kind));
  CHECK(frame == "three");
  CHECK(kind == frame_kind::binary);
  REQUIRE(in.pop(frame, kind));
  CHECK(frame == "four");
  CHECK(kind == frame_kind::close);
  CHECK_FALSE(in.pop(frame, kind));

  // Empty frames are frames too.
  in.push("");
  REQUIRE(in.pop(frame, kind));
  CHECK(frame.empty());
  CHECK_FALSE(in.pop(frame, kind));
}

TEST_CASE("inbox: frames and bytes count what is queued and not yet done", "[inbox]") {
  inbox in(100, 1000);
  CHECK(in.frames() == 0);
  CHECK(in.bytes() == 0);
  in.push("abc");
  in.push("de");
  in.push("");
  CHECK(in.frames() == 3);
  CHECK(in.bytes() == 5);

  // Popping alone gives nothing back: the budget returns with done().
  std::string frame;
  frame_kind kind = frame_kind::data;
  REQUIRE(in.pop(frame, kind));
  CHECK(in.frames() == 3);
  CHECK(in.bytes() == 5);
  in.done(frame.size());
  CHECK(in.frames() == 2);
  CHECK(in.bytes() == 2);

  CHECK(pop_all(in).size() == 2);
  CHECK(in.frames() == 0);
  CHECK(in.bytes() == 0);
}

TEST_CASE("inbox: should_pause at the frame bound, until marked paused", "[inbox]") {
  inbox in(4, 1000);
  for (int i = 0; i < 3; ++i) {
    in.push("x");
    CHECK_FALSE(in.should_pause());
  }
  in.push("x");  // the 4th frame: the budget is used up
  CHECK(in.should_pause());
  CHECK(in.should_pause());  // a question, not a transition
  in.mark_paused();
  CHECK_FALSE(in.should_pause());
  in.push("x");  // frames that still arrive while paused ask nothing more
  CHECK_FALSE(in.should_pause());
}

TEST_CASE("inbox: should_pause at the byte bound, until marked paused", "[inbox]") {
  inbox in(100, 10);
  in.push(std::string(9, 'x'));
  CHECK_FALSE(in.should_pause());
  in.push("y");  // 10 bytes: at the bound
  CHECK(in.should_pause());
  in.mark_paused();
  CHECK_FALSE(in.should_pause());

  // One frame larger than the whole byte budget pauses too.
  inbox big(100, 10);
  big.push(std::string(50, 'z'));
  CHECK(big.should_pause());
}

TEST_CASE("inbox: should_resume only once paused, at half of both bounds, once", "[inbox]") {
  SECTION("never while not paused") {
    inbox in(4, 100);
    CHECK_FALSE(in.should_resume());  // empty, but nothing to resume
    in.push("x");
    CHECK_FALSE(in.should_resume());
    CHECK(pop_all(in).size() == 1);
    CHECK_FALSE(in.should_resume());
  }

  SECTION("frames must be down to half") {
    inbox in(4, 1000);
    for (int i = 0; i < 4; ++i)
      in.push("x");
    REQUIRE(in.should_pause());
    in.mark_paused();
    CHECK_FALSE(in.should_resume());  // 4 frames (bytes are low)
    CHECK(pop_one(in) == 1);
    CHECK_FALSE(in.should_resume());  // 3 > 4 / 2
    CHECK(pop_one(in) == 1);
    CHECK(in.should_resume());        // 2: half
    CHECK_FALSE(in.should_resume());  // only once
    CHECK(pop_all(in).size() == 2);
    CHECK_FALSE(in.should_resume());  // still not: it was resumed already
  }

  SECTION("bytes must be down to half as well") {
    inbox in(4, 100);
    in.push("a");
    in.push(std::string(99, 'b'));  // 100 bytes: at the bound
    REQUIRE(in.should_pause());
    in.mark_paused();
    CHECK(pop_one(in) == 1);
    CHECK(in.frames() == 1);          // frames are down to half...
    CHECK_FALSE(in.should_resume());  // ...but 99 bytes > 100 / 2
    CHECK(pop_one(in) == 99);
    CHECK(in.should_resume());
    CHECK_FALSE(in.should_resume());
  }

  SECTION("half means at most half, on both bounds at once") {
    inbox in(4, 100);
    in.push(std::string(50, 'a'));
    in.push(std::string(50, 'b'));  // 100 bytes: at the bound
    in.push("c");
    REQUIRE(in.should_pause());
    in.mark_paused();
    CHECK(pop_one(in) == 50);
    CHECK(in.frames() == 2);
    CHECK(in.bytes() == 51);
    CHECK_FALSE(in.should_resume());  // 51 bytes > 50
    CHECK(pop_one(in) == 50);
    CHECK(in.should_resume());  // 1 frame, 1 byte
  }

  SECTION("after a resume the bound pauses again") {
    inbox in(2, 1000);
    in.push("a");
    in.push("b");
    REQUIRE(in.should_pause());
    in.mark_paused();
    CHECK(pop_one(in) == 1);
    REQUIRE(in.should_resume());
    CHECK_FALSE(in.should_pause());  // 1 frame left: under the bound
    in.push("c");
    CHECK(in.should_pause());  // 2 again
    in.mark_paused();
    CHECK_FALSE(in.should_resume());
    CHECK(pop_all(in).size() == 2);
    CHECK(in.should_resume());
  }
}

namespace {

/// Spins until `flag` reaches `value`: both sides then start within a cache
/// miss of each other, which a blocking wake-up would not give. Yields when
/// the other thread is not running (a loaded 2-core machine).
void spin_until_at_least(const std::atomic<int>& flag, int value) {
  for (int spins = 0; flag.load(std::memory_order_acquire) < value; ++spins)
    if (spins > 100'000) std::this_thread::yield();
}

}  // namespace

TEST_CASE("inbox: two sides asking should_resume at once get one true between them",
          "[inbox][threads]") {
  constexpr int rounds = 20'000;
  inbox in(2, 1000);
  std::atomic<int> go{0};        // the round both sides may ask in
  std::atomic<int> answered{0};  // the last round the other side answered
  bool other_said = false;       // published by `answered`
  std::thread other([&] {
    for (int r = 1; r <= rounds; ++r) {
      spin_until_at_least(go, r);
      other_said = in.should_resume();
      answered.store(r, std::memory_order_release);
    }
  });

  int one_true = 0;
  std::atomic<int> delay{0};
  for (int r = 1; r <= rounds; ++r) {
    // Paused and empty: both the loop and the actor may see it resumable.
    in.push("a");
    in.push("b");
    if (in.should_pause()) in.mark_paused();
    pop_all(in);
    go.store(r, std::memory_order_release);
    // The other side sees `go` a cache miss late: a delay swept over the
    // rounds lines the two calls up exactly in some of them.
    for (int k = 0; k < r % 64; ++k)
      delay.fetch_add(1, std::memory_order_relaxed);
    bool mine = in.should_resume();
    spin_until_at_least(answered, r);
    if (mine != other_said) ++one_true;
  }
  other.join();
  CHECK(one_true == rounds);
}

namespace {

/// A loop and an actor around one inbox, as the bridge drives it. The loop
/// reads bursts of frames (a burst is what one read decodes: pushed whatever
/// the pause, which only stops the next read); after each frame it pauses on
/// should_pause, marks the inbox, then asks should_resume. The actor, on each
/// wake, begins a drain, pops everything, gives each frame back (done), then
/// asks should_resume. A "resume" from either side re-enables reading.
class loop_and_actor {
 public:
  loop_and_actor(size_t max_frames, size_t max_bytes) : in_(max_frames, max_bytes) {}

  /// Loop thread: sends `count` frames in bursts; false if reading stayed
  /// paused with nobody left to resume it (the actor has drained and waits).
  bool run_loop(int count) {
    for (int end = next_ + count; next_ < end;) {
      if (!wait_reading()) return false;
      // 1 to 6 frames per read.
      for (int n = 1 + bursts_++ % 6; n > 0 && next_ < end; --n)
        push(next_++);
    }
    return true;
  }

  /// Actor thread: handles wakes until stop() and no wake is left; false on
  /// a frame out of order or a wait that saw no progress.
  bool run_actor() {
    std::string frame;
    frame_kind kind = frame_kind::data;
    for (;;) {
      {
        std::unique_lock lock(m_);
        if (!cv_.wait_for(lock, std::chrono::seconds(10), [&] { return wakes_ > 0 || stop_; }))
          return false;
        if (wakes_ == 0) return true;  // stopped, and every wake handled
        --wakes_;
      }
      in_.begin_drain();
      while (in_.pop(frame, kind)) {
        if (frame != frame_for(received_) || kind != kind_for(received_)) ++disorder_;
        in_.done(frame.size());
        ++received_;
      }
      if (in_.should_resume()) resume();
      {
        std::lock_guard lock(m_);
        received_seen_ = received_;
      }
      cv_.notify_all();
    }
  }

  /// Test thread: true once the actor has handled `count` frames.
  bool wait_received(int count) {
    std::unique_lock lock(m_);
    return cv_.wait_for(lock, std::chrono::seconds(10), [&] { return received_seen_ >= count; });
  }

  void stop() {
    std::lock_guard lock(m_);
    stop_ = true;
    cv_.notify_all();
  }

  /// What only the frame's index decides: its content (unique), size (1 to
  /// 35 bytes: two or three reach the byte bound) and kind.
  static std::string frame_for(int i) {
    std::string f = std::to_string(i);
    f.append(static_cast<size_t>(i * 7 % 31), '.');
    return f;
  }
  static frame_kind kind_for(int i) { return static_cast<frame_kind>(i % 3); }

  inbox& in() { return in_; }
  // Read after both threads have been joined.
  int received() const { return received_; }
  long disorder() const { return disorder_; }
  int pauses() const { return pauses_; }
  int resumes() const { return resumes_; }
  bool reading() const { return reading_; }

 private:
  void push(int i) {
    if (in_.push(frame_for(i), kind_for(i))) {
      std::lock_guard lock(m_);
      ++wakes_;
      cv_.notify_all();
    }
    if (in_.should_pause()) {
      {
        std::lock_guard lock(m_);
        reading_ = false;  // the pause comes first...
        ++pauses_;
      }
      in_.mark_paused();  // ...the mark after it
      if (in_.should_resume()) resume();
    }
  }

  void resume() {
    std::lock_guard lock(m_);
    reading_ = true;
    ++resumes_;
    cv_.notify_all();
  }

  bool wait_reading() {
    std::unique_lock lock(m_);
    return cv_.wait_for(lock, std::chrono::seconds(10), [&] { return reading_; });
  }

  inbox in_;
  std::mutex m_;
  std::condition_variable cv_;
  bool reading_ = true;    // guarded by m_
  int wakes_ = 0;          // guarded by m_: wakes sent and not yet handled
  bool stop_ = false;      // guarded by m_
  int pauses_ = 0;         // guarded by m_
  int resumes_ = 0;        // guarded by m_
  int received_seen_ = 0;  // guarded by m_
  int next_ = 0;           // loop thread: the next frame's index
  int bursts_ = 0;         // loop thread
  int received_ = 0;       // actor thread
  long disorder_ = 0;      // actor thread
};

}  // namespace

TEST_CASE("inbox: a drain racing with a pause never strands the inbox paused", "[inbox][threads]") {
  constexpr int frames = 20'000;
  // Small bounds, so that the loop pauses often and the race is run often.
  loop_and_actor model(4, 64);

  // The first frames before the actor exists: at least one pause for certain.
  bool first_ok = model.run_loop(5);
  REQUIRE(model.pauses() >= 1);

  bool actor_ok = false;
  std::thread actor([&] { actor_ok = model.run_actor(); });
  bool loop_ok = false;
  std::thread loop([&] { loop_ok = model.run_loop(frames - 5); });
  loop.join();
  bool all_received = model.wait_received(frames);
  model.stop();
  actor.join();

  INFO("pauses " << model.pauses() << ", resumes " << model.resumes() << ", received "
                 << model.received());
  CHECK(first_ok);
  CHECK(loop_ok);  // false: reading stayed paused for good
  CHECK(actor_ok);
  CHECK(all_received);  // false: a frame was queued without a wake
  CHECK(model.received() == frames);
  CHECK(model.disorder() == 0);
  CHECK(model.in().frames() == 0);
  CHECK(model.in().bytes() == 0);
  CHECK(model.reading());
  CHECK(model.pauses() == model.resumes());
  // Empty: a paused inbox would answer true here.
  CHECK_FALSE(model.in().should_resume());
}

namespace {

/// One run of the pause/resume protocol between a loop and an actor, driven
/// one inbox call at a time by the caller, so that every interleaving of the
/// two sides can be tried (each call taken as atomic). The loop reads one
/// frame at a time and only while reading is on; the actor drains on a wake.
class stepped_protocol {
 public:
  static constexpr int frames = 3;

  stepped_protocol() : in_(2, 1000) {}  // pauses at 2 frames, resumes at 1

  bool loop_can_step() const {
    return loop_ != loop_pc::finished && (loop_ != loop_pc::push || reading_);
  }
  bool actor_can_step() const { return actor_ != actor_pc::idle || wakes_ > 0; }

  void loop_step() {
    switch (loop_) {
      case loop_pc::push:
        if (in_.push(std::to_string(pushed_), as_kind(pushed_))) ++wakes_;
        ++pushed_;
        loop_ = loop_pc::check_pause;
        break;
      case loop_pc::check_pause:
        if (in_.should_pause()) {
          reading_ = false;  // the pause comes first...
          ++pauses_;
          loop_ = loop_pc::mark;
        } else {
          loop_ = next_frame();
        }
        break;
      case loop_pc::mark:
        in_.mark_paused();  // ...the mark after it...
        loop_ = loop_pc::check_resume;
        break;
      case loop_pc::check_resume:  // ...and the check that the actor may have missed
        if (in_.should_resume()) resume(true);
        loop_ = next_frame();
        break;
      case loop_pc::finished:
        break;
    }
  }

  void actor_step() {
    switch (actor_) {
      case actor_pc::idle:  // a wake arrives
        --wakes_;
        in_.begin_drain();
        actor_ = actor_pc::pop;
        break;
      case actor_pc::pop:
        if (in_.pop(frame_, kind_)) {
          if (frame_ != std::to_string(received_) || kind_ != as_kind(received_)) in_order_ = false;
          actor_ = actor_pc::done;
        } else {
          actor_ = actor_pc::check_resume;
        }
        break;
      case actor_pc::done:
        in_.done(frame_.size());
        ++received_;
        actor_ = actor_pc::pop;
        break;
      case actor_pc::check_resume:
        if (in_.should_resume()) resume(false);
        actor_ = actor_pc::idle;
        break;
    }
  }

  /// After neither side can step: what went wrong, or empty.
  std::string fault() {
    if (loop_ != loop_pc::finished) return "reading paused for good with the actor idle";
    if (received_ != frames) return "frames queued with no wake to deliver them";
    if (!in_order_) return "frames out of order";
    if (in_.frames() != 0 || in_.bytes() != 0) return "budget not given back";
    if (!reading_ || in_.should_resume()) return "left paused";
    if (pauses_ != resumes_) return "pauses and resumes do not pair";
    return {};
  }

  int loop_resumes() const { return loop_resumes_; }
  int actor_resumes() const { return resumes_ - loop_resumes_; }

 private:
  enum class loop_pc { push, check_pause, mark, check_resume, finished };
  enum class actor_pc { idle, pop, done, check_resume };

  loop_pc next_frame() const { return pushed_ < frames ? loop_pc::push : loop_pc::finished; }
  void resume(bool by_loop) {
    reading_ = true;
    ++resumes_;
    if (by_loop) ++loop_resumes_;
  }

  inbox in_;
  loop_pc loop_ = loop_pc::push;
  actor_pc actor_ = actor_pc::idle;
  bool reading_ = true;
  int pushed_ = 0;
  int wakes_ = 0;  // wake messages on their way to the actor
  int received_ = 0;
  bool in_order_ = true;
  std::string frame_;
  frame_kind kind_ = frame_kind::data;
  int pauses_ = 0;
  int resumes_ = 0;
  int loop_resumes_ = 0;
};

struct exploration {
  long runs = 0;
  long loop_resumes = 0;   // runs in which the loop's own check resumed
  long actor_resumes = 0;  // runs in which the actor's check resumed
  std::vector<std::string> faults;
};

/// Tries every continuation of `choices` (true: the loop steps), replaying
/// the prefix on a fresh inbox each time (an inbox cannot be copied).
void explore(std::vector<bool>& choices, exploration& out) {
  stepped_protocol p;
  for (bool loop : choices)
    loop ? p.loop_step() : p.actor_step();
  const bool can_loop = p.loop_can_step();
  const bool can_actor = p.actor_can_step();
  if (!can_loop && !can_actor) {
    ++out.runs;
    if (p.loop_resumes() > 0) ++out.loop_resumes;
    if (p.actor_resumes() > 0) ++out.actor_resumes;
    if (auto f = p.fault(); !f.empty() && out.faults.size() < 5) {
      std::string path;
      for (bool loop : choices)
        path += loop ? 'L' : 'A';
      out.faults.push_back(f + " after " + path);
    }
    return;
  }
  for (bool side : {true, false}) {
    if (side ? !can_loop : !can_actor) continue;
    choices.push_back(side);
    explore(choices, out);
    choices.pop_back();
  }
}

}  // namespace

TEST_CASE("inbox: every interleaving of a loop and its actor ends drained and reading", "[inbox]") {
  exploration result;
  std::vector<bool> choices;
  explore(choices, result);
  INFO("interleavings " << result.runs);
  for (const auto& f : result.faults)
    UNSCOPED_INFO(f);
  CHECK(result.faults.empty());
  // Both ways out of a pause were taken: the actor's check, and the loop's
  // check after a drain that ran between the pause and its mark.
  CHECK(result.loop_resumes > 0);
  CHECK(result.actor_resumes > 0);
}

TEST_CASE("inbox: small enough to live in every connection actor", "[inbox]") {
  // The queue head, the frame and byte counts and two flags; the budget is
  // the server's. A measured target (bench idle-10k): grow it knowingly.
  STATIC_REQUIRE(sizeof(fastnet::actors::detail::inbox) <= 3 * sizeof(void*));
}
