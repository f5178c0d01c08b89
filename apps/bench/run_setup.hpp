#pragma once

// Where a run keeps its files: the run directory, the node configurations the bench writes
// into it (for the provider simulator, the cluster, the HTTP API), and the store and ledger
// paths they name, relative ones under the run directory (where the bench runs the node).

#include "apps/bench/bench_options.hpp"
#include "config/config.hpp"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace topup::bench {

/// Relative store and ledger paths of the configuration, made absolute under `dir`.
void anchor_paths(config& cfg, const std::filesystem::path& dir);

/// The configuration in `path`, its relative paths anchored under `run_dir`. Throws
/// config_error.
config load_node_config(const std::filesystem::path& path, const std::filesystem::path& run_dir);

/// The ledger files of the providers the configuration simulates in the node.
std::vector<std::string> ledger_files(const config& cfg);

/// Writes `value` to `path`, indented; throws when it cannot.
void write_json_file(const std::filesystem::path& path, const nlohmann::json& value);

/// --run-dir; else a new directory under the system's temp dir for a node the bench starts,
/// or the current directory with --connect.
std::filesystem::path choose_run_dir(const bench_options& options,
                                     const std::string& workload_name);

/// Creates the directories of the store and the ledgers of a node the bench starts; why
/// not, when the SQLite store of an earlier run is there (`clustered`: the nodes will share
/// a PostgreSQL store instead).
std::optional<std::string> prepare_store_directories(const config& cfg, bool clustered);

} // namespace topup::bench
