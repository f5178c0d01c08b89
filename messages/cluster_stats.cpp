#include "messages/cluster_stats.hpp"

#include <algorithm>
#include <map>

namespace topup {
namespace {

void add_to(intake_stats& sum, const intake_stats& x) {
  sum.accepted += x.accepted;
  sum.existing += x.existing;
  sum.rejected += x.rejected;
  sum.overloaded += x.overloaded;
  sum.unavailable += x.unavailable;
  sum.in_flight += x.in_flight;
}

void add_to(store_stats& sum, const store_stats& x) {
  sum.commits += x.commits;
  sum.rows_written += x.rows_written;
  sum.failed_commits += x.failed_commits;
  sum.pending_writes += x.pending_writes;
  sum.healthy = sum.healthy && x.healthy;
}

void add_to(callback_stats& sum, const callback_stats& x) {
  sum.delivered += x.delivered;
  sum.failed_attempts += x.failed_attempts;
  sum.abandoned += x.abandoned;
  sum.in_flight += x.in_flight;
  // The members share one outbox: each counted the same pending notifications.
  sum.pending = std::max(sum.pending, x.pending);
}

void add_to(provider_stats& sum, const provider_stats& x) {
  sum.calls += x.calls;
  sum.queries += x.queries;
  sum.succeeded += x.succeeded;
  sum.failed += x.failed;
  sum.expired += x.expired;
  sum.retries += x.retries;
  sum.unknown += x.unknown;
  sum.failed_over += x.failed_over;
  sum.unknown_at_deadline += x.unknown_at_deadline;
  sum.queued += x.queued;
  sum.in_flight += x.in_flight;
  sum.tokens += x.tokens;
  // Each member writes through its own store connection: the furthest behind tells.
  sum.store_lag_ms = std::max(sum.store_lag_ms, x.store_lag_ms);
  // A provider moving between owners shows at both for a moment, perhaps in two states.
  if (sum.breaker.empty())
    sum.breaker = x.breaker;
  else if (!x.breaker.empty() && ("/" + sum.breaker + "/").find("/" + x.breaker + "/")
                                   == std::string::npos)
    sum.breaker += "/" + x.breaker;
}

} // namespace

node_stats sum_of(const std::vector<node_stats>& nodes) {
  node_stats sum;
  if (!nodes.empty())
    sum.protocol = nodes.front().protocol;
  std::map<std::string, size_t> provider_at;
  for (const auto& node : nodes) {
    sum.restarts += node.restarts;
    add_to(sum.intake, node.intake);
    add_to(sum.store, node.store);
    add_to(sum.callbacks, node.callbacks);
    for (const auto& provider : node.providers) {
      auto [at, fresh] = provider_at.try_emplace(provider.provider, sum.providers.size());
      if (fresh) {
        sum.providers.push_back(provider);
        continue;
      }
      add_to(sum.providers[at->second], provider);
    }
  }
  return sum;
}

cluster_stats make_cluster_stats(node_stats asked, std::vector<node_stats> answered,
                                 std::vector<unreachable_node> unreachable) {
  std::sort(answered.begin(), answered.end(),
            [](const node_stats& a, const node_stats& b) { return a.node < b.node; });
  std::sort(unreachable.begin(), unreachable.end(),
            [](const unreachable_node& a, const unreachable_node& b) { return a.node < b.node; });
  cluster_stats stats;
  auto orders = asked.orders;
  stats.nodes.push_back(std::move(asked));
  for (auto& node : answered)
    stats.nodes.push_back(std::move(node));
  stats.unreachable = std::move(unreachable);
  stats.totals = sum_of(stats.nodes);
  stats.totals.orders = std::move(orders);
  return stats;
}

} // namespace topup
