#pragma once

#include "domain/order.hpp"

#include <optional>
#include <string_view>

namespace topup {

/// Everything that can happen to an order. Each maps to exactly one row update in the store,
/// which appends it to the order's history in the same statement (domain/order_history).
enum class order_event : uint8_t {
  dispatch,        ///< an attempt was written ahead and the provider call starts
  succeed,         ///< the provider (call or status query) reports a recharge
  fail_retryable,  ///< transient failure with time left: back to the queue
  /// The provider answered that the number is not with a carrier it serves (a ported
  /// number): not recharged, back to the queue of another provider. The store adds the
  /// provider to the order's wrong_carrier_at in the same statement.
  wrong_carrier,
  fail_final,      ///< permanent failure, or no time left for another attempt: refund
  lose_outcome,    ///< the call timed out or its node died: outcome unknown
  expire,          ///< the deadline passed while the order was waiting
  cancel,          ///< the client withdrew an order not yet dispatched
  // Notes: history only, the status stays (see is_note).
  query_unanswered,  ///< a status query of an unknown outcome got no answer either
  resend,            ///< re-sent near its deadline (the engine writes none: README.md,
                     ///< "Order history")
};

inline constexpr order_event all_order_events[] = {
  order_event::dispatch,         order_event::succeed, order_event::fail_retryable,
  order_event::fail_final,       order_event::lose_outcome, order_event::expire,
  order_event::cancel,           order_event::query_unanswered, order_event::resend,
  order_event::wrong_carrier};

std::string_view to_string(order_event event);
std::optional<order_event> order_event_from_string(std::string_view name);

/// True for the events that only add to an order's history: the store appends them without
/// touching its status, provider, attempts, last error or update time.
bool is_note(order_event event);

/// The one place that decides which transitions exist. Returns the next status, or nothing
/// when the event is illegal in `from` (the caller must then change nothing).
///
/// Why these rules: an order whose outcome is unknown may only be resolved by what the
/// provider says (succeed, fail_*), never expired or cancelled, because money may have moved;
/// that is guarantee 3 of README.md ("What it promises"). A note keeps the status, and only
/// where it can happen: an unanswered query of an unknown outcome, a re-send of a waiting order.
std::optional<order_status> next_status(order_status from, order_event event);

} // namespace topup
