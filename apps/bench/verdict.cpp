#include "apps/bench/verdict.hpp"

#include <fmt/format.h>

#include <cmath>

namespace topup::bench {

workload_expectations expectations_for(const std::string& workload) {
  workload_expectations expect;
  if (workload == "w4") {
    expect.every_order_acknowledged = false;
    expect.every_order_succeeds = false;
    expect.min_share_final_in_time = 0.99;
  }
  return expect;
}

uint64_t allowed_calls_per_second(double rate) {
  // Integer calls: 10% of 300 is 30, whatever the floating-point product says.
  return static_cast<uint64_t>(std::floor(rate * 1.1 + 1e-9));
}

namespace {

/// What every workload must hold about providers: no blind re-send, no second above rate.
void judge_providers(const run_report& r, std::vector<violation>& found) {
  if (r.providers == "provider-sim" && !r.sim_ledger)
    found.push_back({"provider_counts", "the provider simulator's counts (GET /ledger) could "
                                        "not be read: deduplicated calls and each provider's "
                                        "busiest second unchecked"});
  if (r.sim_ledger)
    for (const auto& provider : r.sim_ledger->providers)
      if (provider.deduplicated > 0)
        found.push_back(
          {"deduplicated",
           fmt::format("{}: {} calls repeated a request id already performed (the simulator "
                       "deduplicated them, so the ledger cannot show these re-sends)",
                       provider.name, provider.deduplicated)});
  for (const auto& [name, calls] : r.busiest_second) {
    auto rate = r.provider_rates.find(name);
    if (rate == r.provider_rates.end()) {
      found.push_back({"rate", fmt::format("{}: {} calls in its busiest second, and no "
                                           "configured rate to judge them by",
                                           name, calls)});
      continue;
    }
    auto allowed = allowed_calls_per_second(rate->second);
    if (calls > allowed)
      found.push_back({"rate", fmt::format("{}: {} calls in one second, above its rate {:g} "
                                           "+ 10% = {}",
                                           name, calls, rate->second, allowed)});
  }
}

/// What the store and the ledgers say, order by order.
void judge_ledgers(const run_report& r, std::vector<violation>& found) {
  if (!r.audit) {
    found.push_back({"ledger", "no per-order comparison of store and ledgers: "
                                 + (r.audit_error.empty() ? std::string{"not read"}
                                                          : r.audit_error)});
    return;
  }
  const auto& audit = *r.audit;
  if (audit.duplicates > 0)
    found.push_back({"duplicates", fmt::format("{} orders recharged more than once",
                                               audit.duplicates)});
  if (audit.disagreements.size() > audit.duplicates)
    found.push_back({"ledger", describe(audit)});
}

} // namespace

std::vector<violation> judge(const run_report& r, const completion_figures& f) {
  if (r.interrupted)
    return {{"interrupted", "stopped by a signal: the figures are those so far, not judged"}};
  const auto expect = expectations_for(r.load.name);
  std::vector<violation> found;
  if (f.lost > 0)
    found.push_back({"lost", fmt::format("{} of {} acknowledged orders never reached a final "
                                         "state",
                                         f.lost, r.acknowledged)});
  judge_ledgers(r, found);
  judge_providers(r, found);
  if (r.completion_wait_timed_out)
    found.push_back({"completion_wait", "the wait for every acknowledged order to be final "
                                        "timed out"});
  if (expect.every_order_acknowledged) {
    if (r.refused > 0)
      found.push_back({"refused", fmt::format("{} orders refused; {} expects none",
                                              r.refused, r.load.name)});
    if (r.acknowledged < r.load.orders)
      found.push_back({"unacknowledged", fmt::format("{} of {} orders acknowledged",
                                                     r.acknowledged, r.load.orders)});
  } else if (r.acknowledged + r.given_up < r.offered) {
    // Refusals are expected here, but every offered order ends acknowledged or given up.
    found.push_back({"unanswered", fmt::format("{} of {} offered orders neither acknowledged "
                                               "nor given up",
                                               r.offered - r.acknowledged - r.given_up,
                                               r.offered)});
  }
  if (expect.every_order_succeeds && f.failed > 0)
    found.push_back({"failed", fmt::format("{} orders failed and were refunded; {} expects "
                                           "every order to succeed",
                                           f.failed, r.load.name)});
  auto in_time = r.acknowledged == 0 ? 1.0
                                     : static_cast<double>(f.terminal_within_deadline)
                                         / static_cast<double>(r.acknowledged);
  if (in_time < expect.min_share_final_in_time)
    found.push_back({"late", fmt::format("{} of {} acknowledged orders final within {} ms + "
                                         "{} ms grace ({:.4f}, at least {:g} expected)",
                                         f.terminal_within_deadline, r.acknowledged,
                                         r.load.deadline_ms, r.load.grace_ms, in_time,
                                         expect.min_share_final_in_time)});
  return found;
}

nlohmann::json verdict_json(const std::vector<violation>& violations) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& v : violations)
    list.push_back({{"check", v.check}, {"reason", v.reason}});
  return {{"verdict", violations.empty() ? "pass" : "fail"}, {"violations", list}};
}

} // namespace topup::bench
