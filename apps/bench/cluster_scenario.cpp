#include "apps/bench/cluster_scenario.hpp"

#include "apps/bench/cluster_setup.hpp"
#include "apps/bench/run_setup.hpp"
#include "apps/process/child_process.hpp"
#include "config/json_reader.hpp"
#include "domain/ownership.hpp"
#include "persistence/lease_store.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <numeric>

namespace topup::bench {

namespace fs = std::filesystem;

cluster_scenario::cluster_scenario(const bench_options& options, const fs::path& base_config,
                                   const fs::path& run_dir)
  : kill_owner_only_(options.kill_owner_only) {
  auto base = json_config::parse_document(json_config::read_file(base_config));
  provider_names_ = provider_names(base);
  std::vector<uint16_t> ports;
  for (uint64_t i = 0; i < options.nodes; ++i)
    ports.push_back(process::free_port());
  for (size_t i = 0; i < ports.size(); ++i) {
    auto path = run_dir / (bench_node_name(i) + ".json");
    write_json_file(path, cluster_node_config(base, i, ports, options.postgresql, options.timing));
    node_configs_.push_back(path);
  }
  figures_.nodes = options.nodes;
  figures_.heartbeat_interval_ms = options.timing.heartbeat_interval_ms;
  figures_.down_after_ms = options.timing.down_after_ms;
  figures_.lease_ttl_ms = options.timing.lease_ttl_ms;
  figures_.watched_provider = options.kill_owner_of;
}

cluster_scenario::~cluster_scenario() = default;

void cluster_scenario::open_leases(const store_config& store) {
  leases_ = std::make_unique<lease_store>(store);
}

std::vector<size_t> cluster_scenario::nodes_to_kill(size_t node_count) {
  const auto& watched = figures_.watched_provider;
  std::vector<size_t> every(node_count);
  std::iota(every.begin(), every.end(), size_t{0});
  try {
    auto holder = leases_->holder(watched);
    if (!holder) {
      spdlog::error("no node holds provider {} at the kill", watched);
      return kill_owner_only_ ? std::vector<size_t>{} : every;
    }
    killed_epoch_ = holder->epoch;
    figures_.killed_node = holder->owner;
    if (!kill_owner_only_)
      return every;
    for (size_t i = 0; i < node_count; ++i)
      if (bench_node_name(i) == holder->owner)
        return {i};
    spdlog::error("provider {} is held by {}, not a node of this run", watched, holder->owner);
  } catch (const std::exception& error) {
    spdlog::error("cannot read who holds provider {}: {}", watched, error.what());
  }
  return {};
}

void cluster_scenario::watch_failover(steady_time now, const node_fleet& fleet,
                                      const std::vector<size_t>& killed, steady_time killed_at,
                                      bool restarted) {
  if (killed.empty())
    return;
  auto since = [](steady_time from, steady_time to) {
    return std::chrono::duration<double, std::milli>(to - from).count();
  };
  try {
    if (!figures_.failover_ms) {
      auto holder = leases_->holder(figures_.watched_provider);
      if (holder && holder->epoch > killed_epoch_) {
        figures_.failover_ms = since(killed_at, now);
        spdlog::info("provider {} moved from {} to {} {:.0f} ms after the kill",
                     figures_.watched_provider, figures_.killed_node, holder->owner,
                     *figures_.failover_ms);
      }
    }
    auto all_back = std::all_of(killed.begin(), killed.end(), [&](size_t i) {
      return fleet.process(i) && fleet.process(i)->pid() > 0;
    });
    if (restarted && !figures_.rebalanced_ms && all_back) {
      std::vector<std::string> names;
      for (size_t i = 0; i < fleet.size(); ++i)
        names.push_back(bench_node_name(i));
      auto planned = assign_owners(provider_names_, names);
      bool settled = std::all_of(planned.begin(), planned.end(), [&](const auto& entry) {
        auto holder = leases_->holder(entry.first);
        return holder && holder->owner == entry.second;
      });
      if (settled) {
        figures_.rebalanced_ms = since(fleet.process(killed.back())->ready_at(), now);
        spdlog::info("every provider with its planned owner {:.0f} ms after the restart",
                     *figures_.rebalanced_ms);
      }
    }
  } catch (const std::exception& error) {
    spdlog::debug("cannot read the leases: {}", error.what());
  }
}

bool cluster_scenario::timing_failover() const {
  return !(figures_.failover_ms && figures_.rebalanced_ms);
}

} // namespace topup::bench
