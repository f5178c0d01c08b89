#include "apps/bench/crash_scenario.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <numeric>

namespace topup::bench {

crash_scenario::crash_scenario(const workload& load, node_fleet& fleet,
                               cluster_scenario* cluster)
  : kill_at_s_(load.kill_at_s), restart_at_s_(load.restart_at_s), fleet_(fleet),
    cluster_(cluster) {}

bool crash_scenario::step(double t, steady_time now) {
  if (fleet_.process(0) && kill_at_s_ && !kill_done_ && t >= *kill_at_s_) {
    kill_done_ = true;
    fleet_.note_peak_rss();
    if (cluster_) {
      killed_ = cluster_->nodes_to_kill(fleet_.size());
    } else {
      killed_.resize(fleet_.size());
      std::iota(killed_.begin(), killed_.end(), size_t{0});
    }
    for (auto i : killed_)
      fleet_.kill(i);
    killed_at_ = steady_clock::now();
    killed_at_wall_ms_ = wall_now_ms();
    if (cluster_)
      cluster_->figures().killed_nodes = killed_.size();
    spdlog::info("t={:.1f}s: {} of {} nodes killed (SIGKILL)", t, killed_.size(), fleet_.size());
  }
  if (!killed_.empty() && restart_at_s_ && !restarted_ && t >= *restart_at_s_) {
    restarted_ = true;
    bool started = true;
    for (auto i : killed_) {
      started = started && fleet_.start(i);
      if (started)
        spdlog::info("t={:.1f}s: node restarted, listening on {}:{}", t,
                     fleet_.endpoint(i).first, fleet_.endpoint(i).second);
    }
    if (!started)
      return false;
  }
  if (cluster_)
    cluster_->watch_failover(now, fleet_, killed_, killed_at_, restarted_);
  return true;
}

bool crash_scenario::was_killed(size_t index) const {
  return std::find(killed_.begin(), killed_.end(), index) != killed_.end();
}

bool crash_scenario::planned_gap(size_t index) const {
  return was_killed(index) && !restarted_ && restart_at_s_;
}

bool crash_scenario::timing_failover() const {
  return !killed_.empty() && cluster_ && cluster_->timing_failover();
}

std::optional<int64_t> crash_scenario::killed_at_wall_ms() const {
  if (killed_.empty())
    return std::nullopt;
  return killed_at_wall_ms_;
}

} // namespace topup::bench
