#include "apps/cli/arguments.hpp"

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

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool is_leap(int year) {
  return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

int days_in_month(int year, int month) {
  static constexpr int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && is_leap(year) ? 29 : days[month - 1];
}

/// Reads exactly `width` digits at `pos`, advancing it.
std::optional<int> fixed_digits(std::string_view text, size_t& pos, size_t width) {
  if (pos + width > text.size())
    return std::nullopt;
  auto value = whole_number<int>(text.substr(pos, width));
  if (value)
    pos += width;
  return value;
}

bool take(std::string_view text, size_t& pos, char c) {
  if (pos < text.size() && text[pos] == c) {
    ++pos;
    return true;
  }
  return false;
}

struct civil_time {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, millis = 0;
};

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

int64_t utc_epoch_ms(const civil_time& t) {
  auto days = days_from_civil(t.year, static_cast<unsigned>(t.month), static_cast<unsigned>(t.day));
  return ((days * 24 + t.hour) * 60 + t.minute) * 60000 + t.second * 1000 + t.millis;
}

constexpr std::string_view iso_hint =
  "expected YYYY-MM-DD[THH:MM[:SS[.mmm]]][Z|+HH:MM], milliseconds since the epoch, or a "
  "duration ago such as 15m";

parsed<int64_t> parse_iso_time(std::string_view text, time_zone zone) {
  auto bad = [&](std::string_view why) {
    return parsed<int64_t>::fail("'" + std::string{text} + "': " + std::string{why} + "; "
                                 + std::string{iso_hint});
  };
  civil_time t;
  size_t pos = 0;
  auto year = fixed_digits(text, pos, 4);
  if (!year || !take(text, pos, '-'))
    return bad("not a date");
  auto month = fixed_digits(text, pos, 2);
  if (!month || !take(text, pos, '-'))
    return bad("not a date");
  auto day = fixed_digits(text, pos, 2);
  if (!day)
    return bad("not a date");
  t.year = *year;
  t.month = *month;
  t.day = *day;
  if (t.month < 1 || t.month > 12 || t.day < 1 || t.day > days_in_month(t.year, t.month))
    return bad("no such date");
  if (take(text, pos, 'T') || take(text, pos, ' ')) {
    auto hour = fixed_digits(text, pos, 2);
    if (!hour || !take(text, pos, ':'))
      return bad("not a time of day");
    auto minute = fixed_digits(text, pos, 2);
    if (!minute)
      return bad("not a time of day");
    t.hour = *hour;
    t.minute = *minute;
    if (take(text, pos, ':')) {
      auto second = fixed_digits(text, pos, 2);
      if (!second)
        return bad("not a time of day");
      t.second = *second;
      if (take(text, pos, '.')) {
        auto millis = fixed_digits(text, pos, 3);
        if (!millis)
          return bad("fractions of a second need three digits");
        t.millis = *millis;
      }
    }
    if (t.hour > 23 || t.minute > 59 || t.second > 59)
      return bad("no such time of day");
  }
  if (pos == text.size()) {
    if (zone == time_zone::utc)
      return parsed<int64_t>::ok(utc_epoch_ms(t));
    if (auto ms = local_epoch_ms(t))
      return parsed<int64_t>::ok(*ms);
    return bad("not representable in local time");
  }
  if (take(text, pos, 'Z'))
    return pos == text.size() ? parsed<int64_t>::ok(utc_epoch_ms(t)) : bad("text after 'Z'");
  int sign = 0;
  if (take(text, pos, '+'))
    sign = 1;
  else if (take(text, pos, '-'))
    sign = -1;
  else
    return bad("unexpected text after the time");
  auto offset_hours = fixed_digits(text, pos, 2);
  take(text, pos, ':');
  auto offset_minutes = fixed_digits(text, pos, 2);
  if (!offset_hours || !offset_minutes || pos != text.size() || *offset_hours > 23
      || *offset_minutes > 59)
    return bad("bad zone offset");
  auto offset_ms = (int64_t{*offset_hours} * 60 + *offset_minutes) * 60000;
  // 12:00+08:00 is 04:00Z: subtract the offset.
  return parsed<int64_t>::ok(utc_epoch_ms(t) - sign * offset_ms);
}

} // namespace

std::string node_address::to_string() const {
  auto text = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return text + ":" + std::to_string(port);
}

parsed<node_address> parse_node_address(std::string_view text) {
  using result = parsed<node_address>;
  auto quoted = "'" + std::string{text} + "'";
  node_address address;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos)
      return result::fail(quoted + ": missing ']' after the IPv6 address");
    address.host = std::string{text.substr(1, close - 1)};
    if (close + 1 >= text.size() || text[close + 1] != ':')
      return result::fail(quoted + ": expected HOST:PORT, e.g. 127.0.0.1:4242");
    port_text = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos)
      return result::fail(quoted + ": expected HOST:PORT, e.g. 127.0.0.1:4242");
    address.host = std::string{text.substr(0, colon)};
    if (address.host.find(':') != std::string::npos)
      return result::fail(quoted + ": write an IPv6 address in brackets, e.g. [::1]:4242");
    port_text = text.substr(colon + 1);
  }
  if (address.host.empty())
    return result::fail(quoted + ": the host is empty");
  auto port = whole_number<uint32_t>(port_text);
  if (!port || *port == 0 || *port > 65535)
    return result::fail(quoted + ": the port must be a number from 1 to 65535");
  address.port = static_cast<uint16_t>(*port);
  return result::ok(std::move(address));
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
