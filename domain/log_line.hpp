#pragma once

// What one log line of a node says, decided without spdlog: phone numbers masked whatever a
// message quotes, the order a line is about (a message names it as "order=<id>"), and the
// line as one JSON object for log collectors. apps/app_support hands spdlog's lines through
// these (README.md, "Logs").

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace topup::log_line {

/// `text` with every phone number masked as mask_phone does: each run of exactly 11 ASCII
/// digits that begins with '1' (a mainland mobile number, the only kind validation accepts).
/// Longer or shorter runs of digits (timestamps, counts, amounts) stay as they are.
std::string mask_phone_numbers(std::string_view text);

/// The id a message names with "order=<id>": the characters after "order=" up to a blank,
/// ',', ';' or ')', or the end. None when the message names no order.
std::optional<std::string_view> order_id_of(std::string_view message);

/// The component a message is of: its first word ("router", "recharge", "cluster",
/// "console", "store", ...) without a trailing ':', when it is lower-case letters, digits,
/// '_' and '-' only; empty otherwise.
std::string_view component_of(std::string_view message);

struct record {
  int64_t time_ms = 0;     ///< since the Unix epoch
  std::string_view level;  ///< "info", "warning", ...
  std::string_view logger; ///< the program: "topup-node"
  std::string_view message;
};

/// The line as one JSON object (no line break): {"time" (RFC 3339, UTC, milliseconds),
/// "level", "logger", "component" (when there is one), "message" (phone numbers masked),
/// "order_id" (when the message names one)}. Text that is not valid UTF-8 is replaced, never
/// copied into the JSON.
std::string json_of(const record& r);

} // namespace topup::log_line
