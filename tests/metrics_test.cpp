// fastnet::metrics: the Prometheus text exposition (escaping, values,
// families kept whole), the registry's counters, gauges and log-linear
// histograms, and a real server's statistics after a known load, checked
// line by line and by `promtool check metrics` (Debian's prometheus
// package, installed by scripts/setup.sh).
#include <catch2/catch.hpp>
#include <fastnet/fastnet.hpp>
#include <fastnet/metrics/endpoint.hpp>
#include <fastnet/metrics/registry.hpp>
#include <fastnet/metrics/server_metrics.hpp>

#include <string>
#include <vector>

#include "support/promtool.hpp"
#include "support/subprocess.hpp"
#include "support/test_socket.hpp"

using namespace fastnet;
using namespace fastnet::metrics;
using namespace fastnet::test;
using Catch::Matchers::Contains;

namespace {}  // namespace

TEST_CASE("exposition: HELP, TYPE and samples, escaped as the format says", "[unit][metrics]") {
  exposition out;
  out.begin("app_requests_total", metric_type::counter, "Requests \\ served\nso far.");
  out.sample("app_requests_total", {{"path", "/a\"b\\c\nd"}}, 3);
  out.begin("app_temperature", metric_type::gauge, "Degrees.");
  out.sample("app_temperature", {}, -1.5);
  // Back to the first family: its lines stay together.
  out.begin("app_requests_total", metric_type::counter, "ignored");
  out.sample("app_requests_total", {{"path", "/"}}, 1e20);
  CHECK(out.text() ==
        "# HELP app_requests_total Requests \\\\ served\\nso far.\n"
        "# TYPE app_requests_total counter\n"
        "app_requests_total{path=\"/a\\\"b\\\\c\\nd\"} 3\n"
        "app_requests_total{path=\"/\"} 1e+20\n"
        "# HELP app_temperature Degrees.\n"
        "# TYPE app_temperature gauge\n"
        "app_temperature -1.5\n");
}

TEST_CASE("exposition: values, and names the format forbids", "[unit][metrics]") {
  CHECK(exposition::format_value(0) == "0");
  CHECK(exposition::format_value(12345678) == "12345678");
  CHECK(exposition::format_value(0.1) == "0.1");
  CHECK(exposition::format_value(2e-6) == "2e-06");
  CHECK(exposition::format_value(1.0 / 0.0) == "+Inf");
  CHECK(exposition::format_value(-1.0 / 0.0) == "-Inf");
  CHECK(exposition::format_value(0.0 / 0.0) == "NaN");
  exposition out;
  CHECK_THROWS_AS(out.begin("1abc", metric_type::counter, ""), std::invalid_argument);
  CHECK_THROWS_AS(out.begin("a-b", metric_type::counter, ""), std::invalid_argument);
  CHECK_THROWS_AS(out.sample("a", {}, 1), std::invalid_argument);  // no family begun
  out.begin("ok:name_total", metric_type::counter, "");
  CHECK_THROWS_AS(out.sample("ok:name_total", {{"__reserved", "x"}}, 1), std::invalid_argument);
  CHECK_THROWS_AS(out.sample("ok:name_total", {{"bad-label", "x"}}, 1), std::invalid_argument);
  CHECK_THROWS_AS(out.sample("other", {}, 1), std::invalid_argument);  // outside its family
}

TEST_CASE("log_linear_buckets: 1, 2, 5 per decade, covering both ends", "[unit][metrics]") {
  CHECK(log_linear_buckets(1e-6, 1e-3) ==
        std::vector<double>{1e-6, 2e-6, 5e-6, 1e-5, 2e-5, 5e-5, 1e-4, 2e-4, 5e-4, 1e-3});
  CHECK(log_linear_buckets(3, 40) == std::vector<double>{5, 10, 20, 50});
  CHECK_THROWS_AS(log_linear_buckets(0, 1), std::invalid_argument);
  CHECK_THROWS_AS(log_linear_buckets(2, 1), std::invalid_argument);
}

