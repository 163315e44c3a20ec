#include "fastnet/loop_group.hpp"

#include <pthread.h>

#include <latch>
#include <stdexcept>

namespace fastnet {

loop_group::loop_group(size_t threads, std::string name, backend b) : name_(std::move(name)) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  loops_.reserve(threads);
  for (size_t i = 0; i < threads; ++i)
    loops_.push_back(std::make_unique<event_loop>(b));
  loads_ = std::make_unique<counter[]>(threads);
}

loop_group::~loop_group() {
  stop();
}

void loop_group::start() {
  if (started_) return;
  start_threads(0);
}

void loop_group::run() {
  if (started_) throw std::logic_error("loop_group: run() on a started group");
  start_threads(1);
  loops_[0]->run();
  stop();
}

void loop_group::start_threads(size_t first) {
  if (stopped_) throw std::logic_error("loop_group: a stopped group cannot be restarted");
  started_ = true;
  std::latch running(static_cast<std::ptrdiff_t>(loops_.size() - first));
  for (size_t i = first; i < loops_.size(); ++i) {
    threads_.emplace_back([this, i, &running] {
      // Thread names show up in top/perf; the kernel limits them to 15 chars.
      std::string n = name_.substr(0, 10) + "-" + std::to_string(i);
      pthread_setname_np(pthread_self(), n.substr(0, 15).c_str());
      event_loop& loop = *loops_[i];
      loop.queue_in_loop([&running] { running.count_down(); });
      loop.run();
    });
  }
  running.wait();
}

void loop_group::stop() {
  if (!started_) return;
  for (auto& l : loops_)
    l->quit();
  for (auto& t : threads_)
    t.join();
  threads_.clear();
  started_ = false;
  stopped_ = true;
}

}  // namespace fastnet
