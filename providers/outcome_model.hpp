#pragma once

// What a simulated provider does with each call: outages, latency and outcome, drawn from a
// seeded generator so that a run can be repeated exactly. Pure logic: no CAF, no SOCI.

#include "config/config.hpp"
#include "domain/clock.hpp"

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace topup {

/// The outcome of one recharge call as the simulated provider lives it. `unknown` is not a
/// reply: the provider performs the recharge (or not) and never answers.
enum class simulated_outcome : uint8_t {
  success,
  transient_failure,
  permanent_failure,
  unknown,
  wrong_carrier,  ///< the number is one of the configured wrong_carrier ones: not recharged
};

/// The detail of a simulated "wrong carrier" answer.
inline constexpr const char* simulated_wrong_carrier = "simulated: the number is with another carrier";

/// What to do with one recharge call.
struct recharge_decision {
  /// The provider is down: refuse at once, perform nothing. No other field is meaningful.
  bool outage = false;
  simulated_outcome outcome = simulated_outcome::transient_failure;
  /// The recharge really happens and belongs in the ledger: every success, and an unknown
  /// outcome with probability unknown_success_probability.
  bool performed = false;
  /// How long after the call's arrival the answer goes out (unused for `unknown`).
  nanoseconds latency{0};
};

/// What to do with one status query.
struct query_decision {
  bool outage = false;  ///< the provider is down: the query fails at once
  nanoseconds latency{0};
};

/// The random behaviour of a simulated provider, built from its configuration.
///
/// Latency is either fixed or lognormal with the configured median and 99th percentile:
/// mu = ln(median), sigma = (ln(p99) - ln(median)) / z(0.99). Outcomes are drawn with the
/// configured shares (normalised by their sum). Outage windows are half-open,
/// [start + from_s, start + to_s).
///
/// Deterministic: the same configuration and seed give the same decisions for the same
/// sequence of calls. Each call that is not refused by an outage draws, in this order, its
/// outcome, whether an unknown outcome was performed (only for unknown), and its latency;
/// a refused call draws nothing. A call for a number the provider answers "wrong carrier"
/// for (configured wrong_carrier digits) draws its latency alone.
class outcome_model {
public:
  /// Uses cfg.seed. Throws std::invalid_argument for a configuration that cannot be drawn
  /// from (negative or all-zero shares, a lognormal with p99 <= median, ...).
  explicit outcome_model(const simulated_adapter_config& cfg);

  /// The same with another seed, e.g. one per provider of a run.
  outcome_model(const simulated_adapter_config& cfg, uint64_t seed);

  /// True when `now` lies in one of the outage windows of a provider started at `start`.
  bool in_outage(mono_time now, mono_time start) const;

  /// Decides one recharge call for `phone` arriving at `now`.
  recharge_decision decide_recharge(mono_time now, mono_time start, std::string_view phone = {});

  /// Whether the provider answers "wrong carrier" for `phone`: it begins with one of the
  /// configured wrong_carrier digits.
  bool answers_wrong_carrier(std::string_view phone) const;

  /// Decides one status query arriving at `now`; queries share the calls' latency.
  query_decision decide_query(mono_time now, mono_time start);

  /// One latency from the configured distribution.
  nanoseconds draw_latency();

private:
  simulated_outcome draw_outcome();

  latency_config latency_;
  double lognormal_mu_ = 0;
  double lognormal_sigma_ = 0;
  /// Upper bounds of success, transient and permanent on the [0, 1) line; unknown is the rest.
  double success_until_ = 0;
  double transient_until_ = 0;
  double permanent_until_ = 0;
  double unknown_success_probability_ = 0;
  std::vector<std::pair<nanoseconds, nanoseconds>> outages_;  ///< [from, to) after start
  std::vector<std::string> wrong_carrier_;
  std::mt19937_64 generator_;
};

/// z(0.99): the standard normal's 99th percentile.
constexpr double standard_normal_p99 = 2.3263478740;

} // namespace topup