TEST_CASE("registry: counters, gauges and histograms in one valid scrape", "[unit][metrics]") {
  registry r;
  auto& served = r.make_counter("app_served_total", "Requests served.", {{"kind", "get"}});
  auto& posted = r.make_counter("app_served_total", "Requests served.", {{"kind", "post"}});
  auto& depth = r.make_gauge("app_depth", "Queue depth.");
  auto& latency =
      r.make_histogram("app_latency_seconds", "Time to answer.", log_linear_buckets(0.001, 0.1));
  served.add(2);
  posted.add();
  posted.add(-5);  // ignored: counters do not go down
  depth.set(7);
  depth.add(-2);
  for (double v : {0.0005, 0.001, 0.003, 0.05, 7.0})
    latency.observe(v);
  CHECK(latency.count() == 5);
  CHECK_THROWS_AS(r.make_gauge("app_served_total", "x"), std::invalid_argument);
  CHECK_THROWS_AS(r.make_histogram("app_h", "x", {2, 1}), std::invalid_argument);
  const std::string text = r.scrape();
  INFO(text);
  CHECK_THAT(text, Contains("app_served_total{kind=\"get\"} 2\n"));
  CHECK_THAT(text, Contains("app_served_total{kind=\"post\"} 1\n"));
  CHECK_THAT(text, Contains("app_depth 5\n"));
  // Cumulative: 0.0005 and 0.001 are <= 0.001; 0.003 <= 0.005; 0.05 <= 0.05.
  CHECK_THAT(text, Contains("app_latency_seconds_bucket{le=\"0.001\"} 2\n"
                            "app_latency_seconds_bucket{le=\"0.002\"} 2\n"
                            "app_latency_seconds_bucket{le=\"0.005\"} 3\n"
                            "app_latency_seconds_bucket{le=\"0.01\"} 3\n"
                            "app_latency_seconds_bucket{le=\"0.02\"} 3\n"
                            "app_latency_seconds_bucket{le=\"0.05\"} 4\n"
                            "app_latency_seconds_bucket{le=\"0.1\"} 4\n"
                            "app_latency_seconds_bucket{le=\"+Inf\"} 5\n"));
  CHECK_THAT(text, Contains("app_latency_seconds_count 5\n"));
  check_promtool(text);
}

TEST_CASE("a server's statistics scraped after a known load: exact and valid", "[metrics]") {
  struct line_echo final : tcp_handler {
    void on_message(const connection_ptr& c, std::span<const std::byte> f) override { c->send(f); }
    void on_close(const connection_ptr&, close_reason) override { closes.add(); }
    waitable_counter closes;
  } handler;
  tcp_server_options o;
  o.address = *socket_address::ip("127.0.0.1", 0);
  o.loops = 1;
  o.codec = *make_codec_factory("line", 1024);
  tcp_server server(o, handler);
  server.start();
  registry r;
  const auto id = watch(r, server, "echo");
  {
    auto c = client_socket::connect(server.local_address());
    std::string batch;
    for (int i = 0; i < 10; ++i)
      batch += "0123456789\n";  // 10 frames of 11 bytes
    REQUIRE(c.write_all(batch));
    REQUIRE(c.read_exact(batch.size()));
    c.shutdown_write();
    std::string rest;
    CHECK(c.read_to_end(rest) == end_kind::eof);
  }
  REQUIRE(handler.closes.wait_for_at_least(1));
  const std::string text = r.scrape();
  INFO(text);
  const std::string l = "{server=\"echo\",loop=\"0\"}";
  CHECK_THAT(text, Contains("fastnet_connections_accepted_total" + l + " 1\n"));
  CHECK_THAT(text, Contains("fastnet_connections_active" + l + " 0\n"));
  CHECK_THAT(text, Contains("fastnet_connections_closed_total{server=\"echo\",loop=\"0\",reason="
                            "\"peer_closed\"} 1\n"));
  // Traffic also by the codec the connections speak.
  const std::string t = "{server=\"echo\",loop=\"0\",protocol=\"line\"}";
  CHECK_THAT(text, Contains("fastnet_received_frames_total" + t + " 10\n"));
  CHECK_THAT(text, Contains("fastnet_sent_frames_total" + t + " 10\n"));
  CHECK_THAT(text, Contains("fastnet_received_bytes_total" + t + " 110\n"));
  CHECK_THAT(text, Contains("fastnet_sent_bytes_total" + t + " 110\n"));
  CHECK_THAT(text, Contains("fastnet_connections_refused_total{server=\"echo\"} 0\n"));
  check_promtool(text);
  r.remove_collector(id);
  CHECK(r.scrape().empty());
}

namespace {

struct echo_handler final : tcp_handler {
  void on_message(const connection_ptr& c, std::span<const std::byte> f) override { c->send(f); }
};

/// A line echo server with a /metrics endpoint on 127.0.0.1 and one
/// application counter in its registry.
struct served {
  explicit served(std::chrono::milliseconds request_timeout = std::chrono::seconds(5)) {
    tcp_server_options o;
    o.address = *socket_address::ip("127.0.0.1", 0);
    o.loops = 2;
    o.codec = *make_codec_factory("line", 1024);
    o.metrics.address = *socket_address::ip("127.0.0.1", 0);
    o.metrics.registry = reg;
    o.metrics.name = "echo";
    o.metrics.request_timeout = request_timeout;
    server = std::make_unique<tcp_server>(o, handler);
    server->start();
  }
  /// Sends `request` to the endpoint and reads until it closes.
  std::string ask(const std::string& request, end_kind* how = nullptr) {
    auto c = client_socket::connect(server->metrics_address());
    REQUIRE(c.write_all(request));
    std::string got;
    auto end = c.read_to_end(got);
    if (how != nullptr) *how = end;
    CHECK(end != end_kind::timeout);
    return got;
  }

