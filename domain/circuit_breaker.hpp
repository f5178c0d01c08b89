#pragma once

#include "domain/clock.hpp"

#include <cstdint>
#include <string_view>

namespace topup {

/// Stops calling a provider that keeps failing, so its orders go to failover providers
/// instead of burning their deadlines on connection errors. After `open_for`, one probe call
/// at a time is let through (half-open); a success closes the breaker, a failure opens it again.
class circuit_breaker {
public:
  enum class state : uint8_t { closed, open, half_open };

  /// Opens after `failure_threshold` failures in a row.
  circuit_breaker(uint32_t failure_threshold, nanoseconds open_for);

  /// Whether a call may start now. In half-open state this admits one probe and returns
  /// false for others until the probe's result is recorded.
  bool allow(mono_time now);

  /// Whether a call could start now, without admitting a probe.
  bool would_allow(mono_time now) const;

  void record_success();

  /// The admitted probe was not made after all: let another one go.
  void probe_abandoned() { probe_in_flight_ = false; }

  /// When an open breaker turns half-open.
  mono_time reopens_at() const { return opened_at_ + open_for_; }

  void record_failure(mono_time now);

  /// The state as of `now` (open turns half-open when its time is up).
  state current(mono_time now) const;

private:
  uint32_t failure_threshold_;
  nanoseconds open_for_;
  uint32_t consecutive_failures_ = 0;
  bool open_ = false;
  bool probe_in_flight_ = false;
  mono_time opened_at_{};
};

std::string_view to_string(circuit_breaker::state s);

} // namespace topup
