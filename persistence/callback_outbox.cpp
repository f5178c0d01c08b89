#include "persistence/callback_outbox.hpp"

#include "domain/retention.hpp"
#include "persistence/schema.hpp"
#include "persistence/sql_backend.hpp"

#include <soci/soci.h>

#include <algorithm>
#include <random>

namespace topup {
namespace {

constexpr const char* delivery_columns =
  "delivery_id, order_id, merchant, url, body, attempts, due_at_ms, next_attempt_at_ms";

callback_delivery delivery_from(const soci::row& row) {
  callback_delivery d;
  d.delivery_id = row.get<std::string>(0);
  d.order_id = row.get<std::string>(1);
  d.merchant = row.get<std::string>(2);
  d.url = row.get<std::string>(3);
  d.body = row.get<std::string>(4);
  d.attempts = static_cast<uint32_t>(row.get<int>(5));
  d.due_at_ms = row.get<long long>(6);
  d.next_attempt_at_ms = row.get<long long>(7);
  return d;
}

callback_state state_from(const std::string& name) {
  for (auto state : {callback_state::pending, callback_state::delivered, callback_state::abandoned})
    if (to_string(state) == name)
      return state;
  throw store_error("a callback has an unknown state in the database");
}

/// The columns of a stored_callback, in the order stored_from reads them.
constexpr const char* stored_columns =
  "delivery_id, order_id, merchant, url, body, attempts, due_at_ms, next_attempt_at_ms,"
  " state, last_http_status, last_error, updated_at_ms";

/// "'delivered', 'abandoned'": the states pruning removes, as SQL literals (constants of the
/// domain, never input).
std::string prunable_state_list() {
  std::string list;
  for (auto state : prunable_callback_states())
    list += std::string{list.empty() ? "'" : ", '"} + std::string{to_string(state)} + "'";
  return list;
}

stored_callback stored_from(const soci::row& row) {
  return {delivery_from(row), state_from(row.get<std::string>(8)),
          static_cast<unsigned>(row.get<int>(9)), row.get<std::string>(10),
          row.get<long long>(11)};
}

} // namespace

void insert_callback(soci::session& session, const callback_delivery& delivery) {
  long long due = delivery.due_at_ms, next = delivery.next_attempt_at_ms;
  std::string pending{to_string(callback_state::pending)};
  session << "INSERT INTO callbacks (delivery_id, order_id, merchant, url, body, state,"
             " due_at_ms, next_attempt_at_ms, updated_at_ms)"
             " VALUES (:id, :order_id, :merchant, :url, :body, :state, :due, :next, :due)"
             " ON CONFLICT (delivery_id) DO NOTHING",
    soci::use(delivery.delivery_id, "id"), soci::use(delivery.order_id, "order_id"),
    soci::use(delivery.merchant, "merchant"), soci::use(delivery.url, "url"),
    soci::use(delivery.body, "body"), soci::use(pending, "state"), soci::use(due, "due"),
    soci::use(next, "next");
}

void drop_pending_callback(soci::session& session, const std::string& delivery_id) {
  session << "DELETE FROM callbacks WHERE delivery_id = :id AND state = 'pending'",
    soci::use(delivery_id);
}

callback_outbox::callback_outbox(const store_config& cfg)
  : session_(open_session(cfg, "topup-callbacks")),
    claiming_(cfg.backend == store_config::backend_kind::postgresql),
    claimant_(std::to_string(std::random_device{}()) + "-"
              + std::to_string(std::random_device{}())) {
  with_store_errors("migrating the schema", [&] {
    migrate(*session_, current_schema_version, cfg.default_merchant);
  });
}

callback_outbox::~callback_outbox() = default;

std::vector<callback_delivery> callback_outbox::claim_due(const std::string& merchant,
                                                          int64_t now_ms, size_t limit,
                                                          int64_t claim_until_ms,
                                                          const std::set<std::string>& in_flight) {
  return with_store_errors("claiming due callbacks", [&] {
    long long now = now_ms, until = claim_until_ms;
    // Unclaimed (SQLite), the rows in flight are due too: read past them.
    auto wanted = claiming_ ? limit : limit + in_flight.size();
    int rows_wanted = static_cast<int>(std::min<size_t>(std::max<size_t>(wanted, 1), 10000));
    std::vector<callback_delivery> due;
    auto keep = [&](const soci::row& row) {
      auto delivery = delivery_from(row);
      if (due.size() < limit && in_flight.count(delivery.delivery_id) == 0)
        due.push_back(std::move(delivery));
    };
    if (!claiming_) {
      // "state = 'pending'" is the condition of the index of pending rows.
      soci::rowset<soci::row> rows =
        (session_->prepare << "SELECT " << delivery_columns
                           << " FROM callbacks WHERE state = 'pending' AND merchant = :merchant"
                              " AND next_attempt_at_ms <= :now"
                              " ORDER BY next_attempt_at_ms, delivery_id LIMIT :limit",
         soci::use(merchant, "merchant"), soci::use(now, "now"), soci::use(rows_wanted, "limit"));
      for (const auto& row : rows)
        keep(row);
      return due;
    }
    auto claim = claimant_ + "/" + std::to_string(++claims_);
    // The outer conditions repeat the inner ones: on PostgreSQL a sender that waited for
    // another's claim re-checks them on the rows it then sees, and leaves those claimed.
    // "state = 'pending'" repeats the index's condition, so that both databases use it.
    *session_ << "UPDATE callbacks SET next_attempt_at_ms = :until, claimed_by = :claim"
                 " WHERE state = 'pending' AND merchant = :merchant AND next_attempt_at_ms <= :now"
                 " AND delivery_id IN (SELECT delivery_id FROM callbacks"
                 " WHERE state = 'pending' AND merchant = :merchant AND next_attempt_at_ms <= :now"
                 " ORDER BY next_attempt_at_ms, delivery_id LIMIT :limit)",
      soci::use(until, "until"), soci::use(claim, "claim"), soci::use(merchant, "merchant"),
      soci::use(now, "now"), soci::use(rows_wanted, "limit");
    soci::rowset<soci::row> rows =
      (session_->prepare << "SELECT " << delivery_columns
                         << " FROM callbacks WHERE state = 'pending' AND merchant = :merchant"
                            " AND next_attempt_at_ms = :until AND claimed_by = :claim"
                            " ORDER BY due_at_ms, delivery_id",
       soci::use(merchant, "merchant"), soci::use(until, "until"), soci::use(claim, "claim"));
    for (const auto& row : rows)
      keep(row);
    return due;
  });
}

void callback_outbox::record(const std::vector<callback_attempt>& attempts) {
  if (attempts.empty())
    return;
  with_store_errors("recording callback attempts", [&] {
    std::string state;
    long long at = 0, next = 0;
    int status = 0;
    std::string error, delivery_id;
    soci::transaction recording{*session_};
    soci::statement update =
      (session_->prepare << "UPDATE callbacks SET state = :state, attempts = attempts + 1,"
                            " next_attempt_at_ms = :next, last_http_status = :status,"
                            " last_error = :error, claimed_by = '', updated_at_ms = :at"
                            " WHERE delivery_id = :id AND state = 'pending'",
       soci::use(state, "state"), soci::use(next, "next"), soci::use(status, "status"),
       soci::use(error, "error"), soci::use(at, "at"), soci::use(delivery_id, "id"));
    for (const auto& attempt : attempts) {
      state = to_string(attempt.state);
      at = attempt.at_ms;
      next = attempt.next_attempt_at_ms;
      status = static_cast<int>(attempt.http_status);
      error = attempt.error;
      delivery_id = attempt.delivery_id;
      update.execute(true);
    }
    recording.commit();
  });
}

void callback_outbox::record(const callback_attempt& attempt) {
  record(std::vector<callback_attempt>{attempt});
}

std::vector<stored_callback> callback_outbox::all() {
  return with_store_errors("reading callbacks", [&] {
    std::vector<stored_callback> found;
    soci::rowset<soci::row> rows =
      (session_->prepare << "SELECT " << stored_columns
                         << " FROM callbacks ORDER BY due_at_ms, delivery_id");
    for (const auto& row : rows)
      found.push_back(stored_from(row));
    return found;
  });
}

std::vector<stored_callback> callbacks_of_order(soci::session& session,
                                                const std::string& order_id) {
  return with_store_errors("reading an order's callbacks", [&] {
    std::vector<stored_callback> found;
    soci::rowset<soci::row> rows =
      (session.prepare << "SELECT " << stored_columns
                       << " FROM callbacks WHERE order_id = :order_id"
                          " ORDER BY due_at_ms, delivery_id",
       soci::use(order_id));
    for (const auto& row : rows)
      found.push_back(stored_from(row));
    return found;
  });
}

callback_record record_of(const stored_callback& row) {
  return {row.delivery.delivery_id,
          row.delivery.order_id,
          row.delivery.merchant,
          row.delivery.url,
          std::string{to_string(row.state)},
          row.delivery.attempts,
          row.delivery.due_at_ms,
          row.delivery.next_attempt_at_ms,
          row.last_http_status,
          row.last_error,
          row.updated_at_ms};
}

std::vector<stored_callback> callback_outbox::of_order(const std::string& order_id) {
  return callbacks_of_order(*session_, order_id);
}

uint64_t callback_outbox::count_pending() {
  return with_store_errors("counting pending callbacks", [&] {
    long long pending = 0;
    *session_ << "SELECT COUNT(*) FROM callbacks WHERE state = 'pending'", soci::into(pending);
    return static_cast<uint64_t>(pending);
  });
}

std::map<std::string, uint64_t> callback_outbox::pending_by_merchant() {
  return with_store_errors("counting pending callbacks by merchant", [&] {
    // The merchants first, then a count each: COUNT(*)'s column type differs between the
    // backends, a bound long long does not.
    std::map<std::string, uint64_t> pending;
    soci::rowset<std::string> merchants =
      (session_->prepare << "SELECT DISTINCT merchant FROM callbacks WHERE state = 'pending'");
    for (const auto& merchant : merchants)
      pending[merchant] = 0;
    for (auto& [merchant, count] : pending) {
      long long rows = 0;
      *session_ << "SELECT COUNT(*) FROM callbacks WHERE state = 'pending' AND merchant = :m",
        soci::use(merchant), soci::into(rows);
      count = static_cast<uint64_t>(rows);
    }
    return pending;
  });
}

void callback_outbox::make_due_again(const std::string& chosen, const std::string& key,
                                     int64_t now_ms) {
  long long now = now_ms;
  // One statement picks and updates the row, so no transaction has to upgrade a read to a
  // write. A live claim (a call under way, here or at another node) keeps its row: that
  // call's outcome is recorded as usual.
  *session_ << "UPDATE callbacks SET state = 'pending', next_attempt_at_ms = :now,"
               " claimed_by = '', updated_at_ms = :now"
               " WHERE delivery_id = (" + chosen + ")"
               " AND NOT (state = 'pending' AND claimed_by <> '' AND next_attempt_at_ms > :now)",
    soci::use(now, "now"), soci::use(key, "key");
}

std::optional<stored_callback> callback_outbox::redeliver(const std::string& order_id,
                                                          int64_t now_ms) {
  return with_store_errors("scheduling a callback again", [&] {
    // The latest notification: the last by due time, as of_order lists them.
    make_due_again("SELECT delivery_id FROM callbacks WHERE order_id = :key"
                   " ORDER BY due_at_ms DESC, delivery_id DESC LIMIT 1",
                   order_id, now_ms);
    auto found = of_order(order_id);
    if (found.empty())
      return std::optional<stored_callback>{};
    return std::optional<stored_callback>{std::move(found.back())};
  });
}

std::optional<stored_callback> callback_outbox::redeliver_delivery(const std::string& delivery_id,
                                                                   int64_t now_ms) {
  return with_store_errors("scheduling a callback again", [&] {
    make_due_again(":key", delivery_id, now_ms);
    std::optional<stored_callback> found;
    soci::rowset<soci::row> rows =
      (session_->prepare << "SELECT " << stored_columns
                         << " FROM callbacks WHERE delivery_id = :id",
       soci::use(delivery_id));
    for (const auto& row : rows)
      found = stored_from(row);
    return found;
  });
}

size_t callback_outbox::prune_finished(int64_t cutoff_ms, size_t batch) {
  return with_store_errors("pruning finished callbacks", [&] {
    long long cutoff = cutoff_ms;
    int rows_wanted = static_cast<int>(std::min<size_t>(std::max<size_t>(batch, 1), 10000));
    const auto prunable = "state IN (" + prunable_state_list() + ") AND updated_at_ms < :cutoff";
    // "state <> 'pending'" is the condition of the index of finished rows: both databases
    // then read the old ones through it instead of the whole outbox.
    std::vector<std::string> ids(static_cast<size_t>(rows_wanted));
    *session_ << "SELECT delivery_id FROM callbacks WHERE state <> 'pending' AND " + prunable
                   + " ORDER BY updated_at_ms LIMIT :limit",
      soci::use(cutoff, "cutoff"), soci::use(rows_wanted, "limit"), soci::into(ids);
    if (ids.empty())
      return size_t{0};
    std::vector<long long> cutoffs(ids.size(), cutoff);
    soci::transaction removal{*session_};
    soci::statement remove =
      (session_->prepare << "DELETE FROM callbacks WHERE delivery_id = :id AND " + prunable,
       soci::use(ids, "id"), soci::use(cutoffs, "cutoff"));
    remove.execute(true);
    auto removed = static_cast<size_t>(remove.get_affected_rows());
    removal.commit();
    return removed;
  });
}

} // namespace topup
