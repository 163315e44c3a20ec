#include "fastnet/ws/frame.hpp"

#include <algorithm>

namespace fastnet::ws {

bool is_valid_close_code(uint16_t code) {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
         (code >= 3000 && code <= 4999);
}

std::string close_payload(uint16_t code, std::string_view reason) {
  std::string out;
  out.push_back(static_cast<char>(code >> 8));
  out.push_back(static_cast<char>(code & 0xff));
  out.append(reason.substr(0, std::min<size_t>(reason.size(), 123)));
  return out;
}

close_info parse_close_payload(std::span<const std::byte> payload) {
  close_info info;
  if (payload.size() < 2) return info;
  info.code = static_cast<uint16_t>((static_cast<unsigned>(payload[0]) << 8) |
                                    static_cast<unsigned>(payload[1]));
  info.reason = {reinterpret_cast<const char*>(payload.data()) + 2, payload.size() - 2};
  return info;
}

}  // namespace fastnet::ws
