#pragma once

#include "domain/clock.hpp"

namespace topup {

/// Rate limiter with a sustained rate (calls per second) and a burst (calls allowed at once
/// after a quiet period). In any window of length w it admits at most burst + rate * w calls,
/// which is how a provider's "rate plus 10 % burst" contract is kept.
///
/// Implemented as the generic cell rate algorithm: one timestamp of state instead of a
/// fractional token count, so long runs accumulate no rounding drift. The emission interval
/// is rounded up, so rounding can only make the limiter stricter, never looser.
class token_bucket {
public:
  /// How a new bucket starts: full (burst calls available at once), or empty (the first
  /// call one interval later). A limiter taking over from another that may have spent its
  /// burst just now starts empty, so that the two together admit no more than one would.
  enum class start { full, empty };

  /// rate > 0 and burst >= 1.
  token_bucket(double rate_per_second, double burst, mono_time now, start fill = start::full);

  /// Takes one token if available now.
  bool try_take(mono_time now);

  /// How long until a token is available; zero when one is available now.
  nanoseconds wait_time(mono_time now) const;

  /// Whole tokens available now (at most the burst).
  long available(mono_time now) const;

  double rate() const { return rate_; }
  double burst() const { return burst_; }

private:
  double rate_;
  double burst_;
  nanoseconds interval_;   ///< time one token takes to refill
  nanoseconds tolerance_;  ///< burst * interval: how far ahead of now the schedule may run
  mono_time theoretical_arrival_;
};

} // namespace topup
