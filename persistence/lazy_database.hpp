#pragma once

#include "config/config.hpp"
#include "domain/clock.hpp"
#include "persistence/sql_backend.hpp"

#include <memory>
#include <string>

namespace topup {

/// How long after a failed open the store answers `unavailable` at once instead of trying
/// again: a broken disk or an unreachable server is not hammered once per request.
constexpr milliseconds store_reopen_interval{500};

/// Log lines of lazy_database, kept out of the header.
void log_database_open_failed(const std::string& who, const std::string& failure);
void log_database_reopened(const std::string& who, const store_config& cfg);

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
  /// (last_failure() says why). Within store_reopen_interval of a failed open it does not
  /// try again.
  Database* open() {
    if (db_)
      return db_.get();
    if (open_failed_once_ && time_->now() - last_open_failure_ < store_reopen_interval)
      return nullptr;
    try {
      db_ = std::make_unique<Database>(cfg_);
    } catch (const std::exception& error) {
      last_open_failure_ = time_->now();
      open_failed_once_ = true;
      last_failure_ = describe_database_error(error);
      log_database_open_failed(who_, last_failure_);
      return nullptr;
    }
    if (open_failed_once_)
      log_database_reopened(who_, cfg_);
    open_failed_once_ = false;
    return db_.get();
  }

  bool is_open() const { return db_ != nullptr; }

  /// Closes the connection after `error`; returns its log-safe description, which
  /// last_failure() keeps.
  const std::string& drop(const std::exception& error) {
    db_.reset();
    last_failure_ = describe_database_error(error);
    return last_failure_;
  }

  const std::string& last_failure() const { return last_failure_; }

private:
  store_config cfg_;
  std::shared_ptr<const clock> time_;
  std::string who_;
  std::unique_ptr<Database> db_;  ///< null while closed
  mono_time last_open_failure_{};
  bool open_failed_once_ = false;
  std::string last_failure_;
};

} // namespace topup
