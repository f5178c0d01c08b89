#include "apps/bench/report_output.hpp"

#include "apps/bench/svg_chart.hpp"
#include "providers/ledger.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <set>

namespace topup::bench {

void audit_against_ledgers(run_report& r, const std::vector<audited_order>& orders,
                           const std::vector<std::string>& ledger_files, bool only_these_orders) {
  try {
    auto recharges = ledger::records(ledger_files);
    if (only_these_orders) {
      std::set<std::string> ours;
      for (const auto& order : orders)
        ours.insert(order.id);
      recharges.erase(std::remove_if(recharges.begin(), recharges.end(),
                                     [&](const ledger_record& row) {
                                       return !ours.count(row.order_id);
                                     }),
                      recharges.end());
    }
    r.audit = audit_ledgers(orders, recharges);
  } catch (const std::exception& error) {
    r.audit_error = std::string{"cannot read the ledgers: "} + error.what();
    spdlog::error("{}", r.audit_error);
  }
}

void print_verdict(const nlohmann::json& line, const std::vector<violation>& violations,
                   const run_report& r) {
  std::cout << line.dump() << std::endl;
  for (const auto& v : violations)
    std::cerr << "topup-bench: FAIL " << v.check << ": " << v.reason << "\n";
  if (violations.empty())
    std::cerr << "topup-bench: PASS " << r.load.name << ": " << describe(*r.audit) << "\n";
}

void write_chart(const std::string& path, const run_report& r,
                 const completion_figures& figures) {
  chart_input chart;
  chart.title = r.load.name + " " + r.mode + ": " + std::to_string(r.acknowledged)
                + " orders accepted, " + std::to_string(figures.terminal) + " terminal";
  chart.completions_per_second = figures.completions_per_second;
  chart.completion = &figures.all;
  if (r.load.kill_at_s)
    chart.markers_s.push_back(*r.load.kill_at_s);
  if (r.load.restart_at_s)
    chart.markers_s.push_back(*r.load.restart_at_s);
  std::ofstream out{path};
  out << render_svg(chart);
  if (!out)
    spdlog::error("cannot write {}", path);
}

} // namespace topup::bench
