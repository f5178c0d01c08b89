#pragma once

// Retention of final orders (topup-cli archive): which orders an archiving run may move out of
// the store, and where they go; and of the callback outbox: which notifications the callback
// sender may remove. Pure: persistence/store_maintenance does the moving,
// persistence/callback_outbox the removing.

#include "domain/merchant_callback.hpp"
#include "domain/order.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace topup {

/// The statuses an archiving run may move: the final ones, and only those. An order not
/// final is never archived, however old.
std::vector<std::string> archivable_statuses();

/// The newest time (ms since the epoch) an order may have been accepted, reach its deadline
/// and last change at to be archived at `now_ms` when orders are kept `keep_ms`: every time
/// of the order must lie before it.
int64_t archive_cutoff_ms(int64_t now_ms, int64_t keep_ms);

/// The states of a notification the outbox may forget once old (archive_cutoff_ms on the time
/// of its last attempt): delivered and abandoned. A pending one is never removed, however old:
/// it has not been delivered yet.
std::vector<callback_state> prunable_callback_states();

/// "orders-2026-12-05.sqlite": the archive file of an archiving run on that day (UTC). One
/// file per day of archiving, so that an operator can keep or drop a day at a time.
std::string archive_file_name(int64_t now_ms);

} // namespace topup
