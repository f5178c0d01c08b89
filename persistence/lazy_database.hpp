#pragma once

#include "config/config.hpp"
#include "domain/clock.hpp"
#include "domain/log_repeats.hpp"
#include "domain/retry_backoff.hpp"
#include "persistence/sql_backend.hpp"

#include <memory>
#include <string>

namespace topup {

/// How long the store waits before opening its database again after failures in a row: a
/// broken disk or an unreachable server is tried less and less often (100 ms, 200 ms, ...
/// every 2 s at most) instead of once per request, and meanwhile requests are answered
/// `unavailable` at once.
constexpr backoff_policy store_reopen_backoff{milliseconds{100}, milliseconds{2000}};

/// Log lines of lazy_database, kept out of the header. `suffix` says how many like it were
/// not written (domain/log_repeats).
void log_database_open_failed(const std::string& who, const std::string& failure,
                              const std::string& suffix);
void log_database_recovered(const std::string& who, const store_config& cfg,
                            uint32_t failures, const std::string& suffix);

/// A database connection (order_store, order_reader) that an actor opens when it needs it
/// and drops after a failure: SOCI does not restore a lost connection, so the next use
/// starts from a new one. Failures are described log-safely (describe_database_error).
template <class Database>
class lazy_database {
public:
  lazy_database() = default;
  /// `who` names the owner in log lines ("store", "store reader 2").
  lazy_database(store_config cfg, std::shared_ptr<const clock> time, std::string who)
    : cfg_(std::move(cfg)), time_(std::move(time)), who_(std::move(who)) {}

  /// The open database, opening it first if needed; null while it cannot be opened
  /// (last_failure() says why). While the backoff after failures runs it does not try.
  Database* open() {
    if (db_)
      return db_.get();
    auto now = time_->now();
    if (!backoff_.may_try(now))
      return nullptr;
    try {
      db_ = std::make_unique<Database>(cfg_);
    } catch (const std::exception& error) {
      backoff_.failed(now);
      last_failure_ = describe_database_error(error);
      auto verdict = repeats_.occurred("open", now);
      if (verdict.write)
        log_database_open_failed(who_, last_failure_, verdict.suffix());
      return nullptr;
    }
    worked_since_open_ = false;
    return db_.get();
  }

  bool is_open() const { return db_ != nullptr; }

  /// An operation on the open database succeeded: failures are behind it (said once in
  /// the log, summarised like the failures when it flaps).
  void worked() {
    if (backoff_.failures() > 0) {
      auto verdict = repeats_.occurred("recovered", time_->now());
      if (verdict.write)
        log_database_recovered(who_, cfg_, backoff_.failures(), verdict.suffix());
    }
    backoff_.succeeded();
    worked_since_open_ = true;
    failing_ = false;
  }

  /// Closes the connection after `error`; returns its log-safe description, which
  /// last_failure() keeps. The first failure after good times is tried again at once: the
  /// connection may just have gone stale (the server restarted, the connection opened at
  /// start was killed, a lock was held). A connection opened after a failure that fails
  /// again before doing any work (a full disk fails every commit) waits for the backoff
  /// like a failed open.
  const std::string& drop(const std::exception& error) {
    db_.reset();
    if (failing_ && !worked_since_open_)
      backoff_.failed(time_->now());
    failing_ = true;
    worked_since_open_ = false;
    last_failure_ = describe_database_error(error);
    return last_failure_;
  }

  /// True while failures keep the database closed.
  bool backing_off() const { return !db_ && backoff_.failures() > 0; }

  const std::string& last_failure() const { return last_failure_; }

private:
  store_config cfg_;
  std::shared_ptr<const clock> time_;
  std::string who_;
  std::unique_ptr<Database> db_;  ///< null while closed
  retry_backoff backoff_{store_reopen_backoff};
  bool worked_since_open_ = false;
  bool failing_ = false;  ///< the last use failed, nothing has worked since
  log_repeats repeats_;
  std::string last_failure_;
};

} // namespace topup
