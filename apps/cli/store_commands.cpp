#include "apps/cli/store_commands.hpp"

#include "apps/cli/arguments.hpp"
#include "config/config.hpp"
#include "persistence/sql_backend.hpp"
#include "persistence/store_maintenance.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <ostream>

namespace topup::cli {
namespace {

/// The node's configuration, or nothing (the reason logged).
std::optional<config> node_config(const std::string& path) {
  try {
    return load_config_file(path);
  } catch (const config_error& error) {
    spdlog::error("configuration {}: {}", path, error.what());
  } catch (const std::exception& error) {
    spdlog::error("configuration {}: cannot be read: {}", path, error.what());
  }
  return std::nullopt;
}

/// Runs `work` (which prints its outcome and returns exit_code::ok); a failure is logged and
/// exits 3 (the store cannot be used now).
template <class Work>
exit_code logging_failures(const char* what, Work&& work) {
  try {
    return work();
  } catch (const store_error& error) {
    spdlog::error("{}", error.what());  // says what it was doing
  } catch (const std::exception& error) {
    spdlog::error("{}: {}", what, error.what());
  }
  return exit_code::unreachable;
}

} // namespace

store_commands add_store_commands(CLI::App& app, store_command_options& options,
                                  store_command_arguments& texts) {
  store_commands commands;
  commands.backup = app.add_subcommand(
    "backup", "Copy the node's SQLite store to FILE while the node serves (one consistent "
              "moment; the node's writes go on). Run on the node's host");
  commands.backup->add_option("file", options.backup_file, "The copy; must not exist")
    ->type_name("FILE")
    ->required();
  commands.archive = app.add_subcommand(
    "archive", "Move final orders older than --older-than, with their attempts and result "
               "notifications, from the node's SQLite store to the archive file of the day "
               "(ARCHIVE-DIR/orders-YYYY-MM-DD.sqlite), in small batches while the node "
               "serves. Orders not final never move, nor orders whose result notification "
               "is still pending. Run on the node's host");
  commands.archive->add_option("--older-than", texts.keep,
                               "Keep final orders younger than this (12h, 7d, 30d)")
    ->capture_default_str()
    ->type_name("DURATION");
  commands.archive->add_option("--archive-dir", options.archive_dir,
                               "Where archive files go (default: archive/ beside the store)")
    ->type_name("DIR");
  commands.archive->add_option("--batch", options.batch, "Orders moved per transaction")
    ->capture_default_str()
    ->check(CLI::Range(1, 10000));
  for (auto command : {commands.backup, commands.archive})
    command->add_option("-c,--config", options.config_path,
                        "The node's configuration file: where its store is")
      ->type_name("FILE")
      ->required();
  return commands;
}

std::optional<std::string> finish_store_options(store_command_options& options,
                                                const store_command_arguments& texts) {
  auto keep = parse_duration(texts.keep, "s");
  if (!keep.value)
    return "--older-than " + keep.error;
  options.keep = *keep.value;
  return std::nullopt;
}

exit_code run_backup(const store_command_options& options, bool json, std::ostream& out) {
  auto cfg = node_config(options.config_path);
  if (!cfg)
    return exit_code::bad_input;
  return logging_failures("backup", [&] {
    auto report = backup_sqlite_store(cfg->store, options.backup_file);
    if (json)
      out << nlohmann::json{{"backup", report.file},
                            {"files", report.files},
                            {"schema_version", report.schema_version},
                            {"orders", report.orders}}
               .dump()
          << "\n";
    else if (report.files.size() > 1)
      out << fmt::format("backup {}: {} orders, schema version {}, {} shard files: {}\n",
                         report.file, report.orders, report.schema_version,
                         report.files.size(), fmt::join(report.files, ", "));
    else
      out << fmt::format("backup {}: {} orders, schema version {}\n", report.file,
                         report.orders, report.schema_version);
    return exit_code::ok;
  });
}

exit_code run_archive(const store_command_options& options, bool json, int64_t now_ms,
                      std::ostream& out) {
  auto cfg = node_config(options.config_path);
  if (!cfg)
    return exit_code::bad_input;
  archive_settings settings;
  settings.directory = options.archive_dir;
  if (settings.directory.empty())
    settings.directory =
      (std::filesystem::path{cfg->store.sqlite_path}.parent_path() / "archive").string();
  settings.now_ms = now_ms;
  settings.keep_ms = options.keep.count();
  settings.batch = options.batch;
  return logging_failures("archive", [&] {
    auto report = archive_final_orders(cfg->store, settings);
    if (json)
      out << nlohmann::json{{"archive", report.file},
                            {"orders", report.orders},
                            {"attempts", report.attempts},
                            {"callbacks", report.callbacks},
                            {"awaiting_callbacks", report.awaiting_callbacks},
                            {"batches", report.batches},
                            {"longest_lock_us", report.longest_lock_us}}
               .dump()
          << "\n";
    else
      out << fmt::format("archive {}: {} orders, {} attempts and {} result notifications moved "
                         "in {} batches (the store's write lock held {:.1f} ms at most){}\n",
                         report.file, report.orders, report.attempts, report.callbacks,
                         report.batches, report.longest_lock_us / 1000.0,
                         report.awaiting_callbacks == 0
                           ? std::string{}
                           : fmt::format("; {} old final orders wait for a pending result "
                                         "notification",
                                         report.awaiting_callbacks));
    return exit_code::ok;
  });
}

} // namespace topup::cli
