#include "actors/cluster_membership.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

namespace topup {

cluster_membership::cluster_membership(const cluster_config& timing)
  // Two reads further apart than down_after - heartbeat are not one watch: a member silent
  // for down_after could not be told from one this node missed.
  : watch_{timing.down_after_ms, timing.down_after_ms - timing.heartbeat_interval_ms} {}

membership_change cluster_membership::read(lease_store& db,
                                           const std::vector<std::string>& providers) {
  last_read_ = db.members();
  // Judged over the time this node watched the table: after an outage the others' rows are
  // as stale as this node's own was, which says nothing about whether they are down.
  auto now = watch_.observe(last_read_.members, last_read_.now_ms);
  auto change = compare(live_, now);
  if (!change.empty())
    spdlog::info("cluster: {} ({} live)", change.describe(), now.size());
  live_ = std::move(now);
  std::map<std::string, lease> holders;
  for (const auto& provider : providers)
    if (auto held = db.holder(provider))
      holders[provider] = std::move(*held);
  holders_ = std::move(holders);
  return change;
}

std::set<std::string> cluster_membership::lease_holders() const {
  std::set<std::string> nodes;
  for (const auto& [provider, held] : holders_)
    nodes.insert(held.owner);
  return nodes;
}

std::vector<member_info> cluster_membership::describe() const {
  std::vector<member_info> members;
  for (const auto& row : last_read_.members) {
    member_info info;
    info.node = row.node;
    info.address = row.address;
    info.live = live_.contains(row.node);
    info.heartbeat_age_ms = std::max<int64_t>(0, last_read_.now_ms - row.heartbeat_at_ms);
    for (const auto& [provider, held] : holders_)
      if (held.owner == row.node) {
        info.providers.push_back(provider);
        info.epochs.push_back(held.epoch);
      }
    members.push_back(std::move(info));
  }
  return members;
}

} // namespace topup
