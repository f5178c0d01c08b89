#pragma once

// The cluster actor of one node: membership (heartbeats in the shared database), provider
// ownership (leases with epochs, planned by balanced rendezvous hashing over the live
// members), and connections to the other members' gateways for forwarding orders (and, for
// the gateway and the watch hub, for stats, cancel and watch across the cluster).

#include "config/config.hpp"
#include "domain/clock.hpp"
#include "domain/forward_backlog.hpp"
#include "domain/membership.hpp"
#include "domain/ownership.hpp"
#include "domain/send_fence.hpp"
#include "messages/interfaces.hpp"
#include "metrics/node_metrics.hpp"
#include "persistence/lease_store.hpp"

#include <map>
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
};

/// "host:port" of a node's gateway as the other members and clients reach it (an IPv6 host
/// in brackets).
std::string gateway_address(const node_config& node);

/// The cluster options of a node from its configuration (cfg.cluster must be set).
cluster_options make_cluster_options(const config& cfg, int64_t incarnation);

struct cluster_state {
  static constexpr const char* name = "cluster";
  /// Bounds the memory of orders waiting for a holder (about 100 MB); beyond it they wait in
  /// the store only, for the next owner's read and the deadline net.
  static constexpr size_t max_parked_forwards = 200'000;

  /// A held lease and when (this node's monotonic clock) the statement that last confirmed
  /// it (renewed, or acquired) was sent. Past confirmed + lease_ttl_ms it may have expired in
  /// the database; its lanes stop sending a margin before (send_fence.hpp).
  struct held_lease {
    lease granted;
    mono_time confirmed{};
  };

  cluster_options options;
  std::shared_ptr<const clock> time;
  std::unique_ptr<lease_store> db;  ///< null while the database cannot be reached
  router_actor router;

  /// Leases the router serves (the set told with own_atom).
  std::map<std::string, held_lease> owned;
  /// Providers whose lease epoch this node has published (topup_cluster_lease_epoch).
  std::set<std::string> epoch_series;
  /// Leases of providers another node should own now, still renewed until the router has
  /// drained them (released_atom) or drain_limit has passed; not in the router's set.
  std::map<std::string, held_lease> draining;
  std::map<std::string, mono_time> drain_started;

  /// The membership table as last read, with the database clock of that read.
  member_snapshot last_read;
  /// Judges who is down over the time this node watched the table (outages excluded).
  membership_watch watch{0, 0};
  membership_view view;
  /// Calls under a lease stop this long before it can expire (lease_send_margin).
  milliseconds send_margin{0};
  /// Live leases by provider (holder and epoch), as last read.
  std::map<std::string, lease> holders;

  /// Gateways of the other members by address, connected and monitored.
  std::map<std::string, gateway_actor> peers;
  /// Orders to forward once their provider's holder is known and connected.
  forward_backlog parked_forwards{max_parked_forwards};
  std::set<std::string> connecting;

  ~cluster_state();
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
/// their heartbeats (membership_watch). Its end (a clean stop) releases every lease and
/// removes the node's membership row, so the others take over at once.
///
/// Spawn it detached (spawn_cluster): it blocks on the database.
cluster_actor::behavior_type cluster(cluster_actor::stateful_pointer<cluster_state> self,
                                     cluster_options options, std::shared_ptr<const clock> time);

cluster_actor spawn_cluster(caf::actor_system& system, cluster_options options,
                            std::shared_ptr<const clock> time);

} // namespace topup
