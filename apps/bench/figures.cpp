#include "apps/bench/figures.hpp"

#include "apps/bench/verdict.hpp"
#include "domain/order.hpp"

#include <algorithm>
#include <chrono>
#include <sstream>

namespace topup::bench {

namespace {

double to_ms(latency_histogram::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

nlohmann::json to_json(const latency_summary& s) {
  return {{"count", s.count}, {"p50", s.p50_ms}, {"p90", s.p90_ms}, {"p99", s.p99_ms},
          {"max", s.max_ms}};
}

double share(uint64_t part, uint64_t whole) {
  return whole == 0 ? 0.0 : static_cast<double>(part) / static_cast<double>(whole);
}

double per_second(uint64_t count, double seconds) {
  return seconds > 0 ? static_cast<double>(count) / seconds : 0.0;
}

template <class T>
nlohmann::json optional_json(const std::optional<T>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

} // namespace

audited_order audited(const stored_order& row) {
  auto succeeded = !row.succeeded_provider.empty();
  return {row.id, row.status, succeeded ? row.succeeded_provider : row.provider,
          succeeded ? row.provider_txn : std::string{}};
}

bool is_terminal(const stored_order& row) {
  return row.status == "succeeded" || row.status == "failed";
}

latency_summary summarize(const latency_histogram& histogram) {
  return {histogram.count(), to_ms(histogram.quantile(0.50)), to_ms(histogram.quantile(0.90)),
          to_ms(histogram.quantile(0.99)), to_ms(histogram.max())};
}

latency_histogram make_completion_histogram() {
  return latency_histogram{std::chrono::microseconds(100), std::chrono::seconds(600), 1.01};
}

completion_figures compute_completion(const std::vector<stored_order>& rows,
                                      uint64_t acknowledged, const workload& w,
                                      int64_t load_start_ms,
                                      const std::string& failover_provider) {
  completion_figures f;
  f.stored = rows.size();
  for (const auto& row : rows) {
    if (row.provider == failover_provider)
      ++f.via_failover;
    if (!is_terminal(row))
      continue;
    ++f.terminal;
    auto took_ms = row.updated_at_ms - row.accepted_at_ms;
    auto took = std::chrono::milliseconds(std::max<int64_t>(took_ms, 0));
    f.all.record(took);
    if (took_ms <= w.deadline_ms + w.grace_ms)
      ++f.terminal_within_deadline;
    if (row.status == "succeeded") {
      ++f.succeeded;
      f.successes.record(took);
      if (took_ms <= w.deadline_ms)
        ++f.succeeded_within_deadline;
    } else {
      ++f.failed;
      if (failed_at_deadline(row.last_error))
        ++f.failed_at_deadline;
    }
    auto since_start = std::max<int64_t>(row.updated_at_ms - load_start_ms, 0);
    f.last_completion_ms = std::max(f.last_completion_ms, since_start);
    auto bin = static_cast<size_t>(since_start / 1000);
    if (f.completions_per_second.size() <= bin)
      f.completions_per_second.resize(bin + 1, 0);
    ++f.completions_per_second[bin];
  }
  f.lost = acknowledged > f.terminal ? acknowledged - f.terminal : 0;
  return f;
}

nlohmann::json to_json(const cluster_figures& c) {
  return {{"nodes", c.nodes},
          {"heartbeat_interval_ms", c.heartbeat_interval_ms},
          {"down_after_ms", c.down_after_ms},
          {"lease_ttl_ms", c.lease_ttl_ms},
          {"peak_rss_kib", c.peak_rss_kib},
          {"watched_provider", c.watched_provider},
          {"killed_nodes", c.killed_nodes},
          {"killed_node", c.killed_node},
          {"failover_ms", optional_json(c.failover_ms)},
          {"calls_resumed_ms", optional_json(c.calls_resumed_ms)},
          {"rebalanced_ms", optional_json(c.rebalanced_ms)}};
}

namespace {

/// Per provider: its busiest second and what it may see in one.
nlohmann::json busiest_seconds_json(const run_report& r) {
  nlohmann::json providers = nlohmann::json::object();
  for (const auto& [name, calls] : r.busiest_second) {
    auto rate = r.provider_rates.find(name);
    providers[name] = {{"calls", calls},
                       {"allowed", rate == r.provider_rates.end()
                                     ? nlohmann::json(nullptr)
                                     : nlohmann::json(allowed_calls_per_second(rate->second))}};
  }
  return providers;
}

} // namespace

nlohmann::json to_json(const run_report& r, const completion_figures& f) {
  const auto& w = r.load;
  nlohmann::json params{{"loop", w.loop == loop_kind::closed ? "closed" : "open"},
                        {"orders", w.orders},
                        {"batch", w.batch},
                        {"deadline_ms", w.deadline_ms},
                        {"grace_ms", w.grace_ms}};
  if (w.loop == loop_kind::closed)
    params["outstanding"] = w.outstanding;
  else
    params["rate"] = w.rate;
  if (w.kill_at_s)
    params["kill_at_s"] = *w.kill_at_s;
  if (w.restart_at_s)
    params["restart_at_s"] = *w.restart_at_s;
  auto completed_s = static_cast<double>(f.last_completion_ms) / 1000.0;
  std::optional<uint64_t> duplicates, recharges, busiest;
  if (r.audit) {
    duplicates = r.audit->duplicates;
    recharges = r.audit->recharges;
  }
  for (const auto& [name, calls] : r.busiest_second)
    busiest = std::max(busiest.value_or(0), calls);
  return {
    {"workload", w.name},
    {"mode", r.mode},
    {"params", params},
    {"offered", r.offered},
    {"accepted", r.acknowledged},
    {"refused", r.refused},
    {"retries", r.retries},
    {"refusals_by_error", r.refusals_by_error},
    {"given_up", r.given_up},
    {"load_seconds", r.load_seconds},
    {"run_seconds", r.run_seconds},
    {"node_start_to_load_ms", r.node_start_to_load_ms},
    {"accepted_per_s", per_second(r.acknowledged, r.load_seconds)},
    {"completed", f.terminal},
    {"completed_per_s", per_second(f.terminal, completed_s)},
    {"succeeded", f.succeeded},
    {"failed", f.failed},
    {"lost", f.lost},
    {"duplicates", optional_json(duplicates)},
    {"ledger_recharges", optional_json(recharges)},
    {"ledger_audit", r.audit ? to_json(*r.audit) : nlohmann::json{{"error", r.audit_error}}},
    {"share_succeeded_within_deadline", share(f.succeeded_within_deadline, r.acknowledged)},
    {"share_terminal_within_deadline", share(f.terminal_within_deadline, r.acknowledged)},
    {"failed_at_deadline", f.failed_at_deadline},
    {"share_failed_at_deadline", share(f.failed_at_deadline, r.acknowledged)},
    {"accept_latency_ms", to_json(r.accept_latency)},
    {"completion_ms", to_json(summarize(f.all))},
    {"completion_succeeded_ms", to_json(summarize(f.successes))},
    {"failover_orders", f.via_failover},
    {"max_provider_calls_per_1s", optional_json(busiest)},
    {"provider_busiest_second", busiest_seconds_json(r)},
    {"providers", r.providers},
    {"provider_start_to_load_ms", optional_json(r.provider_start_to_load_ms)},
    {"provider_ledger", r.sim_ledger ? to_json(*r.sim_ledger) : nlohmann::json{}},
    {"interrupted", r.interrupted},
    {"peak_rss_kib", optional_json(r.peak_rss_kib)},
    {"node_starts", r.node_starts},
    {"reconnects", r.reconnects},
    {"failed_connects", r.failed_connects},
    {"completion_wait_timed_out", r.completion_wait_timed_out},
    {"cluster", r.cluster ? to_json(*r.cluster) : nlohmann::json{}},
    {"ref_prefix", r.ref_prefix},
  };
}

std::optional<router_recovery> parse_router_recovery(const std::string& log_line) {
  const std::string marker = "router recovered ";
  auto at = log_line.find(marker);
  if (at == std::string::npos)
    return std::nullopt;
  std::istringstream words{log_line.substr(at + marker.size())};
  router_recovery recovery;
  std::string waiting, orders, and_word;
  if (!(words >> recovery.waiting >> waiting >> orders >> and_word >> recovery.in_flight)
      || waiting != "waiting" || orders != "orders" || and_word != "and")
    return std::nullopt;
  return recovery;
}

nlohmann::json to_json(const hold_report& r) {
  nlohmann::json recovered = nullptr;
  if (r.recovered)
    recovered = {{"waiting", r.recovered->waiting}, {"in_flight", r.recovered->in_flight}};
  return {
    {"workload", r.load.name},
    {"mode", "remote"},
    {"params", {{"orders", r.load.orders}, {"batch", r.load.batch},
                {"outstanding", r.load.outstanding}}},
    {"offered", r.offered},
    {"accepted", r.acknowledged},
    {"refused", r.refused},
    {"retries", r.retries},
    {"load_seconds", r.load_seconds},
    {"accepted_per_s", per_second(r.acknowledged, r.load_seconds)},
    {"accept_latency_ms", to_json(r.accept_latency)},
    {"rss_kib", optional_json(r.rss_kib)},
    {"peak_rss_kib", optional_json(r.peak_rss_kib)},
    {"restart_listening_ms", optional_json(r.restart_listening_ms)},
    {"restart_recovered_ms", optional_json(r.restart_recovered_ms)},
    {"recovered", recovered},
    {"rss_after_restart_kib", optional_json(r.rss_after_restart_kib)},
    {"peak_rss_after_restart_kib", optional_json(r.peak_rss_after_restart_kib)},
    {"interrupted", r.interrupted},
    {"ref_prefix", r.ref_prefix},
  };
}

uint64_t max_in_window(std::vector<int64_t>& times_ms, int64_t window_ms) {
  std::sort(times_ms.begin(), times_ms.end());
  uint64_t best = 0;
  size_t first = 0;
  for (size_t last = 0; last < times_ms.size(); ++last) {
    while (times_ms[last] - times_ms[first] >= window_ms)
      ++first;
    best = std::max<uint64_t>(best, last - first + 1);
  }
  return best;
}

} // namespace topup::bench
