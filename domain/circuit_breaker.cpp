#include "domain/circuit_breaker.hpp"

namespace topup {

circuit_breaker::circuit_breaker(uint32_t failure_threshold, nanoseconds open_for)
  : failure_threshold_(failure_threshold == 0 ? 1 : failure_threshold), open_for_(open_for) {}

circuit_breaker::state circuit_breaker::current(mono_time now) const {
  if (!open_)
    return state::closed;
  return now - opened_at_ >= open_for_ ? state::half_open : state::open;
}

bool circuit_breaker::would_allow(mono_time now) const {
  switch (current(now)) {
    case state::closed: return true;
    case state::open: return false;
    case state::half_open: return !probe_in_flight_;
  }
  return false;
}

bool circuit_breaker::allow(mono_time now) {
  if (!would_allow(now))
    return false;
  if (current(now) == state::half_open)
    probe_in_flight_ = true;
  return true;
}

void circuit_breaker::record_success() {
  consecutive_failures_ = 0;
  open_ = false;
  probe_in_flight_ = false;
}

void circuit_breaker::record_failure(mono_time now) {
  ++consecutive_failures_;
  if (open_ || consecutive_failures_ >= failure_threshold_) {
    // A failed probe, or too many failures in a row: (re)open for a full period.
    open_ = true;
    opened_at_ = now;
  }
  probe_in_flight_ = false;
}

std::string_view to_string(circuit_breaker::state s) {
  switch (s) {
    case circuit_breaker::state::closed: return "closed";
    case circuit_breaker::state::open: return "open";
    case circuit_breaker::state::half_open: return "half_open";
  }
  return "invalid";
}

} // namespace topup
