#pragma once

// The figures WORKLOAD (bench/README.md) names, computed from what the node's store says of
// each order (exact even across a crash) and what the bench saw of its submissions.

#include "apps/bench/order_audit.hpp"
#include "apps/bench/provider_setup.hpp"
#include "apps/bench/workload.hpp"
#include "apps/latency_histogram.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace topup::bench {

/// One order row of the node's store, as far as the figures need it.
struct stored_order {
  std::string status;       ///< "accepted", "dispatched", "unknown", "succeeded", "failed"
  std::string provider;     ///< provider of the latest attempt
  int64_t accepted_at_ms = 0;
  int64_t updated_at_ms = 0;  ///< for a terminal order: when its final state was written
  std::string id{};           ///< the node's order id (what the ledgers name)
  /// Of its succeeded attempt: the provider and its transaction; empty without one.
  std::string succeeded_provider{};
  std::string provider_txn{};
  std::string last_error{};   ///< why it failed (or last failed an attempt)
};

/// The store's word on `row` for the ledger audit.
audited_order audited(const stored_order& row);

bool is_terminal(const stored_order& row);

/// Quantiles of one latency histogram, in milliseconds.
struct latency_summary {
  uint64_t count = 0;
  double p50_ms = 0, p90_ms = 0, p99_ms = 0, max_ms = 0;
};
latency_summary summarize(const latency_histogram& histogram);

/// A histogram wide enough for completion times (up to ten minutes).
latency_histogram make_completion_histogram();

struct completion_figures {
  uint64_t stored = 0;     ///< acknowledged orders found in the store
  uint64_t terminal = 0;
  uint64_t succeeded = 0;
  uint64_t failed = 0;
  uint64_t lost = 0;       ///< acknowledged, never terminal (missing from the store counts too)
  uint64_t succeeded_within_deadline = 0;  ///< succeeded within deadline_ms of accept
  uint64_t terminal_within_deadline = 0;   ///< terminal within deadline_ms + grace_ms
  uint64_t via_failover = 0;  ///< orders whose latest attempt went to the failover provider
  /// Failed for lack of time: closed at their deadline, or left no time to try again.
  uint64_t failed_at_deadline = 0;
  latency_histogram all = make_completion_histogram();        ///< accept -> terminal
  latency_histogram successes = make_completion_histogram();  ///< same, successes only
  /// Terminal orders per second of the run, bin i = [i, i+1) s after the load started.
  std::vector<uint64_t> completions_per_second;
  int64_t last_completion_ms = 0;  ///< after the load started
};

/// Folds the store rows of acknowledged orders into the figures. `acknowledged` is how many
/// orders the bench had acknowledged (rows missing from the store are lost too);
/// `load_start_ms` is wall time; `failover_provider` is the provider that takes over.
completion_figures compute_completion(const std::vector<stored_order>& rows,
                                      uint64_t acknowledged, const workload& w,
                                      int64_t load_start_ms,
                                      const std::string& failover_provider = "p-agg");

/// Everything one run reports besides the completion figures.
/// A run on several nodes sharing PostgreSQL (topup-bench --nodes), and, when the workload
/// kills a node, how the cluster coped: times from the SIGKILL (or the restart) on the
/// bench's clock.
struct cluster_figures {
  uint64_t nodes = 0;
  int64_t heartbeat_interval_ms = 0;
  int64_t down_after_ms = 0;
  int64_t lease_ttl_ms = 0;
  std::vector<uint64_t> peak_rss_kib;  ///< per node, its VmHWM (max over its processes)
  std::string watched_provider{};      ///< the provider whose lease is watched
  uint64_t killed_nodes = 0;           ///< how many nodes the kill took down
  std::string killed_node{};           ///< the watched provider's owner at the kill
  std::optional<double> failover_ms;   ///< SIGKILL to a live node holding its lease
  /// SIGKILL to the provider's first call (attempt row) started after it: its queue moving
  /// again on the new owner.
  std::optional<double> calls_resumed_ms;
  /// The killed node listening again to every provider held by its planned owner.
  std::optional<double> rebalanced_ms;
};

