#include "persistence/sql_backend.hpp"

#include <soci/postgresql/soci-postgresql.h>
#include <soci/sqlite3/soci-sqlite3.h>

#include <chrono>
#include <thread>

namespace topup {

std::string describe_database_error(const std::exception& error) {
  if (auto pg = dynamic_cast<const soci::postgresql_soci_error*>(&error))
    return "postgresql error " + pg->sqlstate() + ": " + pg->get_error_message();
  if (auto lite = dynamic_cast<const soci::sqlite3_soci_error*>(&error))
    return "sqlite error " + std::to_string(lite->result()) + ": " + lite->get_error_message();
  if (auto soci_error = dynamic_cast<const soci::soci_error*>(&error))
    return "database error: " + soci_error->get_error_message();
  return error.what();
}

std::string describe_target(const store_config& cfg) {
  if (cfg.backend == store_config::backend_kind::sqlite)
    return "sqlite:" + cfg.sqlite_path;
  return "postgresql";
}

namespace {

std::unique_ptr<soci::session> open_sqlite(const store_config& cfg) {
  auto synchronous = cfg.synchronous == sqlite_synchronous::full ? "full" : "normal";
  auto session = std::make_unique<soci::session>(
    soci::sqlite3, "db=\"" + cfg.sqlite_path + "\" timeout=" + std::to_string(cfg.busy_timeout_s)
                     + " synchronous=" + synchronous);
  std::string mode;
  *session << "PRAGMA journal_mode=WAL", soci::into(mode);
  if (mode != "wal")
    throw store_error("sqlite: cannot switch " + cfg.sqlite_path + " to WAL (journal mode "
                      + mode + ")");
  *session << "PRAGMA foreign_keys=ON";
  return session;
}

} // namespace

std::unique_ptr<soci::session> open_session(const store_config& cfg) {
  try {
    if (cfg.backend == store_config::backend_kind::sqlite) {
      // Two connections creating a new file at once can see "database is locked" while
      // setting it up, before the busy timeout applies: try again for a while.
      for (int attempt = 1;; ++attempt) {
        try {
          return open_sqlite(cfg);
        } catch (const soci::sqlite3_soci_error& error) {
          if (error.result() != 5 /* SQLITE_BUSY */ || attempt >= 20)
            throw;
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
      }
    }
    return std::make_unique<soci::session>(soci::postgresql, cfg.postgresql_connection);
  } catch (const store_error&) {
    throw;
  } catch (const std::exception& error) {
    throw store_error("cannot open " + describe_target(cfg) + ": "
                      + describe_database_error(error));
  }
}

} // namespace topup
