#pragma once

#include "actors/callback_sender.hpp"
#include "actors/cluster.hpp"
#include "actors/intake.hpp"
#include "actors/router.hpp"
#include "actors/event_feed.hpp"
#include "config/config.hpp"
#include "domain/clock.hpp"
#include "messages/interfaces.hpp"

#include <deque>
#include <memory>
#include <optional>

namespace topup {

struct supervisor_options {
  store_config store;
  engine_options engine;
  intake_options intake;
  /// Where state changes are published for watching clients; may be null.
  std::shared_ptr<event_feed> events;
  /// The node's metrics, handed to every child that measures; null: nothing is measured.
  /// Set it with with_metrics.
  std::shared_ptr<node_metrics> metrics;
  /// Cluster mode: the cluster actor's options. Absent: a single node.
  std::optional<cluster_options> cluster;
  /// The callback sender's options; absent when no merchant has a callback destination.
  std::optional<callback_sender_options> callbacks;
  /// Restart intensity: more than max_restarts within restart_window stops the node.
  size_t max_restarts = 5;
  milliseconds restart_window{10000};
};

/// Options for a whole node from its configuration.
supervisor_options make_supervisor_options(const config& cfg, std::shared_ptr<const clock> time);

/// Hands `metrics` to the store, intake, the router (and its lanes) and the cluster actor.
void with_metrics(supervisor_options& options, std::shared_ptr<node_metrics> metrics);

struct supervisor_state {
  static constexpr const char* name = "supervisor";
  supervisor_options options;
  std::shared_ptr<const clock> time;
  /// Children in start order. A failed store restarts with the router (which holds its
  /// handle); intake, the entry point, survives and is told the new handles. The cluster
  /// actor (cluster mode) starts first and survives restarts of the others: it holds the
  /// node's leases, and each new router is told to it. If it fails, it restarts with the
  /// router (which holds its handle), like the store.
  cluster_actor cluster;
  store_actor store;
  router_actor router;
  intake_actor intake;
  /// Independent of the others: restarted alone, and it restarts nothing.
  callback_sender_actor callbacks;
  std::deque<mono_time> restarts;
  uint64_t restart_count = 0;
  int64_t started_at_ms = 0;  ///< when the node started (wall clock): its counters count from then

  /// Children are not linked to the supervisor (it must outlive their failures), so its own
  /// end takes them down.
  ~supervisor_state();
};

/// Spawns and watches the node's actors: in cluster mode the cluster actor, then the store,
/// the router (which links the deadline and recharge actors to itself), intake and, when
/// configured, the callback sender. A child
/// that fails is restarted, and rebuilds its state from the store (the cluster actor: from
/// the lease table, re-acquiring under new epochs); more than max_restarts failures within
/// restart_window stop the supervisor with an error, and the node exits non-zero. Each
/// router started is handed to the cluster actor (update_atom). Its messages:
/// supervisor_actor (messages/interfaces.hpp).
supervisor_actor::behavior_type supervisor(supervisor_actor::stateful_pointer<supervisor_state> self,
                                           supervisor_options options,
                                           std::shared_ptr<const clock> time);

} // namespace topup
