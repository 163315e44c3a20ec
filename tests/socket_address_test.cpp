// Unit tests for fastnet::socket_address: parsing IPv4, IPv6 and Unix domain
// forms, rejecting malformed text (without name resolution), ip() and
// unix_path() builders, construction from a raw sockaddr, port()/host()/
// family(), to_string() round trips and equality.
#include <catch2/catch.hpp>

#include <fastnet/socket_address.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace {

using fastnet::socket_address;

socket_address must_parse(std::string_view text) {
  INFO("parsing \"" << std::string(text) << "\"");
  auto a = socket_address::parse(text);
  REQUIRE(a.has_value());
  return *a;
}

}  // namespace

TEST_CASE("a default address is unspecified", "[unit][socket_address]") {
  socket_address a;
  CHECK(a.family() == AF_UNSPEC);
  CHECK_FALSE(a.is_ip());
  CHECK(a.port() == 0);
  CHECK(a.host().empty());
  CHECK(a.size() == 0);
  CHECK(socket_address::capacity() == sizeof(sockaddr_storage));
}

TEST_CASE("parse IPv4 host:port", "[unit][socket_address]") {
  auto a = must_parse("127.0.0.1:80");
  CHECK(a.family() == AF_INET);
  CHECK(a.is_ip());
  CHECK(a.port() == 80);
  CHECK(a.host() == "127.0.0.1");
  CHECK(a.to_string() == "127.0.0.1:80");
  CHECK(a.size() == sizeof(sockaddr_in));
  // The raw sockaddr holds network byte order.
  const auto* in = reinterpret_cast<const sockaddr_in*>(a.data());
  CHECK(in->sin_port == htons(80));
  CHECK(in->sin_addr.s_addr == htonl(INADDR_LOOPBACK));

  CHECK(must_parse("0.0.0.0:0").port() == 0);
  CHECK(must_parse("255.255.255.255:65535").port() == 65535);
  CHECK(must_parse("10.1.2.3:8080").host() == "10.1.2.3");
}

TEST_CASE("parse \":port\" as IPv4 any", "[unit][socket_address]") {
  auto a = must_parse(":80");
  CHECK(a.family() == AF_INET);
  CHECK(a.port() == 80);
  CHECK(a.host() == "0.0.0.0");
  CHECK(a.to_string() == "0.0.0.0:80");
  const auto* in = reinterpret_cast<const sockaddr_in*>(a.data());
  CHECK(in->sin_addr.s_addr == htonl(INADDR_ANY));
  CHECK(a == must_parse("0.0.0.0:80"));
}

TEST_CASE("parse bracketed IPv6", "[unit][socket_address]") {
  auto a = must_parse("[::1]:8080");
  CHECK(a.family() == AF_INET6);
  CHECK(a.is_ip());
  CHECK(a.port() == 8080);
  CHECK(a.host() == "::1");
  CHECK(a.to_string() == "[::1]:8080");
  CHECK(a.size() == sizeof(sockaddr_in6));
  const auto* in6 = reinterpret_cast<const sockaddr_in6*>(a.data());
  CHECK(in6->sin6_port == htons(8080));
  CHECK(std::memcmp(&in6->sin6_addr, &in6addr_loopback, sizeof(in6_addr)) == 0);

  auto any = must_parse("[::]:443");
  CHECK(any.family() == AF_INET6);
  CHECK(any.host() == "::");
  CHECK(any.port() == 443);

  auto full = must_parse("[2001:db8:0:0:0:0:0:1]:9");
  CHECK(full.host() == "2001:db8::1");  // canonical form
  CHECK(full.to_string() == "[2001:db8::1]:9");
}

TEST_CASE("parse Unix domain paths", "[unit][socket_address]") {
  for (std::string_view text : {"unix:/tmp/x.sock", "/tmp/x.sock"}) {
    INFO("text " << std::string(text));
    auto a = must_parse(text);
    CHECK(a.family() == AF_UNIX);
    CHECK_FALSE(a.is_ip());
    CHECK(a.port() == 0);
    CHECK(a.host() == "/tmp/x.sock");
    CHECK(a.to_string() == "unix:/tmp/x.sock");
    const auto* un = reinterpret_cast<const sockaddr_un*>(a.data());
    CHECK(std::string(un->sun_path) == "/tmp/x.sock");
    CHECK(a.size() > offsetof(sockaddr_un, sun_path));
    CHECK(a.size() <= sizeof(sockaddr_un));
  }
  CHECK(must_parse("unix:/tmp/x.sock") == must_parse("/tmp/x.sock"));
}

