// fastnet::actors node helpers that need no network: the static peer list
// from flags ("host:port,...") and from a file.
#include <catch2/catch.hpp>
#include <fastnet/actors/node.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

using namespace fastnet::actors;

TEST_CASE("node: parse_endpoint takes host:port and refuses the rest", "[node]") {
  auto ep = parse_endpoint("127.0.0.1:7001");
  REQUIRE(ep);
  CHECK(ep->host == "127.0.0.1");
  CHECK(ep->port == 7001);
  CHECK(ep->to_string() == "127.0.0.1:7001");
  CHECK(parse_endpoint("worker-3.example:65535") == endpoint{"worker-3.example", 65535});
  CHECK(parse_endpoint("[::1]:80") == endpoint{"[::1]", 80});  // the last ':' splits
  for (const char* bad :
       {"", "host", "host:", ":80", "host:0", "host:65536", "host:8x", "host:-1", "host: 80"}) {
    INFO(bad);
    CHECK_FALSE(parse_endpoint(bad));
  }
}

TEST_CASE("node: parse_endpoints takes a comma-separated list, in order", "[node]") {
  auto list = parse_endpoints("a:1,b:2,c:3");
  REQUIRE(list);
  REQUIRE(list->size() == 3);
  CHECK((*list)[0] == endpoint{"a", 1});
  CHECK((*list)[2] == endpoint{"c", 3});
  CHECK(parse_endpoints("a:1")->size() == 1);
  for (const char* bad : {"", ",", "a:1,", ",a:1", "a:1,,b:2", "a:1,b"}) {
    INFO(bad);
    CHECK_FALSE(parse_endpoints(bad));
  }
}

TEST_CASE("node: read_endpoints_file skips blanks and comments, refuses bad lines", "[node]") {
  char path[] = "/tmp/fastnet_node_testXXXXXX";
  int fd = ::mkstemp(path);
  REQUIRE(fd >= 0);
  std::string text = "# workers\n  127.0.0.1:7001  \r\n\n\t# another\n127.0.0.1:7002\n";
  REQUIRE(::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
  ::close(fd);
  auto list = read_endpoints_file(path);
  REQUIRE(list);
  CHECK(*list == std::vector<endpoint>{{"127.0.0.1", 7001}, {"127.0.0.1", 7002}});

  fd = ::open(path, O_WRONLY | O_TRUNC);
  REQUIRE(fd >= 0);
  text = "127.0.0.1:7001\nnot an endpoint\n";
  REQUIRE(::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
  ::close(fd);
  CHECK_FALSE(read_endpoints_file(path));
  ::unlink(path);
  CHECK_FALSE(read_endpoints_file(path));  // gone
}
