// fastnet::stop_signals: signals taken synchronously by wait() or on a
// loop, and the thread's mask restored afterwards. The signals are raised
// at this thread (raise), which blocks them: nothing else can take them.
#include <catch2/catch.hpp>
#include <fastnet/event_loop.hpp>
#include <fastnet/stop_signals.hpp>

#include <pthread.h>
#include <signal.h>

#include <string>

namespace {

bool blocked(int sig) {
  sigset_t now;
  pthread_sigmask(SIG_SETMASK, nullptr, &now);
  return sigismember(&now, sig) == 1;
}

}  // namespace

TEST_CASE("stop_signals::wait returns the signal raised", "[stop_signals]") {
  REQUIRE_FALSE(blocked(SIGTERM));
  {
    fastnet::stop_signals stop;
    REQUIRE(blocked(SIGINT));
    REQUIRE(blocked(SIGTERM));
    REQUIRE(raise(SIGTERM) == 0);  // pending: blocked, so it waits for wait()
    REQUIRE(stop.wait() == SIGTERM);
    REQUIRE(raise(SIGINT) == 0);
    REQUIRE(stop.wait() == SIGINT);
  }
  REQUIRE_FALSE(blocked(SIGTERM));  // the mask is as it was
  REQUIRE_FALSE(blocked(SIGINT));
}

TEST_CASE("stop_signals takes the signals it is given", "[stop_signals]") {
  fastnet::stop_signals stop{SIGUSR1};
  REQUIRE(blocked(SIGUSR1));
  REQUIRE_FALSE(blocked(SIGTERM));
  REQUIRE(raise(SIGUSR1) == 0);
  REQUIRE(stop.wait() == SIGUSR1);
  REQUIRE(std::string(fastnet::stop_signals::name(SIGTERM)) == "SIGTERM");
}

TEST_CASE("stop_signals::on_loop calls back on the loop, which can then quit", "[stop_signals]") {
  fastnet::stop_signals stop;
  fastnet::event_loop loop;
  int got = 0;
  int calls = 0;
  stop.on_loop(loop, [&](int sig) {  // before run(): watched from its first iteration
    got = sig;
    ++calls;
    loop.quit();
  });
  REQUIRE(raise(SIGINT) == 0);  // already pending when the loop starts
  loop.run();                   // returns only through the callback's quit()
  REQUIRE(got == SIGINT);
  REQUIRE(calls == 1);
}
