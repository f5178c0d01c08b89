#include "domain/routing.hpp"

#include <algorithm>
#include <limits>
#include <set>

namespace topup {

bool provider_view::serves(const std::string& carrier) const {
  return std::find(carriers.begin(), carriers.end(), carrier) != carriers.end();
}

double predicted_start_ms(const provider_view& view) {
  double latency_s = std::max(view.latency_ms, 0.001) / 1000.0;
  double by_concurrency = static_cast<double>(view.concurrency) / latency_s;
  double throughput = std::max(std::min(view.rate, by_concurrency), 1e-9);
  double orders_ahead = static_cast<double>(view.queued + view.in_flight + view.waiting);
  double calls_ahead = orders_ahead * std::max(view.calls_per_order, 1.0);
  return calls_ahead / throughput * 1000.0;
}

double predicted_completion_ms(const provider_view& view) {
  return predicted_start_ms(view) + view.latency_ms;
}

namespace {

/// choose_provider among the providers `eligible` admits (by index), with its rules.
template <class Eligible>
std::optional<size_t> choose_among(const std::vector<provider_view>& views, Eligible eligible,
                                   routing_goal goal, double budget_ms,
                                   const std::string& exclude) {
  // One pass, no allocation: intake runs this for every order it admits.
  std::optional<size_t> first_serving;   // by position: the fallback when all are excluded
  std::optional<size_t> most_preferred;  // among candidates (serving, not excluded)
  std::optional<size_t> preferred_in_budget;
  std::optional<size_t> fastest;         // among candidates that accept calls
  double best = std::numeric_limits<double>::infinity();
  auto more_preferred = [&](size_t a, const std::optional<size_t>& b) {
    return !b || views[a].preference < views[*b].preference;
  };
  for (size_t i = 0; i < views.size(); ++i) {
    const auto& view = views[i];
    if (!eligible(i))
      continue;
    if (!first_serving)
      first_serving = i;
    if (view.name == exclude)
      continue;
    if (more_preferred(i, most_preferred))
      most_preferred = i;
    if (!view.accepting)
      continue;
    auto predicted = predicted_completion_ms(view);
    if (goal == routing_goal::preferred && predicted <= budget_ms
        && more_preferred(i, preferred_in_budget))
      preferred_in_budget = i;
    // Ties go to the more preferred provider.
    if (!fastest || predicted < best || (predicted == best && more_preferred(i, fastest))) {
      best = predicted;
      fastest = i;
    }
  }
  if (!first_serving)
    return std::nullopt;
  if (!most_preferred)
    return first_serving;
  if (!fastest)
    return most_preferred;  // no breaker closed: the most preferred waits for its probe
  if (preferred_in_budget)
    return preferred_in_budget;
  return fastest;
}

bool listed(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

} // namespace

std::optional<size_t> choose_provider(const std::vector<provider_view>& views,
                                      const std::string& carrier, routing_goal goal,
                                      double budget_ms, const std::string& exclude) {
  return choose_among(
    views, [&](size_t i) { return views[i].serves(carrier); }, goal, budget_ms, exclude);
}

std::vector<size_t> wrong_carrier_candidates(const std::vector<provider_view>& views,
                                             const std::vector<std::string>& wrong_carrier_at) {
  std::set<std::string> ruled_out;
  for (const auto& view : views)
    if (listed(wrong_carrier_at, view.name))
      ruled_out.insert(view.carriers.begin(), view.carriers.end());
  std::vector<size_t> candidates;
  size_t widest = 0;  // carriers not ruled out that the candidates kept so far serve
  for (size_t i = 0; i < views.size(); ++i) {
    if (listed(wrong_carrier_at, views[i].name))
      continue;
    std::set<std::string> open_carriers;
    for (const auto& carrier : views[i].carriers)
      if (ruled_out.count(carrier) == 0)
        open_carriers.insert(carrier);
    if (open_carriers.empty() || open_carriers.size() < widest)
      continue;
    if (open_carriers.size() > widest)
      candidates.clear();
    widest = open_carriers.size();
    candidates.push_back(i);
  }
  return candidates;
}

std::optional<size_t> choose_provider_for(const std::vector<provider_view>& views,
                                          const order& o, routing_goal goal, double budget_ms,
                                          const std::string& exclude) {
  if (o.wrong_carrier_at.empty())
    return choose_provider(views, o.carrier, goal, budget_ms, exclude);
  auto candidates = wrong_carrier_candidates(views, o.wrong_carrier_at);
  return choose_among(
    views,
    [&](size_t i) { return std::binary_search(candidates.begin(), candidates.end(), i); },
    goal, budget_ms, exclude);
}

} // namespace topup
