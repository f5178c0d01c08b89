#pragma once

// The end of a run: its orders in the store audited against the providers' ledgers, the
// JSON line and the verdict printed, the SVG chart written.

#include "apps/bench/figures.hpp"
#include "apps/bench/verdict.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace topup::bench {

/// Every stored order of the run against every recharge in `ledger_files` (the simulator's
/// one file, or the files of the providers simulated in the node), into `report.audit`, or
/// why not into `report.audit_error`. `only_these_orders`: the ledgers hold earlier runs
/// too (a node the bench did not start), so only the run's orders are judged there.
void audit_against_ledgers(run_report& report, const std::vector<audited_order>& orders,
                           const std::vector<std::string>& ledger_files, bool only_these_orders);

/// The JSON line on stdout; each violation, or PASS, on stderr.
void print_verdict(const nlohmann::json& line, const std::vector<violation>& violations,
                   const run_report& report);

/// The SVG chart (completions per second over time, completion-time CDF) to `path`, with
/// the kill and restart marked; an error logged when it cannot be written.
void write_chart(const std::string& path, const run_report& report,
                 const completion_figures& figures);

} // namespace topup::bench
