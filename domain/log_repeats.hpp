#pragma once

#include "domain/clock.hpp"

#include <cstdint>
#include <string>
#include <unordered_map>

namespace topup {

/// Which occurrences of a repeated log line are written. While a disk is full or a database
/// is down, the same failure happens once per write; one line each would flood the log (and
/// the disk that is already full). The first occurrence of a kind (`key`) is written; later
/// ones within `interval` are counted, and the first one after it is written with the
/// count: "... repeated 2,345 times in the last 10 s". At most one line per key and interval.
class log_repeats {
public:
  explicit log_repeats(milliseconds interval = milliseconds{10000}) : interval_(interval) {}

  struct verdict {
    bool write = false;       ///< write this occurrence
    uint64_t repeated = 0;    ///< occurrences since the last line written, this one included
    milliseconds over{0};     ///< the time they took
    /// "" for the first occurrence; " … repeated N times in the last T s" after it.
    std::string suffix() const;
  };

  /// One occurrence of `key` at `now`.
  verdict occurred(const std::string& key, mono_time now);

  milliseconds interval() const { return interval_; }

private:
  struct window {
    mono_time written_at;   ///< when the last line of this key was written
    uint64_t unwritten = 0; ///< occurrences since then
  };
  milliseconds interval_;
  std::unordered_map<std::string, window> windows_;
};

} // namespace topup
