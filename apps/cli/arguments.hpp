#pragma once

// Parsers for the values topup-cli takes on its command line: node addresses, durations and
// points in time. Pure functions: each returns the value or a sentence saying what is wrong.

#include "domain/host_port.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace topup::cli {

/// A value read from text, or why the text is not one.
template <class T>
struct parsed {
  std::optional<T> value;
  std::string error;  ///< set when value is empty

  static parsed ok(T x) { return {std::move(x), {}}; }
  static parsed fail(std::string why) { return {std::nullopt, std::move(why)}; }
  explicit operator bool() const { return value.has_value(); }
};

/// Where the node's gateway listens.
using node_address = host_port;

/// "HOST:PORT" or "[IPV6]:PORT"; the port must be 1..65535 and the host non-empty.
parsed<node_address> parse_node_address(std::string_view text);

/// "500ms", "10s", "1.5s", "2m", "1h", "1d"; a bare number is in `bare_unit` ("s" or "ms").
/// Negative durations are refused; zero is allowed (callers decide what it means).
parsed<std::chrono::milliseconds> parse_duration(std::string_view text,
                                                 std::string_view bare_unit = "s");

/// How times without an explicit zone are read and how times are shown.
enum class time_zone { local, utc };

/// A point in time for `list --since`, as milliseconds since the epoch:
/// - digits only: already milliseconds since the epoch ("1714564800000");
/// - a duration with a unit: that long before `now_ms` ("15m", "2h", "1d");
/// - ISO 8601: "2024-05-01", "2024-05-01T12:00", "2024-05-01 12:00:00.250", optionally
///   followed by "Z" or an offset ("+08:00", "+0800"); without one, in `zone`.
parsed<int64_t> parse_time_point(std::string_view text, int64_t now_ms, time_zone zone);

} // namespace topup::cli
