// caf_broker_echo — echo server peer for fastnet's benchmarks on CAF 0.17's
// own networking: one io::broker owns the acceptor and every connection, the
// way CAF's simple_http_broker example serves many clients from one broker
// (a broker per connection via fork() would add an actor, a mailbox and a
// scheduling per connection for no gain in an echo). Echoes raw bytes,
// prints a line containing "listening" when ready, exits on SIGINT/SIGTERM.
//
//   caf_broker_echo --port P [--threads N] [--host 127.0.0.1]
//
// Brokers run on the middleman's single multiplexer thread whatever the
// thread count; --threads sizes CAF's scheduler (which an echo barely uses).
// Builds against Debian's libcaf-dev: g++ -std=c++20 -O2 ... -lcaf_io -lcaf_core -pthread.

#include <sys/resource.h>

#include <charconv>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

namespace {

using listen_atom = caf::atom_constant<caf::atom("listen")>;

// Same read size as the Go and Asio peers: the scribe's receive buffer is
// this large while a connection is open.
constexpr size_t buffer_bytes = 4096;

caf::behavior echo_broker(caf::io::broker* self) {
  return {
      [=](listen_atom, const std::string& host, uint16_t port) -> caf::result<uint16_t> {
        // reuse_addr so a restart right after a run is not refused by TIME_WAIT.
        auto opened = self->add_tcp_doorman(port, host.c_str(), true);
        if (!opened) return std::move(opened.error());
        return opened->second;
      },
      [=](const caf::io::new_connection_msg& msg) {
        self->configure_read(msg.handle, caf::io::receive_policy::at_most(buffer_bytes));
      },
      [=](const caf::io::new_data_msg& msg) {
        // write() appends to the scribe's output buffer; the input buffer
        // stays with the scribe, which reuses it for the next read.
        self->write(msg.handle, msg.buf.size(), msg.buf.data());
        self->flush(msg.handle);
      },
      [](const caf::io::connection_closed_msg&) {
        // The scribe is gone already; nothing is kept per connection.
      },
      [](const caf::io::acceptor_closed_msg&) {},
  };
}

bool parse_uint(std::string_view text, unsigned min, unsigned max, unsigned& out) {
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value < min || value > max) {
    return false;
  }
  out = value;
  return true;
}

[[noreturn]] void usage() {
  std::fprintf(stderr, "usage: caf_broker_echo --port P [--threads N] [--host A]\n");
  std::exit(2);
}

/// Many idle connections need many descriptors; take what the hard limit allows.
void raise_fd_limit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string host = "127.0.0.1";
  unsigned port = 0;
  unsigned threads = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (i + 1 >= argc) usage();
    const std::string_view value = argv[++i];
    if (flag == "--port") {
      if (!parse_uint(value, 1, 65535, port)) usage();
    } else if (flag == "--threads") {
      if (!parse_uint(value, 1, 256, threads)) usage();
    } else if (flag == "--host") {
      host = std::string(value);
    } else {
      usage();
    }
  }
  if (port == 0) usage();
  raise_fd_limit();

  // Block the stop signals before CAF starts its threads (they inherit the
  // mask), so only sigwait below ever sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  caf::actor_system_config cfg;
  cfg.load<caf::io::middleman>();
  // CAF's defaults (work stealing, 4 workers) poll and sleep between sparse
  // messages and oversubscribe a 2-core machine; sharing with one worker per
  // thread asked for does not. BASP workers serve remoting only: none.
  cfg.set("scheduler.policy", caf::atom("sharing"));
  cfg.set("scheduler.max-threads", size_t{threads});
  cfg.set("middleman.workers", size_t{0});
  caf::actor_system sys{cfg};

  const caf::actor broker = sys.middleman().spawn_broker(echo_broker);
  bool listening = false;
  {
    caf::scoped_actor self{sys};
    self->request(broker, caf::infinite, listen_atom::value, host, static_cast<uint16_t>(port))
        .receive(
            [&](uint16_t bound) {
              std::printf(
                  "caf_broker_echo listening on %s:%u (CAF %d.%d.%d, scheduler threads=%u)\n",
                  host.c_str(), bound, CAF_VERSION / 10000, CAF_VERSION / 100 % 100,
                  CAF_VERSION % 100, threads);
              std::fflush(stdout);
              listening = true;
            },
            [&](const caf::error& err) {
              std::fprintf(stderr, "caf_broker_echo: cannot listen on %s:%u: %s\n", host.c_str(),
                           port, sys.render(err).c_str());
            });
  }

  int status = 1;
  if (listening) {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    std::printf("caf_broker_echo stopping (signal %d)\n", sig);
    std::fflush(stdout);
    status = 0;
  }
  // The broker closes its acceptor and every connection when it exits;
  // ~actor_system then returns because no actor is left.
  caf::anon_send_exit(broker, caf::exit_reason::user_shutdown);
  return status;
}
