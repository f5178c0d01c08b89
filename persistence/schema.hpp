#pragma once

#include <soci/soci.h>

#include <string>

namespace topup {

/// The schema version this build writes. Older files are migrated forward on open; a newer
/// file (written by a later build) is refused rather than misread. The number of steps in
/// schema.cpp's list: migrate() refuses to run when the two disagree.
constexpr int current_schema_version = 15;

/// The key of the PostgreSQL advisory lock that serialises the migrations of a database:
/// any fixed number, the same in every build ("topup" in ASCII).
constexpr long long migration_lock_key = 0x746f707570;

/// The version recorded in the database; 0 for an empty one.
int schema_version(soci::session& session);

/// Applies the forward migrations from the recorded version up to `target`, each in its own
/// transaction that records its step as one more schema_version row (a database migrated by
/// an older build keeps the single row it had). Safe when several processes migrate one
/// database at once: each step is applied once, under a lock (see schema.cpp); a database
/// already at `target` is recognised without waiting for that lock. Throws
/// store_error for a database newer than this build. Orders stored before merchants existed
/// (step 8) become `default_merchant`'s.
void migrate(soci::session& session, int target = current_schema_version,
             const std::string& default_merchant = "default");

} // namespace topup
