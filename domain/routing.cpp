#include "domain/routing.hpp"

#include <algorithm>
#include <limits>

namespace topup {

bool provider_view::serves(const std::string& carrier) const {
  return std::find(carriers.begin(), carriers.end(), carrier) != carriers.end();
}

double predicted_completion_ms(const provider_view& view) {
  double latency_s = std::max(view.latency_ms, 0.001) / 1000.0;
  double by_concurrency = static_cast<double>(view.concurrency) / latency_s;
  double throughput = std::max(std::min(view.rate, by_concurrency), 1e-9);
  double ahead = static_cast<double>(view.queued + view.in_flight);
  return ahead / throughput * 1000.0 + view.latency_ms;
}

std::optional<size_t> choose_provider(const std::vector<provider_view>& views,
                                      const std::string& carrier, routing_goal goal,
                                      double budget_ms, const std::string& exclude) {
  std::vector<size_t> serving;
  for (size_t i = 0; i < views.size(); ++i)
    if (views[i].serves(carrier))
      serving.push_back(i);
  if (serving.empty())
    return std::nullopt;
  std::vector<size_t> candidates;
  for (auto i : serving)
    if (views[i].name != exclude)
      candidates.push_back(i);
  if (candidates.empty())
    return serving.front();
  auto by_preference = [&](size_t a, size_t b) {
    return views[a].preference < views[b].preference;
  };
  std::sort(candidates.begin(), candidates.end(), by_preference);
  std::vector<size_t> open_for_calls;
  for (auto i : candidates)
    if (views[i].accepting)
      open_for_calls.push_back(i);
  if (open_for_calls.empty())
    return candidates.front();
  if (goal == routing_goal::preferred) {
    for (auto i : open_for_calls)
      if (predicted_completion_ms(views[i]) <= budget_ms)
        return i;
  }
  size_t fastest = open_for_calls.front();
  double best = std::numeric_limits<double>::infinity();
  for (auto i : open_for_calls) {
    auto predicted = predicted_completion_ms(views[i]);
    if (predicted < best) {
      best = predicted;
      fastest = i;
    }
  }
  return fastest;
}

} // namespace topup
