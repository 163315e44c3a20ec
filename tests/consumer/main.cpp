// Starts an installed fastnet echo server and echoes one line through it
// with a plain blocking socket. Prints "consumer ok" on success.
#include <fastnet/fastnet.hpp>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <string>

namespace {
class echo final : public fastnet::tcp_handler {
 public:
  void on_message(const fastnet::connection_ptr& c, std::span<const std::byte> f) override {
    c->send(f);
  }
};
}  // namespace

int main() {
  echo handler;
  fastnet::tcp_server_options opts;
  opts.address = *fastnet::socket_address::ip("127.0.0.1", 0);
  opts.loops = 1;
  opts.codec = *fastnet::make_codec_factory("line", 1024);
  fastnet::tcp_server server(opts, handler);
  server.start();
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  auto addr = server.local_address();
  if (::connect(fd, addr.data(), addr.size()) != 0) return 1;
  std::string msg = "hello fastnet\n";
  if (::write(fd, msg.data(), msg.size()) != static_cast<ssize_t>(msg.size())) return 1;
  std::string got;
  char c = 0;
  while (got.size() < msg.size() && ::read(fd, &c, 1) == 1)
    got.push_back(c);
  ::close(fd);
  server.stop();
  if (got != msg) return 1;
  std::puts("consumer ok");
  return 0;
}
