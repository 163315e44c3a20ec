// echo_server — the benchmark server: the seed's echo with every knob the
// benchmarks turn (examples/ holds the short, one-idea versions to learn from).
//
//   echo_server --port 9000 [--mode reactor|actors] [--loops N] [--codec raw|line|len32]
//               [--max-conns N] [--idle-timeout SECONDS] [--frame-timeout SECONDS]
//               [--max-frame BYTES] [--reuseport]
//               [--balancer round-robin|least-conn|hash] [--log-level LEVEL] [--burn-ns N]
//               [--caf-policy sharing|stealing] [--caf-workers N] [--backend epoll|io_uring|auto]
//               [--tls-cert FILE --tls-key FILE [--tls-ca FILE --tls-verify-client]]
//               [--metrics-port P [--metrics-host 127.0.0.1]]
//
// --mode reactor (default): a tcp_handler replies from the loop thread; the
//   server is run() on the main thread, so with --loops 1 the process has one
//   thread in all.
// --mode actors: one CAF actor per connection replies through its handle.
// Prints the connection count every 2 s through the server's timer API and
// stops gracefully (flushing what is queued) on SIGINT or SIGTERM.
// --tls-cert/--tls-key serve TLS (in either mode; scripts/make_test_certs.sh
//   makes a throwaway CA and certificates); --tls-verify-client also asks for
//   a client certificate signed by --tls-ca.
// --metrics-port also answers GET /metrics (Prometheus) with the server's
//   statistics, on 127.0.0.1 unless --metrics-host says otherwise; in actor
//   mode with the connection actors' too (fastnet_actor_*: frames pending,
//   wakes, runs on the loops and on CAF workers, frame wait time).
// --burn-ns spins before each echo: a known handicap that shows whether a
// benchmark can see a slower server at all (bench/RESULTS.md).
// The tests run it too (interop, metrics, Prometheus): it is the one server
// with every transport and mode behind flags.
#include <fastnet/actors/scheduler.hpp>
#include <fastnet/actors/server.hpp>
#include <fastnet/fastnet.hpp>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <CLI/CLI.hpp>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include "backend_flag.hpp"
#include "log_flags.hpp"
#include "metrics_flags.hpp"
#include "tls_flags.hpp"

namespace {

/// Spins for `ns`: stand-in per-message work. Any thread.
void burn(std::chrono::nanoseconds ns) {
  if (ns.count() <= 0) return;
  const auto until = std::chrono::steady_clock::now() + ns;
  while (std::chrono::steady_clock::now() < until) {
  }
}

/// Echo handler: counts connections and replies with each frame as received.
class echo_handler final : public fastnet::tcp_handler {
 public:
  explicit echo_handler(std::chrono::nanoseconds burn) : burn_(burn) {}
  void on_connect(const fastnet::connection_ptr&) override { count_.fetch_add(1); }
  void on_message(const fastnet::connection_ptr& conn, std::span<const std::byte> frame) override {
    burn(burn_);
    conn->send(frame);
  }
  void on_close(const fastnet::connection_ptr&, fastnet::close_reason) override {
    count_.fetch_sub(1);
  }
  long connections() const { return count_.load(); }

