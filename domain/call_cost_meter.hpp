#pragma once

#include "domain/clock.hpp"

#include <chrono>
#include <optional>

namespace topup {

/// How many calls (recharges and status queries) an order costs one provider until it is
/// final, measured: calls started and orders finished after a call there, both decaying with
/// `half_life` so the figure follows a change in the provider's failure rate. 1 until it
/// knows better; never below 1.
class call_cost_meter {
public:
  explicit call_cost_meter(nanoseconds half_life = std::chrono::seconds(10));

  void call_started(mono_time now);
  void order_finished(mono_time now);
  double calls_per_order(mono_time now) const;

private:
  double decay(mono_time now) const;
  void advance(mono_time now);

  nanoseconds half_life_;
  double calls_ = 0;
  double orders_ = 0;
  std::optional<mono_time> at_;
};

} // namespace topup
