#include "providers/outcome_model.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

namespace topup {
namespace {

nanoseconds from_milliseconds(double ms) {
  return std::chrono::duration_cast<nanoseconds>(std::chrono::duration<double, std::milli>(ms));
}

nanoseconds from_seconds(double s) {
  return std::chrono::duration_cast<nanoseconds>(std::chrono::duration<double>(s));
}

void require(bool condition, const std::string& what) {
  if (!condition)
    throw std::invalid_argument("simulated provider: " + what);
}

} // namespace

outcome_model::outcome_model(const simulated_adapter_config& cfg)
  : outcome_model(cfg, cfg.seed) {
}

outcome_model::outcome_model(const simulated_adapter_config& cfg, uint64_t seed)
  : latency_(cfg.latency),
    unknown_success_probability_(cfg.unknown_success_probability),
    wrong_carrier_(cfg.wrong_carrier),
    generator_(seed) {
  using kind = latency_config::distribution_kind;
  if (latency_.distribution == kind::fixed) {
    require(latency_.fixed_ms >= 0, "fixed latency must be >= 0");
  } else {
    require(latency_.median_ms > 0, "latency median must be > 0");
    require(latency_.p99_ms > latency_.median_ms, "latency p99 must be greater than the median");
    lognormal_mu_ = std::log(latency_.median_ms);
    lognormal_sigma_ = (std::log(latency_.p99_ms) - lognormal_mu_) / standard_normal_p99;
  }
  const auto& shares = cfg.outcomes;
  for (double share : {shares.success, shares.transient, shares.permanent, shares.unknown})
    require(share >= 0, "outcome shares must be >= 0");
  double total = shares.success + shares.transient + shares.permanent + shares.unknown;
  require(total > 0, "outcome shares must not all be 0");
  success_until_ = shares.success / total;
  transient_until_ = (shares.success + shares.transient) / total;
  permanent_until_ = (shares.success + shares.transient + shares.permanent) / total;
  require(unknown_success_probability_ >= 0 && unknown_success_probability_ <= 1,
          "unknown_success_probability must be within [0, 1]");
  for (const auto& window : cfg.outages) {
    require(window.from_s < window.to_s, "an outage must end after it starts");
    outages_.emplace_back(from_seconds(window.from_s), from_seconds(window.to_s));
  }
}

bool outcome_model::in_outage(mono_time now, mono_time start) const {
  auto elapsed = now - start;
  for (const auto& [from, to] : outages_)
    if (elapsed >= from && elapsed < to)
      return true;
  return false;
}

bool outcome_model::answers_wrong_carrier(std::string_view phone) const {
  for (const auto& digits : wrong_carrier_)
    if (phone.substr(0, digits.size()) == digits)
      return true;
  return false;
}

recharge_decision outcome_model::decide_recharge(mono_time now, mono_time start,
                                                 std::string_view phone) {
  recharge_decision decision;
  if (in_outage(now, start)) {
    decision.outage = true;
    return decision;
  }
  if (answers_wrong_carrier(phone)) {
    decision.outcome = simulated_outcome::wrong_carrier;
    decision.latency = draw_latency();
    return decision;
  }
  decision.outcome = draw_outcome();
  switch (decision.outcome) {
    case simulated_outcome::success:
      decision.performed = true;
      break;
    case simulated_outcome::unknown:
      decision.performed =
        std::uniform_real_distribution<double>{0, 1}(generator_) < unknown_success_probability_;
      break;
    case simulated_outcome::transient_failure:
    case simulated_outcome::permanent_failure:
    case simulated_outcome::wrong_carrier:
      break;
  }
  decision.latency = draw_latency();
  return decision;
}

query_decision outcome_model::decide_query(mono_time now, mono_time start) {
  query_decision decision;
  if (in_outage(now, start)) {
    decision.outage = true;
    return decision;
  }
  decision.latency = draw_latency();
  return decision;
}

nanoseconds outcome_model::draw_latency() {
  if (latency_.distribution == latency_config::distribution_kind::fixed)
    return from_milliseconds(latency_.fixed_ms);
  // A fresh distribution per draw: no cached second normal variate, so a copy of the model
  // and the original stay in step.
  return from_milliseconds(
    std::lognormal_distribution<double>{lognormal_mu_, lognormal_sigma_}(generator_));
}

simulated_outcome outcome_model::draw_outcome() {
  double x = std::uniform_real_distribution<double>{0, 1}(generator_);
  if (x < success_until_)
    return simulated_outcome::success;
  if (x < transient_until_)
    return simulated_outcome::transient_failure;
  if (x < permanent_until_)
    return simulated_outcome::permanent_failure;
  return simulated_outcome::unknown;
}

} // namespace topup
