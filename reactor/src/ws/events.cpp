#include "events.hpp"

#include <array>
#include <iterator>

namespace fastnet::ws::events {
namespace {

// Bounded label sets: a peer chooses the codes it sends, and every value
// seen would otherwise become a time series of its own.
constexpr std::array<int, 8> statuses{101, 200, 400, 404, 405, 426, 431, 0};
constexpr std::array<const char*, 8> status_names{"101", "200", "400", "404",
                                                  "405", "426", "431", "other"};
constexpr std::array<frame_kind, 5> kinds{frame_kind::text, frame_kind::binary, frame_kind::ping,
                                          frame_kind::pong, frame_kind::close};
constexpr std::array<const char*, 5> kind_names{"text", "binary", "ping", "pong", "close"};
constexpr std::array<uint16_t, 11> codes{1000, 1001, 1002, 1003, 1007, 1008,
                                         1009, 1010, 1011, 0,    1};
constexpr std::array<const char*, 11> code_names{"1000", "1001", "1002", "1003", "1007", "1008",
                                                 "1009", "1010", "1011", "none", "other"};

constexpr const char* handshakes_family = "fastnet_ws_handshakes_total";
constexpr const char* handshakes_help =
    "WebSocket opening handshakes by HTTP status (answered by a server, received by a client).";
constexpr const char* rx_family = "fastnet_ws_received_messages_total";
constexpr const char* rx_help = "WebSocket messages and control frames received, by kind.";
constexpr const char* tx_family = "fastnet_ws_sent_messages_total";
constexpr const char* tx_help = "WebSocket messages and control frames sent, by kind.";
constexpr const char* close_rx_family = "fastnet_ws_close_received_total";
constexpr const char* close_rx_help = "WebSocket Close frames received, by close code.";
constexpr const char* close_tx_family = "fastnet_ws_close_sent_total";
constexpr const char* close_tx_help = "WebSocket Close frames sent, by close code.";

constexpr size_t rx_base = statuses.size();
constexpr size_t tx_base = rx_base + kinds.size();
constexpr size_t close_rx_base = tx_base + kinds.size();
constexpr size_t close_tx_base = close_rx_base + codes.size();
constexpr size_t table_size = close_tx_base + codes.size();

constexpr std::array<layer_event, table_size> make_table() {
  std::array<layer_event, table_size> t{};
  for (size_t i = 0; i < statuses.size(); ++i)
    t[i] = {handshakes_family, handshakes_help, "status", status_names[i]};
  for (size_t i = 0; i < kinds.size(); ++i) {
    t[rx_base + i] = {rx_family, rx_help, "kind", kind_names[i]};
    t[tx_base + i] = {tx_family, tx_help, "kind", kind_names[i]};
  }
  for (size_t i = 0; i < codes.size(); ++i) {
    t[close_rx_base + i] = {close_rx_family, close_rx_help, "code", code_names[i]};
    t[close_tx_base + i] = {close_tx_family, close_tx_help, "code", code_names[i]};
  }
  return t;
}
constexpr auto the_table = make_table();

size_t kind_index(frame_kind k) {
  for (size_t i = 0; i < kinds.size(); ++i)
    if (kinds[i] == k) return i;
  return npos;
}

size_t code_index(uint16_t code) {
  for (size_t i = 0; i + 1 < codes.size(); ++i)
    if (codes[i] == code) return i;
  return codes.size() - 1;  // "other"
}

}  // namespace

std::span<const layer_event> table() {
  return the_table;
}

size_t handshake(int status) {
  for (size_t i = 0; i + 1 < statuses.size(); ++i)
    if (statuses[i] == status) return i;
  return statuses.size() - 1;
}

size_t received(frame_kind k) {
  const size_t i = kind_index(k);
  return i == npos ? npos : rx_base + i;
}

size_t sent(frame_kind k) {
  const size_t i = kind_index(k);
  return i == npos ? npos : tx_base + i;
}

size_t close_received(uint16_t code) {
  return close_rx_base + code_index(code);
}
size_t close_sent(uint16_t code) {
  return close_tx_base + code_index(code);
}

}  // namespace fastnet::ws::events