TEST_CASE("parse rejects malformed text", "[unit][socket_address]") {
  const std::string_view bad[] = {
      "",               // empty
      "1.2.3.4",        // no port
      "1.2.3.4:",       // empty port
      "1.2.3.4:99999",  // port out of range
      "1.2.3.4:65536",  // port out of range
      "1.2.3.4:-1",     // negative port
      "1.2.3.4:80x",    // trailing garbage
      "1.2.3.4:x80",    // non-numeric port
      "1.2.3.4: 80",    // space
      "1.2.3:80",       // short IPv4
      "256.1.1.1:80",   // octet out of range
      "host:80",        // names are never resolved
      "localhost:80",   // names are never resolved
      "[::1",           // unterminated bracket
      "[::1]",          // no port
      "[::1]:",         // empty port
      "[::1]80",        // missing ':'
      "[::1]:70000",    // port out of range
      "[nothost]:80",   // not an IPv6 literal
      "::1:80",         // bare IPv6 needs brackets
      "unix:",          // empty path
      ":",              // nothing at all
  };
  for (auto text : bad) {
    INFO("text \"" << std::string(text) << "\"");
    CHECK_FALSE(socket_address::parse(text).has_value());
  }
}

TEST_CASE("ip() builds IPv4 and IPv6 addresses", "[unit][socket_address]") {
  auto v4 = socket_address::ip("192.168.0.7", 9000);
  REQUIRE(v4.has_value());
  CHECK(v4->family() == AF_INET);
  CHECK(v4->port() == 9000);
  CHECK(v4->host() == "192.168.0.7");

  auto v6 = socket_address::ip("fe80::1", 1);
  REQUIRE(v6.has_value());
  CHECK(v6->family() == AF_INET6);
  CHECK(v6->port() == 1);
  CHECK(v6->host() == "fe80::1");

  CHECK_FALSE(socket_address::ip("example.com", 80).has_value());
  CHECK_FALSE(socket_address::ip("", 80).has_value());
  CHECK_FALSE(socket_address::ip("1.2.3.4:80", 80).has_value());
  CHECK_FALSE(socket_address::ip("[::1]", 80).has_value());
}

TEST_CASE("unix_path() limits the length to 107 bytes", "[unit][socket_address]") {
  const std::string ok(107, 'p');
  auto a = socket_address::unix_path(ok);
  REQUIRE(a.has_value());
  CHECK(a->family() == AF_UNIX);
  CHECK(a->host() == ok);
  CHECK(a->to_string() == "unix:" + ok);
  CHECK_FALSE(socket_address::unix_path(std::string(108, 'p')).has_value());
  CHECK_FALSE(socket_address::unix_path("").has_value());
  CHECK_FALSE(socket_address::parse("unix:" + std::string(108, 'p')).has_value());
  CHECK(socket_address::parse("unix:" + ok).has_value());
}

TEST_CASE("construction from a raw sockaddr", "[unit][socket_address]") {
  SECTION("IPv4") {
    sockaddr_in in{};
    in.sin_family = AF_INET;
    in.sin_port = htons(5555);
    REQUIRE(inet_pton(AF_INET, "10.20.30.40", &in.sin_addr) == 1);
    socket_address a(reinterpret_cast<const sockaddr*>(&in), sizeof in);
    CHECK(a.family() == AF_INET);
    CHECK(a.port() == 5555);
    CHECK(a.host() == "10.20.30.40");
    CHECK(a.size() == sizeof in);
    CHECK(a == must_parse("10.20.30.40:5555"));
  }
  SECTION("IPv6") {
    sockaddr_in6 in6{};
    in6.sin6_family = AF_INET6;
    in6.sin6_port = htons(443);
    REQUIRE(inet_pton(AF_INET6, "2001:db8::42", &in6.sin6_addr) == 1);
    socket_address a(reinterpret_cast<const sockaddr*>(&in6), sizeof in6);
    CHECK(a.family() == AF_INET6);
    CHECK(a.port() == 443);
    CHECK(a.host() == "2001:db8::42");
    CHECK(a == must_parse("[2001:db8::42]:443"));
  }
  SECTION("Unix") {
    sockaddr_un un{};
    un.sun_family = AF_UNIX;
    std::strcpy(un.sun_path, "/run/fastnet.sock");
    const auto len =
        static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + std::strlen(un.sun_path) + 1);
    socket_address a(reinterpret_cast<const sockaddr*>(&un), len);
    CHECK(a.family() == AF_UNIX);
    CHECK(a.host() == "/run/fastnet.sock");
    CHECK(a == must_parse("unix:/run/fastnet.sock"));
  }
  SECTION("filled in place like accept()") {
    sockaddr_in in{};
    in.sin_family = AF_INET;
    in.sin_port = htons(7);
    in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socket_address a;
    std::memcpy(a.data(), &in, sizeof in);
    a.set_size(sizeof in);
    CHECK(a.family() == AF_INET);
    CHECK(a.size() == sizeof in);
    CHECK(a.to_string() == "127.0.0.1:7");
  }
}

