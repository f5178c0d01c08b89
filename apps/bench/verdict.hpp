#pragma once

// Whether a run of topup-bench passed: the violations its figures show. Pure, a function of
// the figures alone (run_report and completion_figures), so that every workload is judged by
// the same code; what differs between workloads (W4 refuses and fails orders by design) is
// in workload_expectations. topup-bench prints each violation on stderr, puts them in its
// JSON line and exits non-zero when there is one; scripts/bench then stops.

#include "apps/bench/figures.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace topup::bench {

/// What a workload expects beyond what every workload must hold (no order lost, none
/// recharged twice, no blind re-send, no provider above its rate, store and ledgers
/// agreeing per order, the completion wait not timed out).
struct workload_expectations {
  /// Every order offered is acknowledged, none refused: the engine has the capacity.
  bool every_order_acknowledged = true;
  /// Every acknowledged order succeeds: none failed and refunded (at its deadline or not).
  bool every_order_succeeds = true;
  /// Share of acknowledged orders final within deadline + grace, at least.
  double min_share_final_in_time = 1.0;
};

/// W1-W3 (and any workload not named here): everything acknowledged, succeeded and final
/// in time. W4 (overload): refusals and orders failed at their deadline are its point; at
/// least 99% of the acknowledged orders final within 180 s (WORKLOAD, bench/README.md).
workload_expectations expectations_for(const std::string& workload);

/// The most calls a provider may see in any 1 s window: its rate plus a burst of 10% of it
/// (WORKLOAD, bench/README.md: "in no 1-second window may a provider see more calls than its
/// rate plus a burst of at most 10% of it"). 220 for p-agg at 200/s, 330 for the others at
/// 300/s.
uint64_t allowed_calls_per_second(double rate);

struct violation {
  std::string check;   ///< "lost", "duplicates", "deduplicated", "rate", "ledger", ...
  std::string reason;  ///< a sentence with the numbers
};

/// Every violation the figures show, in a fixed order. An interrupted run has one:
/// "interrupted" (its figures are incomplete, nothing else is judged).
std::vector<violation> judge(const run_report& report, const completion_figures& figures);

/// {"verdict": "pass"|"fail", "violations": [{"check": ..., "reason": ...}, ...]}
nlohmann::json verdict_json(const std::vector<violation>& violations);

} // namespace topup::bench
