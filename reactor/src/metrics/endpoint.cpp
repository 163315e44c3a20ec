#include "fastnet/metrics/endpoint.hpp"

#include <stdexcept>
#include <thread>

#include "fastnet/event_loop.hpp"
#include "fastnet/metrics/registry.hpp"
#include "fastnet/socket.hpp"
#include "http_endpoint.hpp"

namespace fastnet::metrics {

struct endpoint::impl {
  event_loop loop;
  socket_address bound;
  std::unique_ptr<detail::http_endpoint> http;  // loop thread
  std::thread thread;
};

endpoint::endpoint(const metrics_options& opts) : impl_(std::make_unique<impl>()) {
  if (!opts.address) throw std::invalid_argument("metrics::endpoint: no address");
  if (!opts.registry) throw std::invalid_argument("metrics::endpoint: no registry");
  auto listener = sockets::listen(*opts.address, socket_options{}, 64);
  impl_->bound = sockets::local_address(listener.get());
  // Made on the loop thread, as an http_endpoint must be; the loop runs the
  // task first thing.
  auto fd = std::make_shared<unique_fd>(std::move(listener));
  impl_->loop.queue_in_loop([p = impl_.get(), fd, opts, reg = opts.registry] {
    p->http = std::make_unique<detail::http_endpoint>(p->loop, std::move(*fd), opts,
                                                      [reg] { return reg->scrape(); });
  });
  impl_->thread = std::thread([p = impl_.get()] { p->loop.run(); });
}

endpoint::~endpoint() {
  impl_->loop.queue_in_loop([p = impl_.get()] {
    p->http.reset();
    p->loop.quit();
  });
  impl_->thread.join();
}

socket_address endpoint::address() const {
  return impl_->bound;
}

}  // namespace fastnet::metrics