nlohmann::json to_json(const cluster_figures& figures);

struct run_report {
  workload load;
  std::string mode;          ///< "remote" or "in-process"
  uint64_t offered = 0;      ///< orders generated
  uint64_t acknowledged = 0;
  uint64_t refused = 0;
  uint64_t retries = 0;
  /// Every refusal answer (an order refused and retried counts each time), by error code.
  std::map<std::string, uint64_t> refusals_by_error{};
  uint64_t given_up = 0;     ///< offered, never acknowledged when the client stopped trying
  double load_seconds = 0;   ///< first offer to last acknowledgement
  double run_seconds = 0;    ///< first offer to the end of waiting for completion
  double node_start_to_load_ms = 0;
  latency_summary accept_latency;
  std::optional<uint64_t> peak_rss_kib;      ///< node's VmHWM (max over its processes)
  /// Per provider, most calls it saw in any 1 s window: recharge calls from the store's
  /// attempt rows (providers "node"), or recharges and status queries as the simulator
  /// counted them (providers "provider-sim").
  std::map<std::string, uint64_t> busiest_second;
  /// Per provider, its configured rate (calls/s): what busiest_second is judged against.
  std::map<std::string, double> provider_rates;
  std::string providers = "node";  ///< "node" (simulated in the node) or "provider-sim"
  /// Providers out of process: from the simulator's start (its outage windows count from
  /// there) to the load's start.
  std::optional<double> provider_start_to_load_ms;
  std::optional<ledger_summary> sim_ledger;  ///< providers out of process: its counts
  /// Every order of the run in the store against every row of the ledgers; nothing when
  /// they could not be read (audit_error says why).
  std::optional<ledger_audit> audit;
  std::string audit_error;
  bool interrupted = false;        ///< stopped by SIGINT/SIGTERM: the figures so far
  uint64_t node_starts = 0;
  uint64_t reconnects = 0;       ///< connections made again after the node was lost
  uint64_t failed_connects = 0;  ///< attempts to connect while the node was away
  bool completion_wait_timed_out = false;
  std::string ref_prefix;
  std::optional<cluster_figures> cluster;  ///< --nodes: the cluster's figures
};

/// The one JSON object a run prints: the workload's parameters and every figure.
nlohmann::json to_json(const run_report& report, const completion_figures& figures);

/// What the router of a restarted node logs once it has read its pending orders back.
struct router_recovery {
  uint64_t waiting = 0;    ///< orders queued for a provider again
  uint64_t in_flight = 0;  ///< orders with an attempt in flight, handed to status queries
};

/// Finds "router recovered N waiting orders and M with an attempt in flight" in a log line.
std::optional<router_recovery> parse_router_recovery(const std::string& log_line);

/// The hold workload: a node holding many pending orders, killed and restarted on its store.
struct hold_report {
  workload load;
  uint64_t offered = 0;
  uint64_t acknowledged = 0;
  uint64_t refused = 0;
  uint64_t retries = 0;
  double load_seconds = 0;
  latency_summary accept_latency;
  std::optional<uint64_t> rss_kib;       ///< VmRSS holding the orders, before the kill
  std::optional<uint64_t> peak_rss_kib;  ///< VmHWM then
  std::optional<double> restart_listening_ms;  ///< restart to "listening on"
  std::optional<double> restart_recovered_ms;  ///< restart to the router's recovery line
  std::optional<router_recovery> recovered;
  std::optional<uint64_t> rss_after_restart_kib;       ///< VmRSS once recovered
  std::optional<uint64_t> peak_rss_after_restart_kib;  ///< VmHWM once recovered
  bool interrupted = false;
  std::string ref_prefix;
};

nlohmann::json to_json(const hold_report& report);

/// Most events in any window [t, t + window_ms) among `times_ms`
/// (any order; sorted in place).
uint64_t max_in_window(std::vector<int64_t>& times_ms, int64_t window_ms);

} // namespace topup::bench
