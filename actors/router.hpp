#pragma once

#include "actors/recharge.hpp"
#include "config/config.hpp"
#include "domain/clock.hpp"
#include "domain/lane_lifecycle.hpp"
#include "domain/routing.hpp"
#include "messages/interfaces.hpp"

#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace topup {

/// How long the router waits for each answer it asks for. None of them should ever run
/// out; each is what the router then gives up on (and logs), not a pace.
struct router_timeouts {
  /// A page of unfinished orders from the store: start-up recovery, a takeover.
  milliseconds store_load{std::chrono::seconds(120)};
  /// The expiries of orders no provider took, in one write.
  milliseconds expiry_write{std::chrono::seconds(60)};
  /// A client's cancel, written.
  milliseconds cancel_write{std::chrono::seconds(30)};
  /// One order read, to say why it cannot be cancelled.
  milliseconds order_read{std::chrono::seconds(10)};
  /// The leases this node holds, asked of the cluster actor at the start.
  milliseconds cluster_leases{std::chrono::seconds(30)};
  /// A lane taking an order out of its queue (a re-send or a cancel).
  milliseconds lane_release{std::chrono::seconds(10)};
  /// A lane's counters.
  milliseconds lane_stats{std::chrono::seconds(5)};
  /// A lane given up finishing its calls: every call ends within its provider's timeout,
  /// far below this.
  milliseconds lane_drain{std::chrono::minutes(2)};
};

struct engine_options {
  std::vector<provider_config> providers;
  deadline_config deadline;
  /// Intake's admission: the router hands it snapshots of the providers' load (and keeps
  /// new orders' routing budget within the same latest start) while enabled.
  admission_config admission;
  /// How each provider's adapter is made, by provider name.
  std::map<std::string, provider_factory> adapters;
  /// Pause before loading again when the store cannot be read at start-up.
  milliseconds recover_retry{1000};
  router_timeouts timeouts;
  /// Where state changes are published for watching clients; may be null.
  std::shared_ptr<event_feed> events;
  /// Cluster mode: the node's cluster actor. The router then serves only the providers whose
  /// lease this node holds (own_atom) and forwards other orders through it. Null: a single
  /// node serving every provider.
  cluster_actor cluster;
  /// Cluster mode: this node's name, written with every dispatch as the lease owner.
  std::string node_name;
  /// Tests only: how long each provider call and status query is held after it is queued to
  /// leave (recharge_options::send_hold). Zero in production.
  milliseconds send_hold{0};
  /// The node's metrics (the lanes' calls and finished orders, cancels); null: not measured.
  std::shared_ptr<node_metrics> metrics;
};

/// The providers as routing sees them before any report: configuration order is preference.
std::vector<provider_view> provider_views(const std::vector<provider_config>& providers);

struct router_state {
  static constexpr const char* name = "router";
  engine_options options;
  std::shared_ptr<const clock> time;
  store_actor store;
  deadline_actor reminders;
  /// By provider index, as in options.providers. In cluster mode only the providers whose
  /// lease this node holds have a lane; the others are null and their orders are forwarded.
  std::vector<recharge_actor> lanes;
  /// Cluster: which providers have a lane here, under which lease epoch, and which lanes
  /// given up are still finishing their calls.
  lane_lifecycle lifecycle{0};
  /// Orders for a provider held here again, by provider index, while its new lane waits for
  /// the old one to drain: they go to the new lane when it starts (forwarding them would
  /// only bring them back here).
  std::map<size_t, std::vector<order>> awaiting_lane;
  /// By provider index. For a provider with a lane here: its last report, plus the orders
  /// sent to the lane that the report did not count yet (sent_to_lane - report.received).
  std::vector<provider_view> views;
  /// By provider index: orders sent to the current lane in dispatch messages, in all.
  std::vector<uint64_t> sent_to_lane;
  /// By provider index: latest_first_start_ms of the provider, for admission.
  std::vector<double> latest_start_ms;
  /// New orders taken from intake in all: admission snapshots count them (see there).
  uint64_t orders_from_intake = 0;
  /// Where admission snapshots go (the supervisor says); null: nowhere.
  intake_actor intake;
  std::unordered_map<std::string, size_t> provider_index;
  /// Every unfinished order of this node and the provider serving it.
  std::unordered_map<std::string, uint16_t> owner;
  /// Cluster: orders this node forwarded that no member said it holds (take_atom) yet: read
  /// again at their re-send point, in case the forward was lost.
  std::unordered_set<std::string> unconfirmed;
  /// A new order should finish before its first re-send point (less the admission margin,
  /// so that routing and admission agree on what is in time).
  double budget_ms = 120000;
  bool recovered = false;
  /// The last page of the start-up recovery has been handed on.
  bool recovery_done = false;
};

/// The router: spawns the deadline actor and one recharge actor per provider, linked to it
/// (if one fails, the group restarts and rebuilds from the store), loads every unfinished
/// order from the store at start, and routes orders: new ones to the preferred provider that
/// can finish them in time, failed-over ones away from a failing provider, re-sent ones to
/// the earliest predicted completion.
router_actor::behavior_type router(router_actor::stateful_pointer<router_state> self,
                                   engine_options options, std::shared_ptr<const clock> time,
                                   store_actor store);

} // namespace topup
