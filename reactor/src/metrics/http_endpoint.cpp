#include "http_endpoint.hpp"

#include <string_view>

#include "../connection_impl.hpp"
#include "fastnet/codecs/delimiter_codec.hpp"
#include "fastnet/protocol.hpp"

namespace fastnet::detail {
namespace {

std::string response(std::string_view status, std::string_view type, std::string_view body,
                     std::string_view extra_header = {}) {
  std::string r;
  r.reserve(160 + body.size());
  r.append("HTTP/1.1 ").append(status).append("\r\nContent-Type: ").append(type);
  r.append("\r\nContent-Length: ").append(std::to_string(body.size()));
  r.append("\r\nConnection: close\r\n").append(extra_header).append("\r\n").append(body);
  return r;
}

std::string error(std::string_view status, std::string_view extra_header = {}) {
  std::string body(status);
  body.push_back('\n');
  return response(status, "text/plain; charset=utf-8", body, extra_header);
}

/// One connection's request: its head cut by "\r\n\r\n", answered once.
/// Thread safety: the connection's loop thread.
class metrics_protocol final : public protocol {
 public:
  metrics_protocol(size_t max_request, const http_endpoint::scrape_fn& scrape)
      : head_("\r\n\r\n", max_request), scrape_(scrape) {}

  codec& framing() override { return head_; }

  protocol_step on_frame(const decode_result& frame) override {
    const std::string_view head(reinterpret_cast<const char*>(frame.frame.data()),
                                frame.frame.size());
    answer_ = answer(head.substr(0, head.find("\r\n")));
    protocol_step step;
    step.reply = std::as_bytes(std::span(answer_));
    step.then = protocol_step::next::finished;  // close once the answer is out
    return step;
  }

  std::span<const std::byte> farewell(close_reason why) override {
    // The head broke the framing (too long): say so, unless answered.
    if (why != close_reason::protocol_error || !answer_.empty()) return {};
    answer_ = error("431 Request Header Fields Too Large");
    return std::as_bytes(std::span(answer_));
  }

  const char* name() const override { return "metrics-http"; }

 private:
  std::string answer(std::string_view line) const {
    // METHOD SP TARGET SP HTTP/1.x
    const size_t sp1 = line.find(' ');
    const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos || !line.substr(sp2 + 1).starts_with("HTTP/1."))
      return error("400 Bad Request");
    const std::string_view method = line.substr(0, sp1);
    std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    target = target.substr(0, target.find('?'));
    if (target != "/metrics") return error("404 Not Found");
    if (method != "GET") return error("405 Method Not Allowed", "Allow: GET\r\n");
    return response("200 OK", "text/plain; version=0.0.4; charset=utf-8", scrape_());
  }

  delimiter_codec head_;
  const http_endpoint::scrape_fn& scrape_;  // the factory's, which outlives every request
  std::string answer_;
};

}  // namespace

/// What the endpoint's connections share; tells the endpoint when one closes.
class http_endpoint::owner final : public connection_owner {
 public:
  owner(http_endpoint& e, event_loop& loop, const connection_options& copts,
        const metrics_options& mopts, scrape_fn scrape)
      : connection_owner(loop, copts, {}, make_protocols(mopts.max_request, std::move(scrape)), {}),
        endpoint(&e) {}
  void connection_closed(connection_impl& c) override {
    if (endpoint != nullptr) endpoint->closed(c);
  }
  http_endpoint* endpoint;  // null once the endpoint is gone

 private:
  /// The factory owns the scrape function, and the owner (which every
  /// connection keeps alive) owns the factory: a protocol's reference to it
  /// stays valid for the protocol's life.
  static protocol_factory make_protocols(size_t max_request, scrape_fn scrape) {
    return [max_request, scrape = std::move(scrape)] {
      return std::make_unique<metrics_protocol>(max_request, scrape);
    };
  }
};

namespace {
connection_options endpoint_connection_options(const metrics_options& o) {
  connection_options c;
  // A slow or stalled request (and a scraper that never reads) is cut off.
  c.frame_timeout = o.request_timeout;
  c.idle_timeout = o.request_timeout;
  c.close_linger = o.request_timeout;
  return c;
}
}  // namespace

http_endpoint::http_endpoint(event_loop& loop, unique_fd listener, const metrics_options& opts,
                             scrape_fn scrape)
    : owner_(std::make_unique<owner>(*this, loop, endpoint_connection_options(opts), opts,
                                     std::move(scrape))) {
  acceptor_ = std::make_unique<acceptor>(
      loop, std::move(listener),
      [this](unique_fd fd, const socket_address& peer) { on_accept(std::move(fd), peer); });
}

http_endpoint::~http_endpoint() {
  acceptor_.reset();
  static_cast<owner&>(*owner_).endpoint = nullptr;
  auto open = std::move(connections_);
  for (auto& c : open)
    c->abort();
}

void http_endpoint::on_accept(unique_fd fd, const socket_address& peer) {
  auto c = std::make_shared<connection_impl>(owner_, std::move(fd), next_id_++, peer, handler_);
  c->set_owner_slot(static_cast<uint32_t>(connections_.size()));
  connections_.push_back(c);
  c->start();
}

void http_endpoint::closed(connection_impl& c) {
  const uint32_t slot = c.owner_slot();
  if (slot != connections_.size() - 1) {
    connections_[slot] = std::move(connections_.back());
    impl_of(*connections_[slot]).set_owner_slot(slot);
  }
  connections_.pop_back();
}

}  // namespace fastnet::detail
