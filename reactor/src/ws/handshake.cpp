#include "fastnet/ws/handshake.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <stdexcept>

namespace fastnet::ws {
namespace {

constexpr size_t max_headers = 100;

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
           return lower(x) == lower(y);
         });
}

bool is_tchar(char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

using header_list = std::vector<std::pair<std::string, std::string>>;

// Splits a head into its first line and parsed header fields. Rejects bare
// CR or LF, obsolete line folding, control characters and over-long lists.
std::optional<std::string_view> split_head(std::string_view head, header_list& headers) {
  if (head.size() < 4 || head.substr(head.size() - 4) != "\r\n\r\n") return std::nullopt;
  head.remove_suffix(2);  // keep one CRLF per line
  size_t eol = head.find("\r\n");
  std::string_view first = head.substr(0, eol);
  head.remove_prefix(eol + 2);
  while (!head.empty()) {
    eol = head.find("\r\n");
    std::string_view line = head.substr(0, eol);
    head.remove_prefix(eol + 2);
    if (headers.size() == max_headers) return std::nullopt;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    std::string_view name = line.substr(0, colon);
    if (!is_token(name)) return std::nullopt;  // also rejects folding (leading space)
    std::string_view value = trim(line.substr(colon + 1));
    for (char c : value) {
      auto u = static_cast<unsigned char>(c);
      if ((u < 0x20 && c != '\t') || u == 0x7f) return std::nullopt;
    }
    headers.emplace_back(std::string(name), std::string(value));
  }
  for (char c : first)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return std::nullopt;
  return first;
}

std::optional<std::string_view> find_header(const header_list& headers, std::string_view name) {
  for (const auto& [n, v] : headers)
    if (iequals(n, name)) return std::string_view(v);
  return std::nullopt;
}

bool has_token(const header_list& headers, std::string_view name, std::string_view token) {
  for (const auto& [n, v] : headers) {
    if (!iequals(n, name)) continue;
    std::string_view rest = v;
    while (!rest.empty()) {
      size_t comma = rest.find(',');
      if (iequals(trim(rest.substr(0, comma)), token)) return true;
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return false;
}

std::string base64(const unsigned char* data, size_t n) {
  std::string out(4 * ((n + 2) / 3), '\0');
  int len =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(n));
  out.resize(static_cast<size_t>(len));
  return out;
}

}  // namespace

std::optional<std::string_view> request::header(std::string_view name) const {
  return find_header(headers, name);
}

bool request::header_has_token(std::string_view name, std::string_view token) const {
  return has_token(headers, name, token);
}

std::optional<std::string_view> response::header(std::string_view name) const {
  return find_header(headers, name);
}

bool response::header_has_token(std::string_view name, std::string_view token) const {
  return has_token(headers, name, token);
}

std::optional<request> parse_request(std::string_view head) {
  request req;
  auto first = split_head(head, req.headers);
  if (!first) return std::nullopt;
  // request-line = method SP request-target SP HTTP-version
  size_t sp1 = first->find(' ');
  if (sp1 == std::string_view::npos) return std::nullopt;
  size_t sp2 = first->find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || first->find(' ', sp2 + 1) != std::string_view::npos)
    return std::nullopt;
  std::string_view method = first->substr(0, sp1);
  std::string_view target = first->substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = first->substr(sp2 + 1);
  if (!is_token(method) || version != "HTTP/1.1") return std::nullopt;
  if (target.empty() || target.front() != '/') return std::nullopt;  // origin-form only
  for (char c : target)
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f)
      return std::nullopt;
  req.method = std::string(method);
  req.target = std::string(target);
  req.path = std::string(target.substr(0, target.find('?')));
  return req;
}

std::optional<response> parse_response(std::string_view head) {
  response resp;
  auto first = split_head(head, resp.headers);
  if (!first) return std::nullopt;
  // status-line = HTTP-version SP status-code SP [reason-phrase]
  if (first->size() < 12 || first->substr(0, 9) != "HTTP/1.1 ") return std::nullopt;
  if (first->size() > 12 && (*first)[12] != ' ') return std::nullopt;
  std::string_view code = first->substr(9, 3);
  int status = 0;
  for (char c : code) {
    if (c < '0' || c > '9') return std::nullopt;
    status = status * 10 + (c - '0');
  }
  resp.status = status;
  return resp;
}

std::string accept_key(std::string_view key) {
  static constexpr std::string_view guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  std::string input(key);
  input.append(guid);
  std::array<unsigned char, SHA_DIGEST_LENGTH> digest{};
  SHA1(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest.data());
  return base64(digest.data(), digest.size());
}

bool is_valid_key(std::string_view key) {
  // base64 of 16 bytes: 22 significant characters and "==".
  if (key.size() != 24 || key.substr(22) != "==") return false;
  return std::all_of(key.begin(), key.begin() + 22, [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
  });
}

std::string make_key() {
  std::array<unsigned char, 16> raw{};
  if (RAND_bytes(raw.data(), static_cast<int>(raw.size())) != 1)
    throw std::runtime_error("ws: no random bytes for a Sec-WebSocket-Key");
  return base64(raw.data(), raw.size());
}

}  // namespace fastnet::ws
