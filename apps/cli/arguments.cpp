#include "apps/cli/arguments.hpp"

#include "domain/civil_time.hpp"

#include <charconv>
#include <cmath>
#include <ctime>

namespace topup::cli {
namespace {

bool is_digits(std::string_view text) {
  if (text.empty())
    return false;
  for (char c : text)
    if (c < '0' || c > '9')
      return false;
  return true;
}

/// Parses all of `text` as an unsigned decimal number; nothing else may follow.
template <class Integer>
std::optional<Integer> whole_number(std::string_view text) {
  if (!is_digits(text))
    return std::nullopt;
  Integer value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size())
    return std::nullopt;
  return value;
}

/// Milliseconds per unit of a duration suffix; nullopt for an unknown suffix.
std::optional<double> unit_ms(std::string_view unit) {
  if (unit == "ms")
    return 1.0;
  if (unit == "s")
    return 1e3;
  if (unit == "m")
    return 60e3;
  if (unit == "h")
    return 3600e3;
  if (unit == "d")
    return 86400e3;
  return std::nullopt;
}

/// Milliseconds since the epoch of `t` read as local time (mktime decides daylight saving).
std::optional<int64_t> local_epoch_ms(const civil_time& t) {
  std::tm tm{};
  tm.tm_year = t.year - 1900;
  tm.tm_mon = t.month - 1;
  tm.tm_mday = t.day;
  tm.tm_hour = t.hour;
  tm.tm_min = t.minute;
  tm.tm_sec = t.second;
  tm.tm_isdst = -1;
  auto seconds = std::mktime(&tm);
  if (seconds == static_cast<std::time_t>(-1))
    return std::nullopt;
  return static_cast<int64_t>(seconds) * 1000 + t.millis;
}

constexpr std::string_view iso_hint =
  "expected YYYY-MM-DD[THH:MM[:SS[.mmm]]][Z|+HH:MM], milliseconds since the epoch, or a "
  "duration ago such as 15m";

parsed<int64_t> parse_iso_time(std::string_view text, time_zone zone) {
  auto read = read_iso_time(text);
  if (auto why = std::get_if<std::string>(&read))
    return parsed<int64_t>::fail("'" + std::string{text} + "': " + *why + "; "
                                 + std::string{iso_hint});
  const auto& time = std::get<iso_time>(read);
  if (time.utc_offset_minutes)
    return parsed<int64_t>::ok(epoch_ms_at_offset(time.fields, *time.utc_offset_minutes));
  if (zone == time_zone::utc)
    return parsed<int64_t>::ok(epoch_ms_at_offset(time.fields, 0));
  if (auto ms = local_epoch_ms(time.fields))
    return parsed<int64_t>::ok(*ms);
  return parsed<int64_t>::fail("'" + std::string{text}
                               + "': not representable in local time; " + std::string{iso_hint});
}

} // namespace

parsed<node_address> parse_node_address(std::string_view text) {
  auto reading = parse_host_port(text);
  if (!reading)
    return parsed<node_address>::fail(std::move(reading.error));
  return parsed<node_address>::ok(std::move(*reading.address));
}

parsed<std::chrono::milliseconds> parse_duration(std::string_view text,
                                                 std::string_view bare_unit) {
  using result = parsed<std::chrono::milliseconds>;
  auto bad = [&] {
    return result::fail("'" + std::string{text}
                        + "' is not a duration; write e.g. 500ms, 10s, 1.5s, 2m, 1h or 1d");
  };
  auto unit_start = text.find_first_not_of("0123456789.");
  auto number = text.substr(0, unit_start);
  auto unit = unit_start == std::string_view::npos ? bare_unit : text.substr(unit_start);
  auto scale = unit_ms(unit);
  if (number.empty() || !scale)
    return bad();
  double value = 0;
  auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (ec != std::errc{} || end != number.data() + number.size() || !std::isfinite(value))
    return bad();
  auto ms = value * *scale;
  if (ms > 1e15)
    return result::fail("'" + std::string{text} + "' is too long a duration");
  return result::ok(std::chrono::milliseconds{static_cast<int64_t>(std::llround(ms))});
}

parsed<int64_t> parse_time_point(std::string_view text, int64_t now_ms, time_zone zone) {
  if (text.empty())
    return parsed<int64_t>::fail("an empty time; " + std::string{iso_hint});
  if (is_digits(text)) {
    if (auto ms = whole_number<int64_t>(text))
      return parsed<int64_t>::ok(*ms);
    return parsed<int64_t>::fail("'" + std::string{text} + "' is too large");
  }
  // "2024-..." starts with four digits and a dash; "15m" is digits then a unit letter.
  if (text.size() > 4 && text[4] == '-')
    return parse_iso_time(text, zone);
  auto ago = parse_duration(text, "ms");
  if (!ago)
    return parsed<int64_t>::fail("'" + std::string{text} + "': " + std::string{iso_hint});
  return parsed<int64_t>::ok(now_ms - ago.value->count());
}

} // namespace topup::cli
