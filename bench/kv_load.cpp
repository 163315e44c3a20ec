// kv_load — a load client for the line protocol of examples/cluster
// (SET/GET), to measure a gateway + workers against `cluster single`.
//
//   kv_load --port P [--conns C] [--duration SECONDS] [--keys K] [--value-size S]
//
// One thread per connection, one request in flight per connection (ping-pong):
// half SET, half GET, keys drawn from K. Every reply is checked (OK, VALUE,
// NOT_FOUND; anything else counts as an error). Prints requests/s and the
// latency p50/p99 over all requests, from load_client's histogram. Loopback
// only. Uses no fastnet code.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "load_client/histogram.hpp"

namespace {

struct result {
  load_client::latency_histogram latency;
  uint64_t errors = 0;
};

/// Runs one connection until `stop`; false when it cannot connect.
bool run_connection(uint16_t port, int index, int keys, size_t value_size,
                    const std::atomic<bool>& stop, result& out) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    ::close(fd);
    return false;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  std::mt19937 rng(static_cast<uint32_t>(index) * 7919u + 1);
  std::string value(value_size, 'v');
  std::string buf;
  std::string req;
  char chunk[65536];
  while (!stop.load(std::memory_order_relaxed)) {
    int k = static_cast<int>(rng() % static_cast<uint32_t>(keys));
    bool set = (rng() & 1) != 0;
    req.assign(set ? "SET key" : "GET key").append(std::to_string(k));
    if (set) req.append(" ").append(value);
    req.append("\n");
    auto t0 = std::chrono::steady_clock::now();
    size_t off = 0;
    while (off < req.size()) {
      ssize_t n = ::send(fd, req.data() + off, req.size() - off, MSG_NOSIGNAL);
      if (n <= 0) {
        ::close(fd);
        return true;
      }
      off += static_cast<size_t>(n);
    }
    size_t nl;
    while ((nl = buf.find('\n')) == std::string::npos) {
      ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
      if (n <= 0) {
        ::close(fd);
        return true;
      }
      buf.append(chunk, static_cast<size_t>(n));
    }
    auto t1 = std::chrono::steady_clock::now();
    std::string_view line(buf.data(), nl);
    bool ok = set ? line == "OK" : (line.rfind("VALUE ", 0) == 0 || line == "NOT_FOUND");
    if (!ok) ++out.errors;
    buf.erase(0, nl + 1);
    out.latency.record(static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count()));
  }
  ::close(fd);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  uint16_t port = 0;
  int conns = 8;
  double duration = 5;
  int keys = 10000;
  size_t value_size = 32;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    const char* v = argv[i + 1];
    if (flag == "--port")
      port = static_cast<uint16_t>(std::atoi(v));
    else if (flag == "--conns")
      conns = std::atoi(v);
    else if (flag == "--duration")
      duration = std::atof(v);
    else if (flag == "--keys")
      keys = std::atoi(v);
    else if (flag == "--value-size")
      value_size = static_cast<size_t>(std::atol(v));
    else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  if (port == 0 || conns <= 0 || keys <= 0) {
    std::fprintf(stderr,
                 "usage: kv_load --port P [--conns C] [--duration S] [--keys K] "
                 "[--value-size S]\n");
    return 2;
  }
  std::atomic<bool> stop{false};
  std::vector<result> results(static_cast<size_t>(conns));
  std::vector<std::thread> threads;
  std::atomic<int> failed{0};
  for (int i = 0; i < conns; ++i)
    threads.emplace_back([&, i] {
      if (!run_connection(port, i, keys, value_size, stop, results[static_cast<size_t>(i)]))
        failed.fetch_add(1);
    });
  auto start = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(duration));
  stop = true;
  for (auto& t : threads)
    t.join();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  load_client::latency_histogram all;
  uint64_t errors = 0;
  for (auto& r : results) {
    all.merge(r.latency);
    errors += r.errors;
  }
  const auto requests = static_cast<unsigned long long>(all.count());
  if (failed.load() != 0 || requests == 0) {
    std::fprintf(stderr, "kv_load: %d connections failed, %llu requests\n", failed.load(),
                 requests);
    return 1;
  }
  auto pct = [&](double p) { return static_cast<double>(all.percentile(p)) / 1000.0; };
  std::printf("requests=%llu errors=%llu rps=%.0f p50_us=%.1f p99_us=%.1f conns=%d\n", requests,
              static_cast<unsigned long long>(errors), static_cast<double>(requests) / secs,
              pct(50), pct(99), conns);
  return errors == 0 ? 0 : 1;
}
