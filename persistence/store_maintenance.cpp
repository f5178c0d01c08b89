#include "persistence/store_maintenance.hpp"

#include "domain/retention.hpp"
#include "domain/store_shards.hpp"
#include "persistence/schema.hpp"
#include "persistence/sql_backend.hpp"
#include "persistence/store_layout.hpp"

#include <soci/soci.h>
#include <soci/sqlite3/soci-sqlite3.h>

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

namespace topup {
namespace fs = std::filesystem;
namespace {

using steady = std::chrono::steady_clock;

/// The SQLite store of `cfg`, which must exist (opening a missing one would create it).
std::unique_ptr<soci::session> open_existing_sqlite_store(const store_config& cfg,
                                                          const char* what) {
  if (cfg.backend != store_config::backend_kind::sqlite)
    throw store_error(std::string{what}
                      + " works on an SQLite store; on PostgreSQL use the server's tools "
                        "(pg_dump, README.md)");
  std::error_code ec;
  if (!fs::is_regular_file(cfg.sqlite_path, ec))
    throw store_error(std::string{what} + ": no store at '" + cfg.sqlite_path + "'");
  auto session = open_session(cfg);
  int version = with_store_errors(what, [&] { return schema_version(*session); });
  if (version != current_schema_version)
    throw store_error(std::string{what} + ": the store has schema version "
                      + std::to_string(version) + ", this build reads version "
                      + std::to_string(current_schema_version)
                      + " (start the node of this build on it first, or use its topup-cli)");
  return session;
}

/// Flushes a finished file (and the directory entry naming it) to disk.
void sync_to_disk(const fs::path& path) {
  for (const auto& each : {path, path.parent_path().empty() ? fs::path{"."} : path.parent_path()}) {
    int fd = ::open(each.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || ::fsync(fd) != 0) {
      if (fd >= 0)
        ::close(fd);
      throw store_error("cannot flush '" + each.string() + "' to disk");
    }
    ::close(fd);
  }
}

/// "'succeeded', 'failed'": the archivable statuses as SQL literals (constants of the domain,
/// never input).
std::string final_status_list() {
  std::string list;
  for (const auto& name : archivable_statuses())
    list += (list.empty() ? "'" : ", '") + name + "'";
  return list;
}

/// Creates table `table` in the attached archive as the store defines it (columns,
/// defaults, keys), unless it is there already.
void create_archive_table(soci::session& session, const std::string& table) {
  std::string definition;
  session << "SELECT sql FROM main.sqlite_master WHERE type = 'table' AND name = :name",
    soci::use(table), soci::into(definition);
  // The name may be quoted: SQLite records a table renamed by a migration as "orders".
  const std::string prefix = "CREATE TABLE ";
  auto columns = definition.find('(');
  if (definition.compare(0, prefix.size(), prefix) != 0 || columns == std::string::npos)
    throw store_error("archive: the store's table " + table + " has an unexpected definition");
  session << "CREATE TABLE IF NOT EXISTS archive." + table + " " + definition.substr(columns);
}

int64_t total_changes(soci::session& session) {
  long long changes = 0;
  session << "SELECT total_changes()", soci::into(changes);
  return changes;
}

/// The SQLite stores of every shard of `cfg` (shard 0's records how many there are), each of
/// which must exist.
std::vector<store_config> existing_shards(const store_config& cfg, const char* what) {
  auto shard_0 = open_existing_sqlite_store(cfg, what);
  auto count = recorded_shard_count(*shard_0);
  std::vector<store_config> shards;
  for (size_t shard = 0; shard < count; ++shard)
    shards.push_back(shard_config(cfg, shard));
  return shards;
}

/// Copies one shard's file (see backup_sqlite_store); the orders it holds.
uint64_t backup_shard(const store_config& shard, const std::string& destination) {
  auto session = open_existing_sqlite_store(shard, "backup");
  auto partial = destination + ".partial";
  std::error_code ec;
  fs::remove(partial, ec);
  with_store_errors("backup", [&] {
    // One read transaction over the whole copy: the store as of the moment it began. In WAL
    // mode the node's writes go on meanwhile.
    *session << "VACUUM INTO :file", soci::use(partial);
  });
  session.reset();
  sync_to_disk(partial);
  fs::rename(partial, destination);
  sync_to_disk(destination);
  return with_store_errors("backup: reading the copy", [&] {
    soci::session copy{soci::sqlite3, "db=\"" + destination + "\""};
    long long orders = 0;
    copy << "SELECT COUNT(*) FROM orders", soci::into(orders);
    return static_cast<uint64_t>(orders);
  });
}

} // namespace

backup_report backup_sqlite_store(const store_config& cfg, const std::string& destination) {
  auto shards = existing_shards(cfg, "backup");
  backup_report report;
  report.file = destination;
  for (size_t shard = 0; shard < shards.size(); ++shard)
    report.files.push_back(shard_file(destination, shard));
  std::error_code ec;
  for (const auto& file : report.files)
    if (fs::exists(file, ec))
      throw store_error("backup: '" + file + "' exists; a backup never overwrites a file");
  for (size_t shard = 0; shard < shards.size(); ++shard)
    report.orders += backup_shard(shards[shard], report.files[shard]);
  report.schema_version = current_schema_version;
  return report;
}

namespace {

/// Where the result writers resume (recorded in shard 0): orders of an ingress changed since
/// may not be written back yet and stay. `cutoff` when no writer recorded one.
long long earliest_resume(const store_config& shard_0, long long cutoff) {
  auto session = open_existing_sqlite_store(shard_0, "archive");
  return with_store_errors("archive: reading the result writers' cursors", [&] {
    long long earliest = 0;
    soci::indicator found = soci::i_null;
    *session << "SELECT MIN(resume_at_ms) FROM result_cursors", soci::into(earliest, found);
    return found == soci::i_ok ? earliest : cutoff;
  });
}

/// The conditions of an order of the store (`o`) that archiving takes or checks, as SQL with
/// the parameters :cutoff, :resume and :id.
namespace archive_sql {

/// Final, every time of its before :cutoff, not waiting for a result writer (:resume).
std::string archivable() {
  return "o.status IN (" + final_status_list() + ") AND o.deadline_ms < :cutoff"
         " AND o.accepted_at_ms < :cutoff AND o.updated_at_ms < :cutoff"
         " AND (o.ingress = '' OR o.updated_at_ms < :resume)";
}

/// A notification of the order is still to be sent (through the index callbacks_by_order).
constexpr const char* pending_callback =
  "EXISTS (SELECT 1 FROM main.callbacks c WHERE c.order_id = o.id AND c.state = 'pending')";

/// The archive holds order :id, and every notification of it as the store holds it now: the
/// archive takes finished ones only, so none is pending, nor made due again since the copy.
constexpr const char* archived_whole =
  "EXISTS (SELECT 1 FROM archive.orders a WHERE a.id = :id)"
  " AND NOT EXISTS (SELECT 1 FROM main.callbacks c WHERE c.order_id = :id AND NOT EXISTS ("
  "SELECT 1 FROM archive.callbacks a WHERE a.delivery_id = c.delivery_id AND a.state = c.state"
  " AND a.attempts = c.attempts AND a.updated_at_ms = c.updated_at_ms))";

} // namespace archive_sql

/// Opens the day's archive file on `session` as "archive", its tables created as the store's.
void attach_archive(soci::session& session, const std::string& file) {
  with_store_errors("archive: opening the archive file", [&] {
    session << "ATTACH DATABASE :file AS archive", soci::use(file);
    // The archive must be on disk before the store forgets what it holds.
    session << "PRAGMA archive.synchronous = FULL";
    create_archive_table(session, "orders");
    create_archive_table(session, "attempts");
    create_archive_table(session, "callbacks");
    session << "CREATE INDEX IF NOT EXISTS archive.archived_orders_by_acceptance"
               " ON orders (accepted_at_ms)";
    session << "CREATE INDEX IF NOT EXISTS archive.archived_callbacks_by_order"
               " ON callbacks (order_id)";
    session << "PRAGMA archive.user_version = " + std::to_string(current_schema_version);
  });
}

/// Copies the orders `ids` with their attempts and finished notifications into the archive,
/// committed there alone (the store is only read).
void copy_to_archive(soci::session& session, const std::vector<std::string>& ids) {
  with_store_errors("archive: copying orders", [&] {
    const std::string attempt_columns =
      "order_id, attempt_no, provider, request_id, started_at_ms, node, epoch";
    soci::transaction copy{session};
    session << "INSERT OR IGNORE INTO archive.orders SELECT * FROM main.orders WHERE id = :id",
      soci::use(ids);
    // By name: an archive file begun before schema step 13 has the wider attempts table.
    session << "INSERT OR IGNORE INTO archive.attempts (" + attempt_columns + ")"
                " SELECT " + attempt_columns + " FROM main.attempts WHERE order_id = :id",
      soci::use(ids);
    // Replaced: a notification an interrupted run copied may have been sent again since.
    session << "INSERT OR REPLACE INTO archive.callbacks SELECT * FROM main.callbacks"
               " WHERE order_id = :id AND state <> 'pending'",
      soci::use(ids);
    copy.commit();
  });
}

/// What one batch's delete removed from the store.
struct removed_rows {
  int64_t orders = 0, attempts = 0, callbacks = 0;
  std::chrono::microseconds lock_held{0};
};

/// Deletes from the store the orders of `ids` the archive holds whole (archive_sql), with
/// their attempts and notifications, in one short write transaction.
removed_rows remove_archived(soci::session& session, const std::vector<std::string>& ids) {
  removed_rows removed;
  const std::string archived = archive_sql::archived_whole;
  auto locked_at = steady::now();
  with_store_errors("archive: removing archived orders from the store", [&] {
    session << "BEGIN IMMEDIATE";
    locked_at = steady::now();
    try {
      // The notifications first: while one stays, so do its order and attempts.
      auto before = total_changes(session);
      session << "DELETE FROM main.callbacks WHERE order_id = :id AND " + archived,
        soci::use(ids, "id");
      auto after_callbacks = total_changes(session);
      session << "DELETE FROM main.attempts WHERE order_id = :id AND " + archived,
        soci::use(ids, "id");
      auto after_attempts = total_changes(session);
      session << "DELETE FROM main.orders WHERE id = :id AND status IN (" + final_status_list()
                   + ") AND " + archived,
        soci::use(ids, "id");
      removed.orders = total_changes(session) - after_attempts;
      removed.attempts = after_attempts - after_callbacks;
      removed.callbacks = after_callbacks - before;
      session << "COMMIT";
    } catch (...) {
      try {
        session << "ROLLBACK";
      } catch (...) {
      }
      throw;
    }
  });
  removed.lock_held =
    std::chrono::duration_cast<std::chrono::microseconds>(steady::now() - locked_at);
  return removed;
}

/// How many of the orders `ids` the archive does not hold.
size_t missing_from_archive(soci::session& session, const std::vector<std::string>& ids) {
  return with_store_errors("archive: checking the archive", [&] {
    std::string id;
    int held = 0;
    soci::statement check = (session.prepare << "SELECT COUNT(*) FROM archive.orders WHERE id = :id",
                             soci::use(id), soci::into(held));
    size_t missing = 0;
    for (const auto& each : ids) {
      id = each;
      check.execute(true);
      missing += held == 0 ? 1 : 0;
    }
    return missing;
  });
}

/// Archives the final orders of one shard into report.file (see archive_final_orders).
void archive_shard(const store_config& shard, const archive_settings& settings,
                   long long resume_at, archive_report& report) {
  auto session = open_existing_sqlite_store(shard, "archive");
  long long cutoff = archive_cutoff_ms(settings.now_ms, settings.keep_ms);
  long long batch = static_cast<long long>(settings.batch);
  attach_archive(*session, report.file);

  // Through the (status, deadline_ms) index, a batch at a time.
  const std::string select_batch = "SELECT o.id FROM main.orders o WHERE "
                                   + archive_sql::archivable() + " AND NOT "
                                   + archive_sql::pending_callback + " LIMIT :batch";
  for (;;) {
    std::vector<std::string> ids(settings.batch);
    with_store_errors("archive: choosing orders", [&] {
      *session << select_batch, soci::use(cutoff, "cutoff"), soci::use(resume_at, "resume"),
        soci::use(batch, "batch"), soci::into(ids);
    });
    if (ids.empty())
      break;
    // 1. Copy, committed in the archive alone. 2. Delete from the store what the archive
    // holds.
    copy_to_archive(*session, ids);
    auto removed = remove_archived(*session, ids);
    report.longest_lock_us = std::max<int64_t>(report.longest_lock_us, removed.lock_held.count());
    report.orders += static_cast<uint64_t>(removed.orders);
    report.attempts += static_cast<uint64_t>(removed.attempts);
    report.callbacks += static_cast<uint64_t>(removed.callbacks);
    ++report.batches;
    // An order the archive refused (today's file holds another order with its client
    // reference, reused after an earlier archiving) stays in the store; choosing it again
    // would never end, so the run stops here and says so. One whose notification was made
    // due again since it was chosen stays too, but is not chosen again while it is pending.
    if (static_cast<size_t>(removed.orders) < ids.size()) {
      auto refused = missing_from_archive(*session, ids);
      if (refused > 0)
        throw store_error("archive: " + std::to_string(refused) + " orders could not be moved to "
                          + report.file
                          + " (it holds other orders with their client references); "
                            "they stay in the store");
    }
    // A batch of which nothing could be removed would be chosen again and again: stop here,
    // the next run tries again.
    if (removed.orders == 0)
      break;
    std::this_thread::sleep_for(settings.pause);
  }
  with_store_errors("archive: counting orders kept for their notifications", [&] {
    long long awaiting = 0;
    *session << "SELECT COUNT(*) FROM main.orders o WHERE " + archive_sql::archivable() + " AND "
                  + archive_sql::pending_callback,
      soci::use(cutoff, "cutoff"), soci::use(resume_at, "resume"), soci::into(awaiting);
    report.awaiting_callbacks += static_cast<uint64_t>(awaiting);
  });
  with_store_errors("archive: closing the archive file",
                    [&] { *session << "DETACH DATABASE archive"; });
}

} // namespace

archive_report archive_final_orders(const store_config& cfg, const archive_settings& settings) {
  auto shards = existing_shards(cfg, "archive");
  fs::create_directories(settings.directory);
  archive_report report;
  report.file = (fs::path{settings.directory} / archive_file_name(settings.now_ms)).string();
  auto resume_at = earliest_resume(shards.front(),
                                   archive_cutoff_ms(settings.now_ms, settings.keep_ms));
  for (const auto& shard : shards)
    archive_shard(shard, settings, resume_at, report);
  return report;
}

} // namespace topup
