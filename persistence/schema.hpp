#pragma once

#include <soci/soci.h>

namespace topup {

/// The schema version this build writes. Older files are migrated forward on open; a newer
/// file (written by a later build) is refused rather than misread.
constexpr int current_schema_version = 3;

/// The version recorded in the database; 0 for an empty one.
int schema_version(soci::session& session);

/// Applies the forward migrations from the recorded version up to `target`, each in its own
/// transaction. Throws store_error for a database newer than this build.
void migrate(soci::session& session, int target = current_schema_version);

} // namespace topup
