// asio_echo — echo server peer for fastnet's benchmarks, written the way an
// experienced Boost.Asio user writes a fast one: one io_context per thread
// (concurrency hint 1, so Asio skips its internal locking), each thread with
// its own SO_REUSEPORT acceptor so the kernel spreads connections and no
// connection ever crosses threads, and per connection a small inline buffer
// with async_read_some -> async_write -> async_read_some. Echoes raw bytes,
// prints a line containing "listening" when ready, exits on SIGINT/SIGTERM.
//
//   asio_echo --port P [--threads N] [--host 127.0.0.1]
//
// Header-only Boost.Asio (Debian's libboost-dev); builds with
// g++ -std=c++20 -O2 asio_echo.cpp -pthread.

#include <sys/resource.h>

#include <array>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio.hpp>

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

// 16 KiB, as the Go peer's: what an expert gives a stream socket (the size
// of a TLS record and of most frameworks' read buffers). With 4 KiB a 64 KiB
// message took 16 reads and as many async_write_some round trips, which made
// the stream rows measure the buffer, not Asio (132 µs of server CPU per
// 64 KiB message here, against 21 µs with 16 KiB). An idle connection pays
// for it in memory.
constexpr std::size_t buffer_bytes = 16384;

using reuse_port = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

class session : public std::enable_shared_from_this<session> {
 public:
  explicit session(tcp::socket socket) : socket_(std::move(socket)) {}

  void start() { read(); }

 private:
  void read() {
    socket_.async_read_some(
        asio::buffer(buffer_),
        [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
          if (!ec) self->write(n);
        });
  }

  void write(std::size_t n) {
    asio::async_write(socket_, asio::buffer(buffer_, n),
                      [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                        if (!ec) self->read();
                      });
  }

  tcp::socket socket_;
  std::array<char, buffer_bytes> buffer_;
};

class server {
 public:
  server(asio::io_context& io, const tcp::endpoint& endpoint) : acceptor_(io) {
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.set_option(reuse_port(true));
    acceptor_.bind(endpoint);
    acceptor_.listen(asio::socket_base::max_listen_connections);
  }

  void start() { accept(); }
  void stop() { acceptor_.close(); }

 private:
  void accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted) return;  // stopped
      if (!ec) {
        socket.set_option(tcp::no_delay(true));
        std::make_shared<session>(std::move(socket))->start();
      }
      // Other errors (EMFILE, ECONNABORTED) concern one attempt: keep accepting.
      accept();
    });
  }

  tcp::acceptor acceptor_;
};

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
  std::fprintf(stderr, "usage: asio_echo --port P [--threads N] [--host A]\n");
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

  try {
    const tcp::endpoint endpoint(asio::ip::make_address(host), static_cast<unsigned short>(port));
    // One io_context, one acceptor per thread: connections stay on the thread
    // that accepted them, so there is no hand-off and no lock on the hot path.
    std::vector<std::unique_ptr<asio::io_context>> contexts;
    std::vector<std::unique_ptr<server>> servers;
    for (unsigned t = 0; t < threads; ++t) {
      contexts.push_back(std::make_unique<asio::io_context>(1));
      servers.push_back(std::make_unique<server>(*contexts.back(), endpoint));
      servers.back()->start();
    }

    asio::signal_set signals(*contexts.front(), SIGINT, SIGTERM);
    signals.async_wait([&](boost::system::error_code, int sig) {
      std::printf("asio_echo stopping (signal %d)\n", sig);
      std::fflush(stdout);
      // Closing an acceptor must happen on its own io_context's thread.
      for (unsigned t = 0; t < threads; ++t) {
        asio::post(*contexts[t], [&, t] {
          servers[t]->stop();
          contexts[t]->stop();  // drops the sessions: every connection closes
        });
      }
    });

    std::printf("asio_echo listening on %s:%u (threads=%u, Boost %d.%d)\n", host.c_str(), port,
                threads, BOOST_VERSION / 100000, BOOST_VERSION / 100 % 1000);
    std::fflush(stdout);

    std::vector<std::thread> pool;
    for (unsigned t = 1; t < threads; ++t) {
      pool.emplace_back([&io = *contexts[t]] { io.run(); });
    }
    contexts.front()->run();
    for (std::thread& th : pool)
      th.join();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "asio_echo: %s\n", e.what());
    return 1;
  }
  return 0;
}
