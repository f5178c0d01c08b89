#include "domain/civil_time.hpp"

#include <charconv>

namespace topup {
namespace {

bool is_leap(int year) {
  return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

int days_in_month(int year, int month) {
  static constexpr int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && is_leap(year) ? 29 : days[month - 1];
}

/// Reads exactly `width` ASCII digits at `pos`, advancing it.
std::optional<int> fixed_digits(std::string_view text, size_t& pos, size_t width) {
  if (pos + width > text.size())
    return std::nullopt;
  int value = 0;
  for (size_t i = pos; i < pos + width; ++i) {
    if (text[i] < '0' || text[i] > '9')
      return std::nullopt;
    value = value * 10 + (text[i] - '0');
  }
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

/// Floor division: days and minutes before the epoch round down, not towards it.
int64_t floor_div(int64_t a, int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0);
}

std::string two_digits(int value) {
  std::string text(2, '0');
  text[0] = static_cast<char>('0' + value / 10 % 10);
  text[1] = static_cast<char>('0' + value % 10);
  return text;
}

std::string date_text(const civil_time& t) {
  auto year = std::to_string(t.year);
  if (year.size() < 4)
    year.insert(0, 4 - year.size(), '0');
  return year + "-" + two_digits(t.month) + "-" + two_digits(t.day);
}

} // namespace

std::variant<iso_time, std::string> read_iso_time(std::string_view text) {
  iso_time result;
  auto& t = result.fields;
  size_t pos = 0;
  auto year = fixed_digits(text, pos, 4);
  if (!year || !take(text, pos, '-'))
    return std::string{"not a date"};
  auto month = fixed_digits(text, pos, 2);
  if (!month || !take(text, pos, '-'))
    return std::string{"not a date"};
  auto day = fixed_digits(text, pos, 2);
  if (!day)
    return std::string{"not a date"};
  t.year = *year;
  t.month = *month;
  t.day = *day;
  if (t.month < 1 || t.month > 12 || t.day < 1 || t.day > days_in_month(t.year, t.month))
    return std::string{"no such date"};
  if (take(text, pos, 'T') || take(text, pos, ' ')) {
    result.has_time_of_day = true;
    auto hour = fixed_digits(text, pos, 2);
    if (!hour || !take(text, pos, ':'))
      return std::string{"not a time of day"};
    auto minute = fixed_digits(text, pos, 2);
    if (!minute)
      return std::string{"not a time of day"};
    t.hour = *hour;
    t.minute = *minute;
    if (take(text, pos, ':')) {
      auto second = fixed_digits(text, pos, 2);
      if (!second)
        return std::string{"not a time of day"};
      t.second = *second;
      result.has_seconds = true;
      if (take(text, pos, '.')) {
        auto millis = fixed_digits(text, pos, 3);
        if (!millis)
          return std::string{"fractions of a second need three digits"};
        t.millis = *millis;
      }
    }
    if (t.hour > 23 || t.minute > 59 || t.second > 59)
      return std::string{"no such time of day"};
  }
  if (pos == text.size())
    return result;
  if (take(text, pos, 'Z')) {
    if (pos != text.size())
      return std::string{"text after 'Z'"};
    result.utc_offset_minutes = 0;
    return result;
  }
  int sign = 0;
  if (take(text, pos, '+'))
    sign = 1;
  else if (take(text, pos, '-'))
    sign = -1;
  else
    return std::string{"unexpected text after the time"};
  auto offset_hours = fixed_digits(text, pos, 2);
  take(text, pos, ':');
  auto offset_minutes = fixed_digits(text, pos, 2);
  if (!offset_hours || !offset_minutes || pos != text.size() || *offset_hours > 23
      || *offset_minutes > 59)
    return std::string{"bad zone offset"};
  result.utc_offset_minutes = sign * (*offset_hours * 60 + *offset_minutes);
  return result;
}

int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

civil_time civil_from_days(int64_t days) {
  // H. Hinnant's civil_from_days.
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const auto doe = static_cast<unsigned>(days - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  civil_time t;
  t.year = static_cast<int>(static_cast<int64_t>(yoe) + era * 400 + (m <= 2 ? 1 : 0));
  t.month = static_cast<int>(m);
  t.day = static_cast<int>(d);
  return t;
}

int64_t epoch_ms_at_offset(const civil_time& t, int utc_offset_minutes) {
  auto days = days_from_civil(t.year, static_cast<unsigned>(t.month), static_cast<unsigned>(t.day));
  auto local_ms =
    ((days * 24 + t.hour) * 60 + t.minute) * 60000 + int64_t{t.second} * 1000 + t.millis;
  // 12:00+08:00 is 04:00Z: subtract the offset.
  return local_ms - int64_t{utc_offset_minutes} * 60000;
}

civil_time civil_at_offset(int64_t epoch_ms, int utc_offset_minutes) {
  auto local_ms = epoch_ms + int64_t{utc_offset_minutes} * 60000;
  auto days = floor_div(local_ms, 86400000);
  auto in_day = local_ms - days * 86400000;
  auto t = civil_from_days(days);
  t.hour = static_cast<int>(in_day / 3600000);
  t.minute = static_cast<int>(in_day / 60000 % 60);
  t.second = static_cast<int>(in_day / 1000 % 60);
  t.millis = static_cast<int>(in_day % 1000);
  return t;
}

std::string format_rfc3339_utc(int64_t epoch_ms) {
  auto t = civil_at_offset(epoch_ms, 0);
  auto millis = std::to_string(t.millis);
  millis.insert(0, 3 - millis.size(), '0');
  return date_text(t) + "T" + two_digits(t.hour) + ":" + two_digits(t.minute) + ":"
         + two_digits(t.second) + "." + millis + "Z";
}

std::string format_day(int64_t epoch_ms, int utc_offset_minutes) {
  return date_text(civil_at_offset(epoch_ms, utc_offset_minutes));
}

std::string format_utc_offset(int minutes) {
  auto sign = minutes < 0 ? "-" : "+";
  auto magnitude = minutes < 0 ? -minutes : minutes;
  return sign + two_digits(magnitude / 60) + ":" + two_digits(magnitude % 60);
}

std::optional<int> parse_utc_offset(std::string_view text) {
  if (text == "Z" || text == "UTC")
    return 0;
  if (text.size() < 2 || (text[0] != '+' && text[0] != '-'))
    return std::nullopt;
  int sign = text[0] == '-' ? -1 : 1;
  text.remove_prefix(1);
  int hours = 0, minutes = 0;
  auto colon = text.find(':');
  std::string_view hours_text, minutes_text;
  if (colon != std::string_view::npos) {
    hours_text = text.substr(0, colon);
    minutes_text = text.substr(colon + 1);
    if (minutes_text.size() != 2)
      return std::nullopt;
  } else if (text.size() == 4) {
    hours_text = text.substr(0, 2);
    minutes_text = text.substr(2);
  } else {
    hours_text = text;
  }
  auto number = [](std::string_view digits, int& value) {
    if (digits.empty() || digits.size() > 2
        || digits.find_first_not_of("0123456789") != std::string_view::npos)
      return false;
    std::from_chars(digits.data(), digits.data() + digits.size(), value);
    return true;
  };
  if (!number(hours_text, hours) || (!minutes_text.empty() && !number(minutes_text, minutes)))
    return std::nullopt;
  if (minutes > 59 || hours * 60 + minutes > 14 * 60)
    return std::nullopt;
  return sign * (hours * 60 + minutes);
}

} // namespace topup
