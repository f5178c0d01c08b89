#pragma once

// Network addresses as people write them: "HOST:PORT", "[IPV6]:PORT", and in a URL's
// authority "HOST" alone with the scheme's port. One reader for every place that takes one
// (command lines, configuration, a child's "listening on" line, URLs), so all accept and
// refuse the same texts with the same words.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace topup {

struct host_port {
  std::string host;  ///< without brackets
  uint16_t port = 0;

  /// "host:port", with brackets around an IPv6 host: what parse_host_port reads back.
  std::string to_string() const;

  friend bool operator==(const host_port& a, const host_port& b) {
    return a.host == b.host && a.port == b.port;
  }
};

struct host_port_rules {
  /// The port when the text names none (a URL's authority); without one a port is required.
  std::optional<uint16_t> default_port{};
  /// Port 0: "any free port" for a listener; never a peer's address.
  bool port_zero_allowed = false;
};

/// An address read from text, or why the text is not one.
struct host_port_reading {
  std::optional<host_port> address;
  std::string error;  ///< set when address is empty: a sentence quoting the text

  explicit operator bool() const { return address.has_value(); }
};

/// Reads "HOST:PORT" or "[IPV6]:PORT" (an IPv6 host must be in brackets: "::1:80" is
/// ambiguous). The host must not be empty; the port is decimal, 1 to 65535 (0 too when the
/// rules allow it).
host_port_reading parse_host_port(std::string_view text, const host_port_rules& rules = {});

} // namespace topup
