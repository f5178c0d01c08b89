#pragma once

// Schema step 4 (see schema.cpp): the order history moves into the order row. Until step 3
// the schema promised "one row per state change" in order_events, but only an expiry or a
// cancel without an attempt ever wrote one; attempts kept one row per provider call with its
// last outcome only. Step 4 adds orders.history (domain/order_history), rebuilds it for the
// orders already stored from what those two tables hold, and drops order_events.

#include <soci/soci.h>

namespace topup {

/// Writes the history of every stored order from its attempt rows (a dispatch for each, then
/// its last outcome if it has one) and its order_events rows, in time order. Runs inside
/// the migration's transaction; SQLite and PostgreSQL alike.
void rebuild_history_from_step_3_tables(soci::session& session);

} // namespace topup
