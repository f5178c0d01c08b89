#pragma once

#include "domain/clock.hpp"
#include "domain/order_id.hpp"
#include "domain/validation.hpp"
#include "messages/interfaces.hpp"

#include <memory>
#include <string>

namespace topup {

struct intake_options {
  validation_rules rules;
  int64_t deadline_limit_ms = 180000;
  /// Orders waiting for the store beyond which new ones are refused as `overloaded`.
  size_t max_in_flight = 200000;
  std::string node_name = "node-1";
  /// How long a write may take before the client is told `unavailable`. Longer than the
  /// store's busy timeout, so a slow commit is answered by the store itself.
  caf::duration store_timeout = caf::duration{std::chrono::seconds(60)};
};

struct intake_state {
  static constexpr const char* name = "intake";
  intake_options options;
  std::shared_ptr<const clock> time;
  store_actor store;
  order_sink_actor sink;  ///< may be invalid: accepted orders then stay in the store only
  std::unique_ptr<order_id_generator> ids;
  intake_stats stats;
};

/// Intake: validates, assigns id and deadline, persists through the store (which applies
/// idempotency on the client reference with a unique constraint), acknowledges only once
/// durable, then hands new orders to the sink.
intake_actor::behavior_type intake(intake_actor::stateful_pointer<intake_state> self,
                                   intake_options options, std::shared_ptr<const clock> time,
                                   store_actor store, order_sink_actor sink);

} // namespace topup
