#include "domain/routing.hpp"

#include <algorithm>
#include <limits>

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

std::optional<size_t> choose_provider(const std::vector<provider_view>& views,
                                      const std::string& carrier, routing_goal goal,
                                      double budget_ms, const std::string& exclude) {
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
    if (!view.serves(carrier))
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

} // namespace topup
