#pragma once

// Whether the node will be able to open its store, found out without changing anything:
// what `topup-node --check` runs (with the other start-up checks, apps/node/startup_checks).

#include "config/config.hpp"

#include <string>

namespace topup {

/// An SQLite file the node will open for writing (the store, a provider ledger): an
/// existing file must open read-write as an SQLite database; a missing one must be
/// creatable, i.e. its nearest existing ancestor must be a directory the node may write
/// (directories that do not exist are created at start). Nothing is created. Throws
/// config_error at `json_path`.
void probe_sqlite_file(const std::string& path, const std::string& json_path);

/// The store of `cfg`: the SQLite file (probe_sqlite_file), or the PostgreSQL connection
/// string, which must parse (the server is not contacted: it may be started after the
/// check; the node itself refuses to start without it). Throws config_error naming the field.
void probe_store(const store_config& cfg);

} // namespace topup
