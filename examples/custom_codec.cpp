// custom_codec — a framing of your own: type(1) length(2, big-endian)
// payload. The codec cuts frames out of the byte stream on the loop thread;
// the handler sees whole frames and answers each with its own type.
//
//   custom_codec [--host 127.0.0.1] [--port 1833]
//   then: printf '\x07\x00\x02hi' | nc -N 127.0.0.1 1833 | od -c
#include <fastnet/fastnet.hpp>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include "listen_flags.hpp"

class tlv_codec final : public fastnet::codec {
 public:
  fastnet::decode_result decode(std::span<const std::byte> in) override {
    fastnet::decode_result r;  // need_more by default
    if (in.size() < 3) return r;
    size_t len = (size_t(in[1]) << 8) | size_t(in[2]);
    if (len > 4096) {  // check limits before waiting for bytes
      r.state = fastnet::decode_result::status::error;
      r.error = "frame too long";  // logged; the connection closes
      return r;
    }
    if (in.size() < 3 + len) return r;
    r.state = fastnet::decode_result::status::frame;
    r.kind = fastnet::frame_kind{uint8_t(in[0])};  // a kind of its own
    r.frame = in.subspan(3, len);                  // a view: nothing is copied
    r.consumed = 3 + len;
    return r;
  }
  void encode_as(std::span<const std::byte> payload, fastnet::frame_kind kind, fastnet::fragment,
                 fastnet::encoded_frame& out) override {
    out.head = {std::byte(kind), std::byte(payload.size() >> 8), std::byte(payload.size())};
    out.head_len = 3;
    out.body = payload;  // written by writev, never copied
  }
  bool shareable() const override { return true; }  // no state between calls
  const char* name() const override { return "tlv"; }
};

// Answers every frame with a frame of the same type.
class tlv_echo final : public fastnet::tcp_handler {
 public:
  void on_message(const fastnet::connection_ptr& conn, std::span<const std::byte> frame) override {
    conn->send(frame, conn->frame_kind());
  }
};

int main(int argc, char** argv) try {
  fastnet::stop_signals stop;
  listen_flags listen;
  CLI::App app{"echo over a type-length-value framing of its own"};
  listen.add_to(app);
  CLI11_PARSE(app, argc, argv);

  tlv_echo handler;
  fastnet::tcp_server_options opts;
  opts.address = listen.address();
  opts.codec = [] { return std::make_unique<tlv_codec>(); };
  fastnet::tcp_server server(opts, handler);
  server.start();
  std::printf("custom_codec listening on %s\n", server.local_address().to_string().c_str());
  std::fflush(stdout);
  int sig = stop.wait();
  std::printf("custom_codec: %s, stopping\n", fastnet::stop_signals::name(sig));
  server.stop();
} catch (const std::exception& e) {
  std::fprintf(stderr, "custom_codec: %s\n", e.what());
  return 1;
}
