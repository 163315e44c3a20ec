// The STARTTLS example's protocol (see starttls_server.cpp), shared with
// tests/starttls_test.cpp.
#pragma once

#include <fastnet/fastnet.hpp>
#include <fastnet/tls/context.hpp>

#include <memory>
#include <string>
#include <string_view>

namespace starttls {

/// The same line protocol for a consumer that answers later than the loop
/// reads (an actor): every line goes up as a frame, and a STARTTLS line
/// holds the bytes behind it (protocol_step::next::hold), so a ClientHello
/// sent in the same write waits for the consumer's upgrade_transport()
/// instead of being cut into lines. A consumer that refuses STARTTLS calls
/// resume_reading(). (session_handler below needs no hold: it upgrades
/// inside on_message, before the loop decodes on.)
/// Thread safety: the connection's loop thread, like any protocol.
class line_protocol final : public fastnet::protocol {
 public:
  line_protocol() : lines_((*fastnet::make_codec_factory("line", 1024))()) {}

  fastnet::codec& framing() override { return *lines_; }

  fastnet::protocol_step on_frame(const fastnet::decode_result& frame) override {
    fastnet::protocol_step step;
    step.deliver = true;
    step.kind = frame.kind;
    step.payload = frame.frame;
    const std::string_view line(reinterpret_cast<const char*>(frame.frame.data()),
                                frame.frame.size());
    if (line == "STARTTLS") step.then = fastnet::protocol_step::next::hold;
    return step;
  }

  const char* name() const override { return "starttls-lines"; }

 private:
  std::unique_ptr<fastnet::codec> lines_;
};

/// Answers each line; STARTTLS switches the connection to TLS when the
/// server has a context (`tls`, may be null: STARTTLS is then refused).
/// Thread safety: callbacks on the loop threads, like any tcp_handler.
class session_handler final : public fastnet::tcp_handler {
 public:
  explicit session_handler(std::shared_ptr<fastnet::tls::context> tls) : tls_(std::move(tls)) {}

  void on_connect(const fastnet::connection_ptr& c) override { c->send("220 fastnet ready"); }

  void on_message(const fastnet::connection_ptr& c, std::span<const std::byte> frame) override {
    const std::string_view line(reinterpret_cast<const char*>(frame.data()), frame.size());
    const auto session = fastnet::tls::info(*c);
    if (line.starts_with("HELO ")) {
      c->send("250 hello " + std::string(line.substr(5)));
    } else if (line == "STARTTLS") {
      if (!tls_ || session) {
        c->send("454 TLS not available");
        c->resume_reading();  // ends line_protocol's hold, if that is the protocol
        return;
      }
      // The answer goes out in the clear, then TLS takes over the socket:
      // the client's handshake may already be behind this line.
      c->send("220 go ahead");
      c->upgrade_transport(tls_->make_transport());
    } else if (line == "SECURE?") {
      c->send(session ? "250 " + session->version + " " + session->cipher
                      : std::string("250 plain"));
    } else if (line == "QUIT") {
      c->send("221 bye");
      c->close();
    } else {
      c->send("500 unknown command");
    }
  }

 private:
  std::shared_ptr<fastnet::tls::context> tls_;
};

}  // namespace starttls
