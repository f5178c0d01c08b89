#pragma once

// The most calls a provider saw in any one-second window: the figure WORKLOAD
// (bench/README.md) checks a rate limit against ("in no 1-second window may a provider see
// more calls than its rate").

#include "domain/clock.hpp"

#include <cstdint>
#include <deque>

namespace topup::provider_sim {

/// Counts arrivals in a sliding window of `width` and remembers the highest count. Exact:
/// every window (t - width, t] ending at an arrival t is looked at, and the busiest window
/// always ends at an arrival. Memory grows with the arrivals of one window only.
class rate_window {
public:
  explicit rate_window(nanoseconds width = std::chrono::seconds(1)) : width_(width) {}

  /// One arrival at `now`; arrivals must come in time order. Returns the count of the window
  /// ending now.
  uint64_t record(mono_time now);

  /// The highest count of any window so far.
  uint64_t max() const { return max_; }

private:
  nanoseconds width_;
  std::deque<mono_time> arrivals_;
  uint64_t max_ = 0;
};

} // namespace topup::provider_sim