  std::shared_ptr<registry> reg = std::make_shared<registry>();
  counter& jobs = reg->make_counter("app_jobs_total", "Jobs done.");
  echo_handler handler;
  std::unique_ptr<tcp_server> server;
};

}  // namespace

TEST_CASE("GET /metrics: the server's statistics and the registry, valid for promtool",
          "[metrics][endpoint]") {
  served s;
  s.jobs.add(3);
  auto c = client_socket::connect(s.server->local_address());
  REQUIRE(c.write_all("hello\n"));
  REQUIRE(c.read_exact(6));
  const std::string got = s.ask("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  INFO(got);
  REQUIRE(got.starts_with("HTTP/1.1 200 OK\r\n"));
  CHECK_THAT(got, Contains("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"));
  const size_t body_at = got.find("\r\n\r\n") + 4;
  const std::string body = got.substr(body_at);
  CHECK_THAT(got, Contains("Content-Length: " + std::to_string(body.size()) + "\r\n"));
  CHECK_THAT(body, Contains("app_jobs_total 3\n"));
  CHECK_THAT(body, Contains("fastnet_received_frames_total{server=\"echo\",loop=\""));
  check_promtool(body);
}

TEST_CASE("the /metrics endpoint answers bad requests with an error and closes only them",
          "[metrics][endpoint]") {
  served s(std::chrono::milliseconds(300));
  // A stalled request is held open meanwhile: it blocks no one.
  auto stalled = client_socket::connect(s.server->metrics_address());
  REQUIRE(stalled.write_all("GET /metr"));
  CHECK(s.ask("POST /metrics HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 405 Method Not Allowed"));
  CHECK(s.ask("GET /other HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 404 Not Found"));
  CHECK(s.ask("\x16\x03\x01 garbage\r\n\r\n").starts_with("HTTP/1.1 400 Bad Request"));
  CHECK(s.ask(std::string(9000, 'A')).starts_with("HTTP/1.1 431"));
  // The stalled one is closed at the request timeout, unanswered.
  std::string got;
  CHECK(stalled.read_to_end(got) != end_kind::timeout);
  CHECK(got.empty());
  // The endpoint and the server still serve.
  CHECK(s.ask("GET /metrics?x=1 HTTP/1.0\r\n\r\n").starts_with("HTTP/1.1 200 OK"));
  auto c = client_socket::connect(s.server->local_address());
  REQUIRE(c.write_all("still here\n"));
  CHECK(c.read_exact(11) == std::optional<std::string>("still here\n"));
  // Its own connections are not the server's.
  CHECK(eventually([&] { return s.server->stats().connections().accepted == 1; }));
}

TEST_CASE("stop() with a /metrics request half sent neither hangs nor leaks",
          "[metrics][endpoint]") {
  served s;
  auto stalled = client_socket::connect(s.server->metrics_address());
  REQUIRE(stalled.write_all("GET /metrics HTTP/1.1\r\n"));
  CHECK(s.ask("GET /metrics HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 200 OK"));
  s.server->stop();
  std::string got;
  CHECK(stalled.read_to_end(got) != end_kind::timeout);
}

TEST_CASE("metrics::endpoint serves a registry on a thread of its own, and stops",
          "[metrics][endpoint]") {
  auto reg = std::make_shared<registry>();
  reg->make_gauge("app_keys", "Keys held.").set(42);
  metrics_options o;
  o.address = *socket_address::ip("127.0.0.1", 0);
  o.registry = reg;
  socket_address where;
  {
    endpoint e(o);
    where = e.address();
    REQUIRE(where.port() != 0);
    auto ask = [&](const std::string& request) {
      auto c = client_socket::connect(where);
      REQUIRE(c.write_all(request));
      std::string got;
      CHECK(c.read_to_end(got) == end_kind::eof);
      return got;
    };
    const std::string got = ask("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    INFO(got);
    REQUIRE(got.starts_with("HTTP/1.1 200 OK\r\n"));
    const std::string body = got.substr(got.find("\r\n\r\n") + 4);
    CHECK(body == reg->scrape());
    CHECK_THAT(body, Contains("app_keys 42\n"));
    CHECK(ask("DELETE /metrics HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 405"));
    // A request left half-sent is reset when the endpoint goes.
    auto stalled = client_socket::connect(where);
    REQUIRE(stalled.write_all("GET /met"));
  }
  // Gone: nothing listens there any more.
  CHECK_THROWS(client_socket::connect(where));
  o.registry = nullptr;
  CHECK_THROWS_AS(endpoint(o), std::invalid_argument);
  o.registry = reg;
  o.address.reset();
  CHECK_THROWS_AS(endpoint(o), std::invalid_argument);
}