 private:
  std::chrono::nanoseconds burn_;
  std::atomic<long> count_{0};
};

/// The same echo as one actor per connection.
caf::behavior echo_actor(caf::event_based_actor*, fastnet::actors::connection_handle conn,
                         std::chrono::nanoseconds burn_ns) {
  return {
      [conn, burn_ns](fastnet::actors::received_atom, std::string& frame) {
        burn(burn_ns);
        conn.send(std::move(frame));
      },
  };
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"fastnet echo server"};
  std::string host = "0.0.0.0";
  uint16_t port = 0;
  size_t loops = 0;
  std::string codec = "raw";
  size_t max_conns = 100000;
  double idle_timeout = 0;
  double frame_timeout = 60;
  size_t max_frame = 16 << 20;
  bool reuseport = false;
  std::string balancer = "round-robin";
  std::string mode = "reactor";
  std::string caf_policy = "sharing";
  size_t caf_workers = 0;
  long long burn_ns = 0;
  app.add_option("--host", host, "address to listen on")->capture_default_str();
  app.add_option("--port", port, "port to listen on")->required();
  app.add_option("--loops", loops, "IO loop threads (0 = one per core)")->capture_default_str();
  fastnet::backend backend = fastnet::backend::automatic;
  add_backend_flag(app, backend);
  app.add_option("--codec", codec, "framing")
      ->check(CLI::IsMember({"raw", "line", "len32"}))
      ->capture_default_str();
  app.add_option("--max-conns", max_conns, "connection limit")->capture_default_str();
  app.add_option("--idle-timeout", idle_timeout, "close idle connections after SECONDS (0 = never)")
      ->check(CLI::Range(0.0, 1e8))
      ->capture_default_str();
  app.add_option("--frame-timeout", frame_timeout,
                 "close a connection whose frame, once begun, is not complete after SECONDS "
                 "(0 = never)")
      ->check(CLI::Range(0.0, 1e8))
      ->capture_default_str();
  app.add_option("--max-frame", max_frame, "largest frame in bytes")->capture_default_str();
  app.add_flag("--reuseport", reuseport, "one SO_REUSEPORT listener per loop");
  app.add_option("--balancer", balancer, "how connections are spread over loops")
      ->check(CLI::IsMember({"round-robin", "least-conn", "hash"}))
      ->capture_default_str();
  add_log_level_flag(app);
  app.add_option("--mode", mode, "reactor: callbacks on the loops; actors: an actor per connection")
      ->check(CLI::IsMember({"reactor", "actors"}))
      ->capture_default_str();
  app.add_option("--caf-policy", caf_policy, "actors mode: CAF scheduler policy")
      ->check(CLI::IsMember({"sharing", "stealing"}))
      ->capture_default_str();
  app.add_option("--caf-workers", caf_workers, "actors mode: CAF worker threads (0 = one per core)")
      ->capture_default_str();
  app.add_option("--burn-ns", burn_ns, "spin N ns before each echo (benchmark sensitivity check)")
      ->check(CLI::Range(0LL, 1'000'000'000LL))
      ->capture_default_str();
  tls_flags tls;
  tls.add_to(app);
  metrics_flags metrics;
  metrics.add_to(app);
  CLI11_PARSE(app, argc, argv);
  const std::chrono::nanoseconds burn_time{burn_ns};

  auto addr = fastnet::socket_address::ip(host, port);
  if (!addr) {
    std::cerr << "bad address: " << host << "\n";
    return 2;
  }
  fastnet::tcp_server_options opts;
  opts.address = *addr;
  opts.loops = loops;
  opts.backend = backend;
  opts.reuse_port = reuseport;
  opts.codec = *fastnet::make_codec_factory(codec, max_frame);
  opts.max_connections = max_conns;
  if (!tls.make(opts.transport)) return 2;
  if (!metrics.apply(opts, nullptr, "echo")) return 2;
  opts.connection.idle_timeout =
      std::chrono::milliseconds(static_cast<long long>(std::ceil(idle_timeout * 1000)));
  opts.connection.frame_timeout =
      std::chrono::milliseconds(static_cast<long long>(std::ceil(frame_timeout * 1000)));
  opts.balancer = balancer == "least-conn" ? fastnet::least_connections()
                  : balancer == "hash"     ? fastnet::consistent_hash()
                                           : fastnet::round_robin();

  // First, so that every thread started below inherits the blocked mask.
  fastnet::stop_signals stop;
  if (mode == "reactor") {
    echo_handler handler{burn_time};
    fastnet::tcp_server server(opts, handler);
    fastnet::event_loop& main_loop = server.loops().loop(0);
    // Queued before run(): runs on this thread once the server is bound.
    main_loop.queue_in_loop([&] {
      stop.on_loop(main_loop, [&](int signo) {
        std::printf("echo_server: %s, stopping (%ld connections)\n",
                    fastnet::stop_signals::name(signo), handler.connections());
        std::fflush(stdout);
        server.stop();  // from the loop: begins the shutdown, run() returns when done
      });
      std::printf("echo_server listening on %s (mode=reactor loops=%zu backend=%s codec=%s%s)\n",
                  server.local_address().to_string().c_str(), server.loops().size(),
                  fastnet::to_string(server.loops().loop(0).kind()), codec.c_str(),
                  reuseport ? " reuseport" : "");
      if (auto m = metrics_flags::listening_line(server); !m.empty())
        std::printf("echo_server %s\n", m.c_str());
      std::fflush(stdout);
    });
    server.run_every(std::chrono::seconds(2), [&handler] {
      std::printf("connections: %ld\n", handler.connections());
      std::fflush(stdout);
    });
    try {
      server.run();
    } catch (const std::exception& e) {
      std::cerr << "echo_server: " << e.what() << "\n";
      return 1;
    }
  } else {
    caf::actor_system_config cfg;
    fastnet::actors::scheduler_options sched;
    sched.kind = caf_policy == "stealing" ? fastnet::actors::scheduler_options::policy::stealing
                                          : fastnet::actors::scheduler_options::policy::sharing;
    sched.workers = caf_workers;
    fastnet::actors::apply(cfg, sched);
    caf::actor_system sys{cfg};
    fastnet::actors::server_options aopts;
    aopts.net = opts;
    fastnet::actors::server server(sys, aopts);
    server.spawn_per_connection(
        [burn_time](caf::event_based_actor* self, fastnet::actors::connection_handle conn) {
          return echo_actor(self, std::move(conn), burn_time);
        });
    try {
      server.start();
    } catch (const std::exception& e) {
      std::cerr << "echo_server: " << e.what() << "\n";
      return 1;
    }
    server.reactor().run_every(std::chrono::seconds(2), [&server] {
      std::printf("connections: %zu\n", server.connection_count());
      std::fflush(stdout);
    });
    std::printf("echo_server listening on %s (mode=actors loops=%zu backend=%s codec=%s%s)\n",
                server.local_address().to_string().c_str(), server.reactor().loops().size(),
                fastnet::to_string(server.reactor().loops().loop(0).kind()), codec.c_str(),
                reuseport ? " reuseport" : "");
    if (auto m = metrics_flags::listening_line(server.reactor()); !m.empty())
      std::printf("echo_server %s\n", m.c_str());
    std::fflush(stdout);
    const int sig = stop.wait();
    std::printf("echo_server: %s, stopping (%zu connections)\n", fastnet::stop_signals::name(sig),
                server.connection_count());
    std::fflush(stdout);
    server.stop();
  }
  std::printf("echo_server: stopped\n");
  return 0;
}
