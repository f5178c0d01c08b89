#include "domain/host_port.hpp"

#include <charconv>

namespace topup {

std::string host_port::to_string() const {
  bool ipv6 = host.find(':') != std::string::npos;
  return (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

host_port_reading parse_host_port(std::string_view text, const host_port_rules& rules) {
  auto quoted = "'" + std::string{text} + "'";
  auto fail = [](std::string why) { return host_port_reading{std::nullopt, std::move(why)}; };
  auto example = rules.default_port ? "HOST or HOST:PORT" : "HOST:PORT, e.g. 127.0.0.1:4242";
  host_port address;
  std::optional<std::string_view> port_text;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos)
      return fail(quoted + ": missing ']' after the IPv6 address");
    address.host = std::string{text.substr(1, close - 1)};
    auto rest = text.substr(close + 1);
    if (!rest.empty() && rest.front() != ':')
      return fail(quoted + ": expected " + example);
    if (!rest.empty())
      port_text = rest.substr(1);
  } else {
    auto colon = text.find(':');
    address.host = std::string{text.substr(0, colon)};
    if (colon != std::string_view::npos) {
      if (text.find(':', colon + 1) != std::string_view::npos)
        return fail(quoted + ": write an IPv6 address in brackets, e.g. [::1]:4242");
      port_text = text.substr(colon + 1);
    }
  }
  if (!port_text && !rules.default_port)
    return fail(quoted + ": expected " + example);
  if (address.host.empty())
    return fail(quoted + ": the host is empty");
  if (!port_text) {
    address.port = *rules.default_port;
    return {std::move(address), {}};
  }
  auto lowest = rules.port_zero_allowed ? 0u : 1u;
  auto bad_port = [&] {
    return fail(quoted + ": the port must be a number from " + std::to_string(lowest)
                + " to 65535");
  };
  unsigned port = 0;
  auto [end, error] = std::from_chars(port_text->data(), port_text->data() + port_text->size(),
                                      port);
  if (port_text->empty() || error != std::errc{} || end != port_text->data() + port_text->size()
      || port < lowest || port > 65535)
    return bad_port();
  address.port = static_cast<uint16_t>(port);
  return {std::move(address), {}};
}

} // namespace topup
