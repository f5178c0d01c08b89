#pragma once

#include "domain/order.hpp"

#include <optional>
#include <string_view>

namespace topup {

/// Everything that can happen to an order. Each maps to exactly one row update in the store.
enum class order_event : uint8_t {
  dispatch,        ///< an attempt was written ahead and the provider call starts
  succeed,         ///< the provider (call or status query) reports a recharge
  fail_retryable,  ///< transient failure with time left: back to the queue
  fail_final,      ///< permanent failure, or no time left for another attempt: refund
  lose_outcome,    ///< the call timed out or its node died: outcome unknown
  expire,          ///< the deadline passed while the order was waiting
  cancel,          ///< the client withdrew an order not yet dispatched
};

inline constexpr order_event all_order_events[] = {
  order_event::dispatch, order_event::succeed, order_event::fail_retryable,
  order_event::fail_final, order_event::lose_outcome, order_event::expire,
  order_event::cancel};

std::string_view to_string(order_event event);

/// The one place that decides which transitions exist. Returns the next status, or nothing
/// when the event is illegal in `from` (the caller must then change nothing).
///
/// Why these rules: an order whose outcome is unknown may only be resolved by what the
/// provider says (succeed, fail_*), never expired or cancelled, because money may have moved;
/// that is guarantee 3 of DESIGN.md.
std::optional<order_status> next_status(order_status from, order_event event);

} // namespace topup
