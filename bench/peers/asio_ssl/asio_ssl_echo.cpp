// asio_ssl_echo — TLS echo server peer for fastnet's benchmarks: asio_echo
// (bench/peers/asio) with boost::asio::ssl::stream, written as an experienced
// Asio user writes one: one io_context per thread (concurrency hint 1), each
// thread with its own SO_REUSEPORT acceptor so no connection crosses threads,
// and per connection async_handshake, then async_read_some -> async_write ->
// async_read_some over a small inline buffer; the peer's close_notify is
// answered with async_shutdown. One ssl::context for all threads, as Asio's
// examples have it, configured the usual way: TLS 1.2 and up (a client
// offering 1.3 gets 1.3), OpenSSL's defaults otherwise (two session tickets
// per TLS 1.3 handshake; Asio's engine releases idle record buffers). Echoes
// raw bytes, prints a line containing "listening" when ready, exits on
// SIGINT/SIGTERM.
//
//   asio_ssl_echo --port P --cert FILE --key FILE [--threads N] [--host 127.0.0.1]
//
// Header-only Boost.Asio (Debian's libboost-dev) and OpenSSL 3 (libssl-dev);
// builds with g++ -std=c++20 -O2 asio_ssl_echo.cpp -lssl -lcrypto -pthread.

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
#include <boost/asio/ssl.hpp>

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using asio::ip::tcp;

namespace {

// Same size as asio_echo's and the Go peers' buffers.
constexpr std::size_t buffer_bytes = 4096;

using reuse_port = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

class session : public std::enable_shared_from_this<session> {
 public:
  session(tcp::socket socket, ssl::context& tls) : stream_(std::move(socket), tls) {}

  void start() {
    stream_.async_handshake(ssl::stream_base::server,
                            [self = shared_from_this()](boost::system::error_code ec) {
                              if (!ec) self->read();
                            });
  }

 private:
  void read() {
    stream_.async_read_some(
        asio::buffer(buffer_),
        [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
          if (!ec) return self->write(n);
          // The peer's close_notify: answer it, as a well-behaved server does.
          // Anything else (a reset, a cut stream) just drops the session.
          if (ec == asio::error::eof) self->stream_.async_shutdown([self](auto) {});
        });
  }

  void write(std::size_t n) {
    asio::async_write(stream_, asio::buffer(buffer_, n),
                      [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                        if (!ec) self->read();
                      });
  }

  ssl::stream<tcp::socket> stream_;
  std::array<char, buffer_bytes> buffer_;
};

class server {
 public:
  server(asio::io_context& io, const tcp::endpoint& endpoint, ssl::context& tls)
      : acceptor_(io), tls_(tls) {
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
        std::make_shared<session>(std::move(socket), tls_)->start();
      }
      // Other errors (EMFILE, ECONNABORTED) concern one attempt: keep accepting.
      accept();
    });
  }

  tcp::acceptor acceptor_;
  ssl::context& tls_;
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
  std::fprintf(stderr,
               "usage: asio_ssl_echo --port P --cert FILE --key FILE [--threads N] [--host A]\n");
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
  std::string cert;
  std::string key;
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
    } else if (flag == "--cert") {
      cert = std::string(value);
    } else if (flag == "--key") {
      key = std::string(value);
    } else {
      usage();
    }
  }
  if (port == 0 || cert.empty() || key.empty()) usage();
  raise_fd_limit();

  try {
    ssl::context tls(ssl::context::tls_server);
    tls.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                    ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    tls.use_certificate_chain_file(cert);
    tls.use_private_key_file(key, ssl::context::pem);

    const tcp::endpoint endpoint(asio::ip::make_address(host), static_cast<unsigned short>(port));
    // One io_context, one acceptor per thread: connections stay on the thread
    // that accepted them, so there is no hand-off and no lock on the hot path.
    std::vector<std::unique_ptr<asio::io_context>> contexts;
    std::vector<std::unique_ptr<server>> servers;
    for (unsigned t = 0; t < threads; ++t) {
      contexts.push_back(std::make_unique<asio::io_context>(1));
      servers.push_back(std::make_unique<server>(*contexts.back(), endpoint, tls));
      servers.back()->start();
    }

    asio::signal_set signals(*contexts.front(), SIGINT, SIGTERM);
    signals.async_wait([&](boost::system::error_code, int sig) {
      std::printf("asio_ssl_echo stopping (signal %d)\n", sig);
      std::fflush(stdout);
      // Closing an acceptor must happen on its own io_context's thread.
      for (unsigned t = 0; t < threads; ++t) {
        asio::post(*contexts[t], [&, t] {
          servers[t]->stop();
          contexts[t]->stop();  // drops the sessions: every connection closes
        });
      }
    });

    std::printf("asio_ssl_echo listening on %s:%u (threads=%u, Boost %d.%d, %s)\n", host.c_str(),
                port, threads, BOOST_VERSION / 100000, BOOST_VERSION / 100 % 1000,
                OpenSSL_version(OPENSSL_VERSION));
    std::fflush(stdout);

    std::vector<std::thread> pool;
    for (unsigned t = 1; t < threads; ++t) {
      pool.emplace_back([&io = *contexts[t]] { io.run(); });
    }
    contexts.front()->run();
    for (std::thread& th : pool)
      th.join();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "asio_ssl_echo: %s\n", e.what());
    return 1;
  }
  return 0;
}
