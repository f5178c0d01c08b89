#pragma once

#include "actors/event_feed.hpp"
#include "domain/admission.hpp"
#include "domain/clock.hpp"
#include "domain/order_id.hpp"
#include "domain/validation.hpp"
#include "messages/interfaces.hpp"
#include "messages/mailbox_pass.hpp"
#include "metrics/node_metrics.hpp"

#include <memory>
#include <string>
#include <variant>
#include <vector>

namespace topup {

struct intake_options {
  validation_rules rules;
  int64_t deadline_limit_ms = 180000;
  /// Orders waiting for the store beyond which new ones are refused as `overloaded`.
  size_t max_in_flight = 200000;
  std::string node_name = "node-1";
  /// The store's shard count: each new order's id names the shard of its idempotency key.
  size_t store_shards = 1;
  /// How long a write may take before the client is told `unavailable`. Longer than the
  /// store's busy timeout, so a slow commit is answered by the store itself.
  caf::duration store_timeout = caf::duration{std::chrono::seconds(60)};
  /// Gathered orders that go to the store at once instead of at the end of the mailbox
  /// pass, so under a flood the store commits while intake still reads. The store's
  /// max_batch by default, the size at which it commits without waiting either.
  size_t max_gathered = 2000;
  /// Where new orders are published for watching clients; may be null.
  std::shared_ptr<event_feed> events;
  /// The node's metrics (accept latency); null: not measured.
  std::shared_ptr<node_metrics> metrics;
};

/// A submit message whose admitted orders wait for the store. Its rejected orders already
/// have their errors in `results`; the store's outcomes fill in the rest.
struct waiting_submit {
  using single_reply = caf::typed_response_promise<order>;
  using batch_reply = caf::typed_response_promise<std::vector<submit_result>>;
  std::vector<order_request> requests;
  std::vector<submit_result> results;  ///< one per request, in the message's order
  std::vector<size_t> positions;       ///< the request of each gathered order, in gathering order
  std::variant<single_reply, batch_reply> reply;
  mono_time arrived{};  ///< when intake took it (the accept latency's start)
};

struct intake_state {
  static constexpr const char* name = "intake";
  intake_options options;
  std::shared_ptr<const clock> time;
  store_actor store;
  order_sink_actor sink;  ///< may be invalid: accepted orders then stay in the store only
  std::unique_ptr<order_id_generator> ids;
  intake_stats stats;
  /// Admitted orders of every submit handled since the last flush, for one store insert: in
  /// CAF 0.17 each pending request costs its sender O(requests pending) per reply, so one
  /// request per submit bounded intake, not the store's commits.
  std::vector<order> gathered;
  /// By gathered order: the provider admission charged it to, until the store answers.
  std::vector<admission_control::charge> gathered_charges;
  std::vector<waiting_submit> waiting;  ///< the submits `gathered` came from, in that order
  /// Refuses what the providers cannot start in time, from the router's snapshots.
  admission_control admission;
  mailbox_pass_end<caf::flush_atom> flush_pass;
};

/// Intake: validates, refuses (overloaded) what the providers cannot start in time (from the
/// admission snapshots of the router it hands orders to; without any, it accepts every valid
/// order), assigns id and deadline, persists through the store (which applies
/// idempotency on the client reference with a unique constraint), acknowledges only once
/// durable, then hands new orders to the sink. Orders from every submit already in the
/// mailbox are written with one store request, as the store commits every write in its
/// mailbox in one transaction.
intake_actor::behavior_type intake(intake_actor::stateful_pointer<intake_state> self,
                                   intake_options options, std::shared_ptr<const clock> time,
                                   store_actor store, order_sink_actor sink);

} // namespace topup
