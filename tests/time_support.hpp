#pragma once

// Injected time for the pure-logic tests: every instant is a number of milliseconds after t0.

#include "domain/clock.hpp"

namespace topup::testing {

inline const mono_time t0{};

inline mono_time at_ms(int64_t ms) {
  return t0 + milliseconds(ms);
}

} // namespace topup::testing
