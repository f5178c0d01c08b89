#pragma once

#include "domain/clock.hpp"

#include <cstdint>

namespace topup {

/// Exponential backoff with a cap: how long to wait before trying again after a number of
/// failures in a row. Every retry of something that failed (a provider call, a store write
/// the store refused or could not make) waits by this rule, so that a broken disk or an
/// unreachable database is asked less and less often instead of in a loop.
struct backoff_policy {
  milliseconds base{100};
  milliseconds cap{5000};

  /// The delay after `failures` failures in a row (0 and 1 both mean the first):
  /// base * 2^(failures - 1), at most `cap`. `jitter` in [0, 1] picks the point in the upper
  /// half ("equal jitter": half the delay is fixed, half random), so that many things that
  /// failed together do not all try again at one instant; 1 gives the full delay.
  milliseconds delay(uint32_t failures, double jitter = 1.0) const;
};

/// The failures in a row of one operation and when it may run again.
class retry_backoff {
public:
  explicit retry_backoff(backoff_policy policy = {}) : policy_(policy) {}

  /// A failure at `now`; returns the delay before the next try (see backoff_policy::delay).
  milliseconds failed(mono_time now, double jitter = 1.0);

  /// The operation worked: the next failure waits the base delay again.
  void succeeded() { failures_ = 0; }

  /// False while the delay after the last failure runs.
  bool may_try(mono_time now) const { return failures_ == 0 || now >= next_try_; }

  /// When the delay after the last failure ends; meaningless without failures.
  mono_time next_try() const { return next_try_; }

  uint32_t failures() const { return failures_; }
  const backoff_policy& policy() const { return policy_; }

private:
  backoff_policy policy_;
  uint32_t failures_ = 0;
  mono_time next_try_{};
};

} // namespace topup
