#pragma once

#include "actors/event_feed.hpp"
#include "config/config.hpp"
#include "domain/call_cost_meter.hpp"
#include "domain/call_pacer.hpp"
#include "domain/call_watch.hpp"
#include "domain/clock.hpp"
#include "domain/log_repeats.hpp"
#include "domain/provider_lane.hpp"
#include "domain/send_fence.hpp"
#include "domain/retry_backoff.hpp"
#include "domain/routing.hpp"
#include "messages/mailbox_pass.hpp"
#include "messages/interfaces.hpp"
#include "metrics/node_metrics.hpp"
#include "providers/adapters.hpp"

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace topup {


struct recharge_options {
  std::string provider;
  /// Every configured provider as routing sees it: whether an order this provider answered
  /// "wrong carrier" for has a provider left to go to (wrong_carrier_candidates).
  std::vector<provider_view> providers;
  lane_settings lane;
  milliseconds report_interval{100};
  /// How long to wait before writing again when the store failed or refused writes: this
  /// long after the first failure, doubling with each failure in a row up to the cap.
  milliseconds store_retry{200};
  milliseconds store_retry_cap{5000};
  caf::duration store_timeout = caf::duration{std::chrono::seconds(60)};
  /// State changes per store request at most; more wait for the next flush.
  size_t max_write_batch = 1000;
  /// Cluster: the lease this node holds on the provider; every dispatch is written under it
  /// (see transition::lease_owner). Empty owner: a single node.
  std::string lease_owner;
  int64_t lease_epoch = 0;
  /// Cluster: until when (the node's steady clock) the lease lets calls leave, as the node
  /// last confirmed it; renewals extend it (own_atom). Nothing: not known yet, nothing
  /// leaves before the first renewal is told.
  std::optional<mono_time> lease_valid_until;
  /// Tests only: each call and status query waits this long after it is queued to leave (a
  /// window between write-ahead and send that a test can pause a node in). Zero otherwise.
  milliseconds send_hold{0};
  /// Where state changes are published for watching clients; may be null.
  std::shared_ptr<event_feed> events;
  /// The node's metrics (calls by result, durations, rate-limited waits, finished orders);
  /// null: not measured.
  std::shared_ptr<node_metrics> metrics;
};

/// Builds the options of one provider's recharge actor from configuration.
recharge_options make_recharge_options(const provider_config& provider,
                                       const deadline_config& deadline);

/// A recharge call or status query on its way out through the pacer.
struct outgoing_call {
  order o;
  bool is_query = false;
};

/// A recharge call or status query sent to the provider and not yet answered.
struct awaited_call {
  order o;
  bool is_query = false;
  mono_time sent_at;
};

struct recharge_state {
  static constexpr const char* name = "recharge";
  recharge_options options;
  std::shared_ptr<const clock> time;
  std::unique_ptr<provider_lane> lane;
  /// Calls leave through it: at the provider's limit however their write-ahead delays them.
  std::unique_ptr<call_pacer<outgoing_call>> pacer;
  /// Cluster: calls and queries leave only while the lease is valid (a single node: always).
  send_fence fence;
  /// The calls and queries awaiting their answer, given up at the call timeout.
  call_watch<awaited_call> awaiting;
  bool fence_closed = false;  ///< the fence refused the last send it was asked about
  provider_actor provider;
  store_actor store;
  router_actor router;
  uint64_t timer_generation = 0;
  std::optional<mono_time> timer_due;
  bool breaker_was_open = false;
  double latency_ms = 50;  ///< moving average of call latency, for routing
  /// Calls an order costs this provider, measured, for routing and admission.
  call_cost_meter cost;
  uint64_t received = 0;  ///< orders received in dispatch messages (see provider_report)
  provider_stats stats;
  /// This provider's metrics, taken once at the start; empty when not measured.
  std::optional<provider_instruments> instruments;
  /// What a state change is for: what follows once the store wrote it, refused it (the
  /// stored order was not in change.from) or did not answer (nothing was written).
  enum class change_purpose {
    attempt,  ///< the write-ahead of a call: then the call leaves
    finish,   ///< the order ends: then the router is told
    retry,    ///< not recharged: then the lane's backoff, or failover (provider_lane::requeue)
    move_on,  ///< wrong carrier: then the router, for another provider
    query,    ///< the outcome is lost: then a status query
    note,     ///< history only: nothing follows, and nothing is written again
  };
  /// A state change on its way to the store.
  struct pending_change {
    order before;
    transition change;
    change_purpose purpose;
  };
  /// Changes gathered during one pass over the mailbox, written in one request at the flush
  /// queued behind that pass: one store round trip for many orders.
  std::vector<pending_change> outbox;
  /// Orders finished since the last flush, reported to the router in one message with it.
  std::vector<std::string> finished;
  mailbox_pass_end<caf::flush_atom> flush_pass;
  /// Answered once no call is in flight and every state change is written (the node gives
  /// the provider up).
  std::vector<caf::typed_response_promise<ack_atom>> drain_waiters;
  /// Store requests of flushed changes not answered yet, by flush number: when each was
  /// sent. The oldest one's age is how far behind the store is (provider_report).
  std::map<uint64_t, mono_time> unanswered_writes;
  uint64_t flushes = 0;
  /// Changes the store could not take yet, written again once the backoff allows.
  std::vector<pending_change> unwritten;
  /// Status queries in a row that got no answer, by order id, while its outcome is unknown:
  /// only some of them are written to the history (record_unanswered_query).
  std::unordered_map<std::string, uint64_t> unanswered_queries;
  /// Store writes that failed, or whose changes were all refused, in a row: retries of
  /// changes and of refused or unwritten dispatches wait for it.
  retry_backoff store_backoff;
  /// Warnings that repeat for every order while the store fails or refuses, summarised.
  log_repeats repeats;
};

/// The recharge actor of one provider. Every call is written ahead (dispatch transition)
/// before it starts; a call that times out leaves the outcome unknown, and only a status
/// query resolves it: never a new attempt or a failover meanwhile (guarantee 3).
///
/// Cluster: every call and status query is checked against the lease's validity as it
/// leaves (send_fence), here and again in the adapter (call_origin::send_by). Past it the
/// lane writes nothing ahead and sends nothing; a call already written ahead stays so
/// (dispatched: its attempt row says it may have been made) and waits for a status query,
/// which goes out once the lease is renewed, or is the next owner's to make.
recharge_actor::behavior_type recharge(recharge_actor::stateful_pointer<recharge_state> self,
                                       recharge_options options,
                                       std::shared_ptr<const clock> time, store_actor store,
                                       router_actor router, provider_factory make_provider);

/// The provider request id of an order at a provider: the same for every attempt there, so
/// a provider that deduplicates recharges at most once.
std::string provider_request_id(const std::string& order_id, const std::string& provider);

} // namespace topup
