#pragma once

// The nodes of a run: the topup-node processes the bench starts (one, or a cluster's), or the
// one it connects to; their gateways' addresses, the connections to them and their
// reconnects, and their peak RSS.

#include "apps/bench/pacing.hpp"
#include "apps/bench/server_process.hpp"
#include "messages/interfaces.hpp"

#include <caf/actor_addr.hpp>
#include <caf/actor_system.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <sys/types.h>
#include <utility>
#include <vector>

namespace topup::bench {

/// How the bench starts its nodes.
struct node_launch {
  std::string binary;  ///< topup-node; empty: the bench starts none
  std::vector<std::filesystem::path> configs;  ///< by node: the file it is started with
  std::filesystem::path run_dir;               ///< where the nodes run and log
  bool clustered = false;  ///< the logs are named after the cluster's nodes
  bool log_info = false;   ///< hold waits for the router's recovery line, logged at info
};

class node_fleet {
public:
  /// `count` nodes, started with `launch` when it names a binary. `outside_pid`: the
  /// process running an engine the bench did not start (the bench itself with
  /// --in-process, --node-pid with --connect), counted in the peak RSS.
  node_fleet(size_t count, node_launch launch, std::optional<pid_t> outside_pid);

  size_t size() const { return nodes_.size(); }
  /// Starts node `index` anew (its files kept) and learns its gateway's address; false,
  /// logged, when it did not come up.
  bool start(size_t index);
  /// The node the bench started as `index`; null when it runs elsewhere.
  server_process* process(size_t index) const { return nodes_.at(index).get(); }
  /// Every node the bench started runs (a node it did not start counts as running).
  bool all_up() const;
  std::string log_path(size_t index) const;
  const std::pair<std::string, uint16_t>& endpoint(size_t index) const {
    return endpoints_.at(index);
  }
  /// --connect: where the node the bench did not start listens.
  void set_endpoint(size_t index, std::string host, uint16_t port);

  /// Connects to every node's gateway (10 s each); nothing, logged, when one cannot be
  /// reached.
  std::optional<std::vector<gateway_actor>> connect_all(caf::actor_system& system);
  /// One short attempt to connect to node `index` again, after it was lost (killed, or its
  /// connection broke), as a client that does not know when it comes back would.
  std::optional<gateway_actor> reconnect(caf::actor_system& system, size_t index,
                                         steady_time now, steady_time load_start);
  /// Node `index` has been lost for longer than `limit` and every reconnect failed.
  bool lost_longer_than(size_t index, steady_time now, steady_clock::duration limit) const;

  void note_peak_rss();
  /// SIGTERM to every node the bench started, 20 s each to stop.
  void stop();
  void kill(size_t index);
  void kill_all();

  uint64_t starts() const { return starts_; }
  uint64_t reconnects() const { return reconnects_; }
  uint64_t failed_connects() const { return failed_connects_; }
  std::optional<uint64_t> peak_rss_kib() const { return peak_rss_; }
  const std::vector<uint64_t>& peak_rss_by_node() const { return peak_rss_by_node_; }

private:
  node_launch launch_;
  std::optional<pid_t> outside_pid_;
  std::vector<std::unique_ptr<server_process>> nodes_;
  /// By node: where its gateway listens, the gateway last connected (a reconnect must not
  /// get the middleman's cached proxy of a killed node back), and since when it is lost.
  std::vector<std::pair<std::string, uint16_t>> endpoints_;
  std::vector<caf::actor_addr> last_gateways_;
  std::vector<std::optional<steady_time>> lost_since_;
  std::vector<uint64_t> peak_rss_by_node_;
  std::optional<uint64_t> peak_rss_;
  uint64_t starts_ = 0;
  uint64_t reconnects_ = 0;
  uint64_t failed_connects_ = 0;
};

} // namespace topup::bench
