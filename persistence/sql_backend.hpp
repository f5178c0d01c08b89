#pragma once

// Everything that differs between SQLite and PostgreSQL lives here: how a session is opened
// and configured, and how a database error is described without leaking bound values.
// The schema and statements in order_store.cpp are plain SQL both backends accept.

#include "config/config.hpp"

#include <soci/soci.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>

namespace topup {

/// A database failure, described without SQL text or bound values (soci_error::what()
/// carries both, phone numbers included, so it is never logged or shown).
class store_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// PostgreSQL waits a cluster node must bound. A node paused (SIGSTOP, a long GC-like stall,
/// a frozen VM) in the middle of a transaction keeps its row locks: the fence share-locks the
/// lease row in every attempt write, so the next owner's acquire would wait for the paused
/// node forever, and a cluster actor blocked in it stops heartbeating. With
/// `idle_in_transaction` the server ends such a session (its uncommitted writes roll back,
/// and the node was not told they were durable, so it made no call for them); with
/// `lock_timeout` a statement gives up waiting for a lock. Zero leaves a limit unset. Both
/// travel in the connection string (libpq "options"); SQLite is returned unchanged.
store_config with_bounded_waits(store_config store, std::chrono::milliseconds lock_timeout,
                                std::chrono::milliseconds idle_in_transaction);

/// Opens a session for the configured backend. SQLite: WAL, the configured synchronous level,
/// a busy timeout. PostgreSQL: named `application_name` (when not empty) in the server's
/// pg_stat_activity. Throws store_error.
std::unique_ptr<soci::session> open_session(const store_config& cfg,
                                            const std::string& application_name = {});

/// Opens an SQLite file (or ":memory:") in WAL mode with the given synchronous level and
/// busy timeout, trying again for a while when another connection holds it. Throws
/// soci::soci_error or store_error.
std::unique_ptr<soci::session> open_sqlite_wal(const std::string& path,
                                               const std::string& synchronous,
                                               int busy_timeout_s);

/// A log-safe description of an exception thrown by SOCI (or anything else a database
/// operation threw): one line, without SQL, bound values or libpq's hint and detail lines, at
/// most 300 bytes (domain/error_text). Clients see it in `unavailable` errors.
std::string describe_database_error(const std::exception& error);

/// "sqlite:/path/to.db" or "postgresql:<host/db>" for log lines.
std::string describe_target(const store_config& cfg);

/// Runs a database operation, turning SOCI's exceptions into log-safe store_errors whose
/// text starts with `what` ("renewing a lease: sqlite error 5: database is locked").
template <class F>
auto with_store_errors(const char* what, F&& operation) -> decltype(operation()) {
  try {
    return operation();
  } catch (const store_error&) {
    throw;
  } catch (const std::exception& error) {
    throw store_error(std::string{what} + ": " + describe_database_error(error));
  }
}

} // namespace topup
