#include "persistence/sql_backend.hpp"

#include "domain/error_text.hpp"

#include <soci/postgresql/soci-postgresql.h>
#include <soci/sqlite3/soci-sqlite3.h>

#include <chrono>
#include <mutex>
#include <thread>

namespace topup {
namespace {

/// Process-wide SQLite settings, which only apply before the library's first use. Every
/// connection here is used by one thread at a time, so the per-connection mutex of the
/// default "serialized" mode is not needed; and the memory statistics take one global mutex
/// on every allocation, which the store, its readers and the simulated providers' ledgers
/// would otherwise contend for. A failure (the library already in use) keeps the defaults.
void configure_sqlite_library() {
  static std::once_flag once;
  std::call_once(once, [] {
    // SOCI's header declares SQLite's API inside namespace sqlite_api.
    sqlite_api::sqlite3_config(SQLITE_CONFIG_MULTITHREAD);
    sqlite_api::sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  });
}

} // namespace

std::string describe_database_error(const std::exception& error) {
  // get_error_message() leaves out the SQL and bound values that what() appends; libpq's
  // text still spans several lines and may quote values (DETAIL): one_line_reason keeps the
  // message line alone and masks long numbers.
  if (auto pg = dynamic_cast<const soci::postgresql_soci_error*>(&error))
    return one_line_reason("postgresql error " + pg->sqlstate() + ": "
                           + pg->get_error_message());
  if (auto lite = dynamic_cast<const soci::sqlite3_soci_error*>(&error))
    return one_line_reason("sqlite error " + std::to_string(lite->result()) + ": "
                           + lite->get_error_message());
  if (auto soci_error = dynamic_cast<const soci::soci_error*>(&error))
    return one_line_reason("database error: " + soci_error->get_error_message());
  return one_line_reason(error.what());
}

std::string describe_target(const store_config& cfg) {
  if (cfg.backend == store_config::backend_kind::sqlite)
    return "sqlite:" + cfg.sqlite_path;
  return "postgresql";
}

std::unique_ptr<soci::session> open_sqlite_wal(const std::string& path,
                                               const std::string& synchronous,
                                               int busy_timeout_s) {
  configure_sqlite_library();
  bool in_memory = path == ":memory:";
  auto open_once = [&] {
    auto session = std::make_unique<soci::session>(
      soci::sqlite3, "db=\"" + path + "\" timeout=" + std::to_string(busy_timeout_s)
                       + " synchronous=" + synchronous);
    std::string mode;
    *session << "PRAGMA journal_mode=WAL", soci::into(mode);
    // An in-memory database has no WAL; it answers "memory" and needs none.
    if (mode != "wal" && !in_memory)
      throw store_error("sqlite: cannot switch " + path + " to WAL (journal mode " + mode + ")");
    return session;
  };
  // A connection setting up the file while another one holds it (creating it, or a
  // process that is just dying) sees "database is locked" before the busy timeout applies.
  for (int attempt = 1;; ++attempt) {
    try {
      return open_once();
    } catch (const soci::sqlite3_soci_error& error) {
      if (error.result() != 5 /* SQLITE_BUSY */ || attempt >= 40)
        throw;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
}

store_config with_bounded_waits(store_config store, std::chrono::milliseconds lock_timeout,
                                std::chrono::milliseconds idle_in_transaction) {
  if (store.backend != store_config::backend_kind::postgresql)
    return store;
  std::string settings;
  auto add = [&](const char* name, std::chrono::milliseconds value) {
    if (value.count() > 0)
      settings += std::string{settings.empty() ? "" : " "} + "-c " + name + "="
                  + std::to_string(value.count());
  };
  add("lock_timeout", lock_timeout);
  add("idle_in_transaction_session_timeout", idle_in_transaction);
  if (settings.empty())
    return store;
  auto& connection = store.postgresql_connection;
  bool uri = connection.rfind("postgresql://", 0) == 0 || connection.rfind("postgres://", 0) == 0;
  if (uri) {
    std::string encoded;
    for (char c : settings)
      encoded += c == ' ' ? std::string{"%20"} : c == '=' ? std::string{"%3D"} : std::string(1, c);
    connection += (connection.find('?') == std::string::npos ? "?" : "&") + ("options=" + encoded);
  } else {
    connection += " options='" + settings + "'";
  }
  return store;
}

std::unique_ptr<soci::session> open_session(const store_config& cfg,
                                            const std::string& application_name) {
  try {
    if (cfg.backend == store_config::backend_kind::sqlite) {
      auto session = open_sqlite_wal(
        cfg.sqlite_path, cfg.synchronous == sqlite_synchronous::full ? "full" : "normal",
        cfg.busy_timeout_s);
      *session << "PRAGMA foreign_keys=ON";
      // SQLite's default page cache is 2 MiB: the order indexes outgrow it after a few
      // hundred thousand orders and every write then copies pages in from the OS.
      *session << "PRAGMA cache_size=-32768";
      return session;
    }
    auto session = std::make_unique<soci::session>(soci::postgresql, cfg.postgresql_connection);
    // A SET after connecting works whatever form the connection string has (keywords or URI).
    if (!application_name.empty()) {
      std::string applied;
      *session << "SELECT set_config('application_name', :name, false)",
        soci::use(application_name), soci::into(applied);
    }
    return session;
  } catch (const store_error&) {
    throw;
  } catch (const std::exception& error) {
    throw store_error("cannot open " + describe_target(cfg) + ": "
                      + describe_database_error(error));
  }
}

} // namespace topup
