#pragma once

// W3's timeline (bench/README.md): SIGKILL the nodes the bench started --kill-at seconds into
// the load and start them again on the same files at --restart-at; in a cluster, the nodes
// cluster_scenario picks, and the failover it times.

#include "apps/bench/cluster_scenario.hpp"
#include "apps/bench/node_fleet.hpp"
#include "apps/bench/workload.hpp"

#include <cstdint>
#include <optional>
#include <vector>

namespace topup::bench {

class crash_scenario {
public:
  /// `cluster`: null unless the nodes run as a cluster; both must outlive the scenario.
  crash_scenario(const workload& load, node_fleet& fleet, cluster_scenario* cluster);

  /// Kills or restarts what is due `t` seconds after the load's start (`now`); false when a
  /// killed node did not start again (the run ends).
  bool step(double t, steady_time now);
  /// Node `index` is down as planned: killed, its restart still to come.
  bool planned_gap(size_t index) const;
  /// A cluster's failover after the kill is being timed: the main loop looks more often.
  bool timing_failover() const;
  /// When the nodes were killed, in wall-clock milliseconds; nothing before the kill.
  std::optional<int64_t> killed_at_wall_ms() const;

private:
  bool was_killed(size_t index) const;

  std::optional<double> kill_at_s_, restart_at_s_;
  node_fleet& fleet_;
  cluster_scenario* cluster_;
  bool kill_done_ = false;
  std::vector<size_t> killed_;
  steady_time killed_at_{};
  int64_t killed_at_wall_ms_ = 0;
  bool restarted_ = false;
};

} // namespace topup::bench
