#pragma once

// `topup-cli backup` and `topup-cli archive`: commands that work on a node's SQLite store
// itself (on the node's host, beside the running node), not through the node. The node's
// configuration file says where the store is. persistence/store_maintenance does the work.

#include "apps/cli/exit_codes.hpp"

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>

namespace CLI {
class App;
}

namespace topup::cli {

struct store_command_options {
  std::string config_path;  ///< --config: the node's configuration
  std::string backup_file;  ///< backup FILE
  /// archive --older-than: final orders younger than this stay in the store.
  std::chrono::milliseconds keep{std::chrono::hours(24 * 30)};
  std::string archive_dir;  ///< archive --archive-dir; empty: "archive" beside the store
  size_t batch = 500;       ///< archive --batch
};

/// The options as text, read by CLI11 and made into store_command_options after.
struct store_command_arguments {
  std::string keep = "30d";
};

struct store_commands {
  CLI::App* backup = nullptr;
  CLI::App* archive = nullptr;
};

store_commands add_store_commands(CLI::App& app, store_command_options& options,
                                  store_command_arguments& texts);

/// Completes the options once parsed; why they are wrong, if they are.
std::optional<std::string> finish_store_options(store_command_options& options,
                                                const store_command_arguments& texts);

/// Runs the command; a line (JSON with `json`) on `out` says what it did, errors go to the log.
exit_code run_backup(const store_command_options& options, bool json, std::ostream& out);
exit_code run_archive(const store_command_options& options, bool json, int64_t now_ms,
                      std::ostream& out);

} // namespace topup::cli