TEST_CASE("to_string round trips through parse", "[unit][socket_address]") {
  const std::string_view inputs[] = {
      "127.0.0.1:80",       "0.0.0.0:0",        "255.255.255.255:65535", ":1234",
      "[::1]:8080",         "[::]:0",           "[2001:db8::1]:443",     "[fe80::1:2:3:4]:65535",
      "[::ffff:1.2.3.4]:5", "unix:/tmp/x.sock", "/var/run/a b.sock",
  };
  for (auto text : inputs) {
    INFO("input \"" << std::string(text) << "\"");
    const auto a = must_parse(text);
    const std::string printed = a.to_string();
    INFO("printed \"" << printed << "\"");
    auto back = socket_address::parse(printed);
    REQUIRE(back.has_value());
    CHECK(*back == a);
    CHECK(back->to_string() == printed);
    CHECK(back->family() == a.family());
    CHECK(back->port() == a.port());
    CHECK(back->host() == a.host());
  }
}

TEST_CASE("equality", "[unit][socket_address]") {
  CHECK(must_parse("127.0.0.1:80") == must_parse("127.0.0.1:80"));
  CHECK(must_parse("127.0.0.1:80") == *socket_address::ip("127.0.0.1", 80));
  CHECK_FALSE(must_parse("127.0.0.1:80") == must_parse("127.0.0.1:81"));
  CHECK_FALSE(must_parse("127.0.0.1:80") == must_parse("127.0.0.2:80"));
  CHECK(must_parse("[::1]:80") == must_parse("[0:0:0:0:0:0:0:1]:80"));
  CHECK_FALSE(must_parse("[::1]:80") == must_parse("[::1]:81"));
  CHECK_FALSE(must_parse("[::1]:80") == must_parse("[::2]:80"));
  // Different families never compare equal, even for "the same" host.
  CHECK_FALSE(must_parse("127.0.0.1:80") == must_parse("[::ffff:127.0.0.1]:80"));
  CHECK_FALSE(must_parse("0.0.0.0:80") == must_parse("[::]:80"));
  CHECK_FALSE(must_parse("127.0.0.1:80") == must_parse("unix:/tmp/x.sock"));
  CHECK_FALSE(must_parse("unix:/tmp/x.sock") == must_parse("unix:/tmp/y.sock"));
  CHECK(must_parse("unix:/tmp/x.sock") == *socket_address::unix_path("/tmp/x.sock"));
  CHECK_FALSE(socket_address() == must_parse("127.0.0.1:80"));
  CHECK(socket_address() == socket_address());
  // Copies compare equal.
  const auto a = must_parse("[2001:db8::5]:77");
  socket_address copy = a;
  CHECK(copy == a);
}

TEST_CASE("IPv4 text matches inet_ntop for every octet value", "[unit][socket_address]") {
  // host() and to_string() format IPv4 by hand (inet_ntop's sprintf was a
  // per-connection cost): compare with the C library over all octet values
  // in every position.
  for (int position = 0; position < 4; ++position) {
    for (int value = 0; value < 256; ++value) {
      unsigned char octets[4] = {10, 200, 3, 99};
      octets[position] = static_cast<unsigned char>(value);
      sockaddr_in in{};
      in.sin_family = AF_INET;
      in.sin_port = htons(static_cast<uint16_t>(value * 257));
      std::memcpy(&in.sin_addr, octets, 4);
      char expected[INET_ADDRSTRLEN] = {};
      REQUIRE(inet_ntop(AF_INET, &in.sin_addr, expected, sizeof expected) != nullptr);
      socket_address a;
      std::memcpy(a.data(), &in, sizeof in);
      a.set_size(sizeof in);
      CHECK(a.host() == expected);
      CHECK(a.to_string() == std::string(expected) + ":" + std::to_string(value * 257));
    }
  }
}
