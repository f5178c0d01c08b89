#include "domain/call_cost_meter.hpp"

#include <algorithm>
#include <cmath>

namespace topup {

call_cost_meter::call_cost_meter(nanoseconds half_life) : half_life_(half_life) {}

double call_cost_meter::decay(mono_time now) const {
  if (!at_ || now <= *at_ || half_life_.count() <= 0)
    return 1.0;
  auto elapsed = std::chrono::duration<double>(now - *at_).count();
  return std::exp2(-elapsed / std::chrono::duration<double>(half_life_).count());
}

void call_cost_meter::advance(mono_time now) {
  auto factor = decay(now);
  calls_ *= factor;
  orders_ *= factor;
  if (!at_ || now > *at_)
    at_ = now;
}

void call_cost_meter::call_started(mono_time now) {
  advance(now);
  calls_ += 1;
}

void call_cost_meter::order_finished(mono_time now) {
  advance(now);
  orders_ += 1;
}

double call_cost_meter::calls_per_order(mono_time now) const {
  auto factor = decay(now);
  // One call for one order as the prior: what a provider that always succeeds costs.
  return std::max(1.0, (calls_ * factor + 1.0) / (orders_ * factor + 1.0));
}

} // namespace topup
