// fastnet's TLS client (tcp_client + tls::context::client) against an
// independent TLS echo server (tests/interop/tls_server.mjs, node's tls):
// first a client that checks for a name the server's certificate lacks must
// refuse the handshake; then the real one, trusting only the test CA and
// checking the name, sends 1 B to 16 MiB and compares every echoed byte, and
// ends gracefully (close_notify, FIN). Exits 0 when every exchange matched.
//
//   tls_interop_client PORT CA_FILE SERVER_NAME
#include <fastnet/fastnet.hpp>
#include <fastnet/tls/context.hpp>

#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "../support/test_socket.hpp"

namespace {

using namespace std::chrono_literals;
// Bounds every wait, so a silent peer fails the run instead of hanging it.
constexpr auto wait_limit = 60s;

[[noreturn]] void fail(const std::string& why) {
  std::fprintf(stderr, "tls_interop_client: FAIL: %s\n", why.c_str());
  std::exit(1);
}

/// Collects what the connection delivers (the raw codec: any chunking) and
/// how it ended, for the main thread to wait on.
class collector final : public fastnet::tcp_handler {
 public:
  void on_connect(const fastnet::connection_ptr& conn) override {
    auto info = fastnet::tls::info(*conn);  // loop thread only: read it here
    std::lock_guard lock(mutex_);
    connected_ = true;
    if (info)
      summary_ = info->version + " " + info->cipher + ", peer \"" + info->peer_subject + "\"";
    cv_.notify_all();
  }
  void on_message(const fastnet::connection_ptr&, std::span<const std::byte> data) override {
    std::lock_guard lock(mutex_);
    received_.append(reinterpret_cast<const char*>(data.data()), data.size());
    cv_.notify_all();
  }
  void on_close(const fastnet::connection_ptr&, fastnet::close_reason why) override {
    std::lock_guard lock(mutex_);
    closed_ = why;
    cv_.notify_all();
  }
  void on_connect_failed(const fastnet::socket_address&, int error) override {
    std::lock_guard lock(mutex_);
    connect_error_ = error;
    cv_.notify_all();
  }

  /// True once connected; false when the attempt failed or the wait ran out.
  bool wait_connected() {
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, wait_limit, [&] { return connected_ || connect_error_; });
    return connected_;
  }
  std::optional<int> wait_connect_failed() {
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, wait_limit, [&] { return connected_ || connect_error_; });
    return connect_error_;
  }
  /// Takes exactly `size` received bytes, or fails when they do not come.
  std::string take(size_t size) {
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, wait_limit, [&] { return received_.size() >= size || closed_; });
    if (received_.size() < size)
      fail(std::to_string(received_.size()) + " of " + std::to_string(size) + " bytes came back" +
           (closed_ ? std::string(", then close: ") + fastnet::to_string(*closed_) : ""));
    std::string out = received_.substr(0, size);
    received_.erase(0, size);
    return out;
  }
  std::optional<fastnet::close_reason> wait_closed() {
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, wait_limit, [&] { return closed_.has_value(); });
    return closed_;
  }
  std::string summary() {
    std::lock_guard lock(mutex_);
    return summary_;
  }
  size_t unread() {
    std::lock_guard lock(mutex_);
    return received_.size();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::string received_;
  std::string summary_;
  bool connected_ = false;
  std::optional<int> connect_error_;
  std::optional<fastnet::close_reason> closed_;
};

fastnet::tcp_client_options client_options(uint16_t port, const std::string& ca_file,
                                           const std::string& server_name) {
  fastnet::tls::client_config cfg;
  cfg.ca_file = ca_file;  // only the test CA: not the system's store
  cfg.server_name = server_name;
  fastnet::tcp_client_options opts;
  opts.address = *fastnet::socket_address::ip("127.0.0.1", port);
  opts.max_attempts = 1;
  opts.transport = fastnet::tls::context::client(cfg)->transports();
  // An echo peer sends back while we still send: by default a connection
  // stops reading while its output is above the high water mark (4 MiB),
  // and with 16 MiB queued the peer, whose replies we no longer read,
  // would stop reading too. Our output is bounded by what we send.
  opts.connection.pause_reading_on_high_water = false;
  return opts;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: tls_interop_client PORT CA_FILE SERVER_NAME\n");
    return 2;
  }
  auto port = static_cast<uint16_t>(std::atoi(argv[1]));
  const std::string ca_file = argv[2];
  const std::string server_name = argv[3];
  fastnet::event_loop loop;
  std::thread loop_thread([&] { loop.run(); });
  {
    // The check must be real: a name the certificate lacks fails the
    // handshake, which is a failed attempt, never a connection.
    collector wrong;
    fastnet::tcp_client client(loop, client_options(port, ca_file, "not-this-server.example"),
                               wrong);
    client.connect();
    if (!wrong.wait_connect_failed()) fail("a certificate for another name was accepted");
    std::printf("ok another name refused\n");
  }
  {
    collector in;
    fastnet::tcp_client client(loop, client_options(port, ca_file, server_name), in);
    client.connect();
    if (!in.wait_connected()) fail("no TLS connection to " + server_name);
    std::printf("ok handshake %s\n", in.summary().c_str());
    auto conn = client.connection();
    if (!conn) fail("no connection after the handshake");
    uint32_t seed = 1;
    for (size_t size : {size_t{1}, size_t{2}, size_t{1000}, size_t{16384}, size_t{16385},
                        size_t{65537}, size_t{(1 << 20) + 7}, size_t{16 << 20}}) {
      // One send from this thread (queued to the loop) while the loop reads
      // the echo: 16 MiB never has to fit anywhere at once on either side.
      std::string payload = fastnet::test::random_bytes(size, seed++);
      if (!conn->send(std::string_view(payload))) fail("send refused at " + std::to_string(size));
      if (in.take(size) != payload) fail("echo " + std::to_string(size) + " B: bytes differ");
      std::printf("ok echo %zu B\n", size);
    }
    // Graceful end: close_notify and FIN after the flush; the server's
    // pipe ends its side in turn.
    client.disconnect();
    auto why = in.wait_closed();
    if (!why) fail("the connection did not end after disconnect()");
    if (*why != fastnet::close_reason::local_close && *why != fastnet::close_reason::peer_closed)
      fail(std::string("connection ended with ") + fastnet::to_string(*why));
    if (in.unread() != 0) fail(std::to_string(in.unread()) + " unexpected bytes");
    std::printf("ok closed (%s)\n", fastnet::to_string(*why));
  }
  loop.quit();
  loop_thread.join();
  std::printf("tls_interop_client: all exchanges verified\n");
  return 0;
}
