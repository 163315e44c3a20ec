// Builds against an installed fastnet::ws: a WebSocket server (codec by name)
// answers an opening handshake from a plain blocking socket with the key of
// RFC 6455's example. Prints "consumer ws ok" on success.
#include <fastnet/fastnet.hpp>
#include <fastnet/ws.hpp>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <string>

namespace {
class ignore final : public fastnet::tcp_handler {
 public:
  void on_message(const fastnet::connection_ptr&, std::span<const std::byte>) override {}
};
}  // namespace

int main() {
  ignore handler;
  fastnet::tcp_server_options opts;
  opts.address = *fastnet::socket_address::ip("127.0.0.1", 0);
  opts.loops = 1;
  opts.protocol = fastnet::ws::make_layers("websocket", 1024)->protocol;
  fastnet::tcp_server server(opts, handler);
  server.start();
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  auto addr = server.local_address();
  if (::connect(fd, addr.data(), addr.size()) != 0) return 1;
  std::string request =
      "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
  if (::write(fd, request.data(), request.size()) != static_cast<ssize_t>(request.size())) return 1;
  std::string head;
  char c = 0;
  while (!head.ends_with("\r\n\r\n") && head.size() < 4096 && ::read(fd, &c, 1) == 1)
    head.push_back(c);
  ::close(fd);
  server.stop();
  // The accept key is SHA-1 and base64 from libcrypto: the private link worked.
  if (head.rfind("HTTP/1.1 101", 0) != 0 ||
      head.find("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n") == std::string::npos)
    return 1;
  std::puts("consumer ws ok");
  return 0;
}
