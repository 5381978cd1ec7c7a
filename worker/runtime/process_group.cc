#include "worker/runtime/process_group.h"

#include <cctype>
#include <charconv>

namespace tandem::runtime {

StatusOr<InitAddress> parse_init_address(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return invalid_argument("distributed init address '{}' is not HOST:PORT ({}); e.g. 10.0.0.1:29500, "
                            "node0:29500 or [fd00::1]:29500, or leave it empty for the default",
                            text, why);
  };
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return bad("no ':PORT'");
  std::string_view host = text.substr(0, colon), port_text = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    return bad("an IPv6 host needs brackets");
  }
  if (host.empty()) return bad("empty host");
  for (char ch : host) {
    const bool ok = std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '-' || ch == ':' || ch == '_';
    if (!ok) return bad("the host has a character that no host name or address has");
  }
  int port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size()) return bad("the port is not a number");
  if (port < 1 || port > 65535) return bad("the port is outside 1..65535");
  return InitAddress{std::string(host), port};
}

}  // namespace tandem::runtime
