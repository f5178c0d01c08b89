#pragma once

// Calendar times as people write them and as topup reads and prints them: ISO 8601 text
// ("2024-05-01T20:00:00.250+08:00"), days of the proleptic Gregorian calendar, fixed UTC
// offsets. One reader for every place that takes a time in text (topup-cli's --since and
// reconcile's --from/--to, a provider's statement), so that a time means the same wherever
// it is written. Pure functions; no time zone database (a fixed offset is what a provider's
// settlement day is defined by).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace topup {

/// A date and time of day as written, without a zone.
struct civil_time {
  int year = 1970, month = 1, day = 1, hour = 0, minute = 0, second = 0, millis = 0;
};

/// An ISO 8601 time as read: the fields and, when the text named one, the zone.
struct iso_time {
  civil_time fields;
  bool has_time_of_day = false;  ///< "T12:00" (or " 12:00") followed the date
  bool has_seconds = false;      ///< the time of day had seconds
  /// Minutes east of UTC ("Z" is 0, "+08:00" is 480); nothing when no zone was written.
  std::optional<int> utc_offset_minutes;
};

/// Reads "YYYY-MM-DD[(T| )HH:MM[:SS[.mmm]]][Z|(+|-)HH[:]MM]": the date alone, with a time of
/// day, and optionally a zone (an offset of at most 23:59). The fields must name a real date
/// and time ("2023-02-29" and "24:00" are refused). Returns the time, or why the text is not
/// one: "not a date", "no such date", "not a time of day", "no such time of day", "fractions
/// of a second need three digits", "text after 'Z'", "unexpected text after the time",
/// "bad zone offset".
std::variant<iso_time, std::string> read_iso_time(std::string_view text);

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
int64_t days_from_civil(int64_t year, unsigned month, unsigned day);

/// The date of a day number (days since 1970-01-01): the inverse of days_from_civil.
civil_time civil_from_days(int64_t days);

/// Milliseconds since the epoch of `t` read at `utc_offset_minutes` east of UTC.
int64_t epoch_ms_at_offset(const civil_time& t, int utc_offset_minutes);

/// The civil time `epoch_ms` is at `utc_offset_minutes` east of UTC.
civil_time civil_at_offset(int64_t epoch_ms, int utc_offset_minutes);

/// "2024-05-01T12:00:00.250Z": RFC 3339 in UTC with milliseconds.
std::string format_rfc3339_utc(int64_t epoch_ms);

/// "2024-05-01": the day `epoch_ms` falls on at `utc_offset_minutes` east of UTC.
std::string format_day(int64_t epoch_ms, int utc_offset_minutes);

/// "+08:00", "-05:30", "+00:00".
std::string format_utc_offset(int minutes);

/// Reads "+08:00", "-0530", "+8", "Z", "UTC": minutes east of UTC (at most 14 hours either
/// way, the widest offset in use); nothing for anything else.
std::optional<int> parse_utc_offset(std::string_view text);

} // namespace topup
