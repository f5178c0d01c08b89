#pragma once

// The cluster actor of one node: membership (heartbeats in the shared database,
// actors/cluster_membership), provider ownership (leases with epochs, planned by balanced
// rendezvous hashing over the live members, actors/cluster_leases), and connections to the
// other members' gateways for forwarding orders (and, for the gateway and the watch hub, for
// stats, cancel and watch across the cluster, actors/cluster_peers). This file pair is the
// actor's shell: its options, its state, the tick that drives the three.

#include "actors/cluster_membership.hpp"
#include "actors/cluster_peers.hpp"
#include "config/config.hpp"
#include "domain/clock.hpp"
#include "domain/lease_holding.hpp"
#include "messages/interfaces.hpp"
#include "metrics/node_metrics.hpp"
#include "persistence/lease_store.hpp"

#include <exception>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace topup {

struct cluster_options {
  std::string node_name;
  /// "host:port" of this node's gateway, written into the membership table: what the other
  /// members connect to.
  std::string address;
  /// When this process started (ms since the epoch): a restart is a new incarnation.
  int64_t incarnation = 0;
  /// Every configured provider (the node plans ownership over all of them).
  std::vector<std::string> providers;
  /// How long a disowned provider may drain (the router answers released_atom once no call
  /// of it is in flight) before its lease is released anyway: calls end within the
  /// provider's call timeout, so a router that never answers cannot block the next owner.
  milliseconds drain_limit{10000};
  /// How long connecting to another member's gateway may take (the middleman's connection
  /// timeout, plus a margin).
  milliseconds connect_timeout{6000};
  cluster_config cluster;
  store_config store;
  /// The node's metrics (members and leases held); null: not measured.
  std::shared_ptr<node_metrics> metrics;
  /// Tests only: this many batches of orders forwarded to other members are lost unsent,
  /// as with a connection that drops with them in it. Zero in production.
  uint32_t test_lost_forwards = 0;
};

/// "host:port" of a node's gateway as the other members and clients reach it (an IPv6 host
/// in brackets).
std::string gateway_address(const node_config& node);

/// The cluster options of a node from its configuration (cfg.cluster must be set).
cluster_options make_cluster_options(const config& cfg, int64_t incarnation);

struct cluster_state {
  static constexpr const char* name = "cluster";

  cluster_options options;
  std::shared_ptr<const clock> time;
  std::unique_ptr<lease_store> db;  ///< null while the database cannot be reached
  router_actor router;

  /// The leases held: served by the router (the set told with own_atom), or draining.
  lease_holding leases;
  /// Providers whose lease epoch this node has published (topup_cluster_lease_epoch).
  std::set<std::string> epoch_series;
  /// Calls under a lease stop this long before it can expire (lease_send_margin).
  milliseconds send_margin{0};

  cluster_membership membership;
  peer_connections peers;

  /// Opens the lease store when it is not open; false when the database cannot be reached.
  bool database_ready();

  /// A database call failed: the session may be broken (a lost connection is not restored
  /// by SOCI), so it is opened again on the next tick.
  void database_failed(const std::exception& error);
};

/// The cluster actor (messages/interfaces.hpp, cluster_actor). Every heartbeat_interval_ms
/// it heartbeats, reads the members, plans ownership and applies the plan: it acquires the
/// leases of the providers it should own, renews those it keeps (a failed renew drops the
/// lease at once) and, for a provider another node should own now, first takes it out of
/// the router's set and releases the lease only once the router has drained it, so the old
/// and the new owner never overlap. Every tick tells the router its leases with their
/// validity, up to which their lanes may send. While the database cannot be reached it
/// keeps ticking and holding its leases: their lanes stop sending once the validity has
/// passed, and each is renewed under its epoch when the database is back unless another
/// node took it meanwhile; peers are judged down only over the time this node could watch
/// their heartbeats (membership_watch). An exit message with a reason (the supervisor stops
/// it with user_shutdown) or an exception ends it through leave_cluster: every lease is
/// released and the node's membership row removed, so the others take over at once.
/// exit_reason::kill skips that, like a SIGKILL of the process: the leases expire after
/// their time to live.
///
/// Spawn it detached (spawn_cluster): it blocks on the database.
cluster_actor::behavior_type cluster(cluster_actor::stateful_pointer<cluster_state> self,
                                     cluster_options options, std::shared_ptr<const clock> time);

cluster_actor spawn_cluster(caf::actor_system& system, cluster_options options,
                            std::shared_ptr<const clock> time);

} // namespace topup
