#include "apps/bench/node_fleet.hpp"

#include "apps/bench/caf_submitter.hpp"
#include "apps/bench/cluster_setup.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace topup::bench {

node_fleet::node_fleet(size_t count, node_launch launch, std::optional<pid_t> outside_pid)
  : launch_(std::move(launch)), outside_pid_(outside_pid), nodes_(count), endpoints_(count),
    last_gateways_(count), lost_since_(count), peak_rss_by_node_(count, 0) {}

bool node_fleet::start(size_t index) {
  std::vector<std::string> command{launch_.binary, "--config",
                                   launch_.configs.at(index).string()};
  if (launch_.log_info)
    command.insert(command.end(), {"--log-level", "info"});
  try {
    nodes_.at(index) = std::make_unique<server_process>(
      "topup-node", std::move(command), launch_.run_dir.string(), log_path(index));
  } catch (const std::exception& error) {
    spdlog::error("{}", error.what());
    return false;
  }
  ++starts_;
  endpoints_.at(index) = {nodes_[index]->host(), nodes_[index]->port()};
  return true;
}

bool node_fleet::all_up() const {
  return std::all_of(nodes_.begin(), nodes_.end(),
                     [](const auto& node) { return !node || node->pid() > 0; });
}

std::string node_fleet::log_path(size_t index) const {
  return (launch_.run_dir / (launch_.clustered ? bench_node_name(index) + ".log" : "node.log"))
    .string();
}

void node_fleet::set_endpoint(size_t index, std::string host, uint16_t port) {
  endpoints_.at(index) = {std::move(host), port};
}

std::optional<std::vector<gateway_actor>> node_fleet::connect_all(caf::actor_system& system) {
  std::vector<gateway_actor> gateways;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    auto gateway = connect_node(system, endpoints_[i].first, endpoints_[i].second,
                                std::chrono::seconds(10));
    if (!gateway)
      return std::nullopt;
    last_gateways_[i] = gateway->address();
    gateways.push_back(std::move(*gateway));
  }
  return gateways;
}

std::optional<gateway_actor> node_fleet::reconnect(caf::actor_system& system, size_t index,
                                                   steady_time now, steady_time load_start) {
  auto again = connect_node(system, endpoints_[index].first, endpoints_[index].second,
                            std::chrono::milliseconds(200), last_gateways_[index],
                            /*quiet=*/true);
  if (!again) {
    ++failed_connects_;
    if (!lost_since_[index])
      lost_since_[index] = now;
    return std::nullopt;
  }
  last_gateways_[index] = again->address();
  lost_since_[index].reset();
  ++reconnects_;
  spdlog::info("t={:.1f}s: connected to {}:{} again", seconds_between(load_start, now),
               endpoints_[index].first, endpoints_[index].second);
  return again;
}

bool node_fleet::lost_longer_than(size_t index, steady_time now,
                                  steady_clock::duration limit) const {
  return lost_since_.at(index) && now - *lost_since_[index] > limit;
}

void node_fleet::note_peak_rss() {
  auto note = [&](std::optional<uint64_t> now, std::optional<size_t> node = {}) {
    if (!now)
      return;
    peak_rss_ = std::max(peak_rss_.value_or(0), *now);
    if (node)
      peak_rss_by_node_.at(*node) = std::max(peak_rss_by_node_.at(*node), *now);
  };
  if (outside_pid_)
    note(bench::peak_rss_kib(*outside_pid_));
  for (size_t i = 0; i < nodes_.size(); ++i)
    if (nodes_[i] && nodes_[i]->pid() > 0)
      note(bench::peak_rss_kib(nodes_[i]->pid()), i);
}

void node_fleet::stop() {
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (!nodes_[i])
      continue;
    auto code = nodes_[i]->stop(std::chrono::seconds(20));
    if (code != 0)
      spdlog::warn("the node did not stop cleanly on SIGTERM (see {})", log_path(i));
  }
}

void node_fleet::kill(size_t index) {
  if (nodes_.at(index))
    nodes_[index]->kill();
}

void node_fleet::kill_all() {
  for (size_t i = 0; i < nodes_.size(); ++i)
    kill(i);
}

} // namespace topup::bench
