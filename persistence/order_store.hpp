#pragma once

#include "config/config.hpp"
#include "domain/order.hpp"
#include "messages/protocol.hpp"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace soci {
class session;
}

namespace topup {

class postgresql_batch_writer;

/// The history entry a state change appends to its order (one line of orders.history): the
/// same on every backend.
history_entry history_entry_of(const transition& change);

/// What `change` appends to the order's wrong_carrier_at as stored (encode_provider_list):
/// its provider for a wrong_carrier event, nothing for any other.
std::string wrong_carrier_addition(const transition& change);

/// The attempt count the stored order must have for `change` to apply, on every backend: a
/// dispatch starts the attempt after the last one stored, so a stale copy of an order (one
/// served twice after a takeover) never starts an attempt; -1 (no condition) for any other.
long long attempts_before(const transition& change);

/// The condition on an order row (columns unqualified) that holds while it is not final,
/// served by the (status, deadline_ms) index: what recovery and the reads of unfinished
/// orders select.
extern const char* const unfinished_status_sql;

/// Reads of orders on a session of their own. Blocking; used from one thread at a time.
/// Every failure is a store_error whose message is safe to log (no SQL, no bound values).
/// It neither creates nor migrates the schema: that is the order_store's job, and a reader
/// only serves once the store that writes has opened the database.
class order_reader {
public:
  /// Opens a session. On PostgreSQL the server lists it under `application_name`
  /// (pg_stat_activity), so that an operator can tell the store's connections apart.
  explicit order_reader(const store_config& cfg,
                        const std::string& application_name = "topup-store-reader");
  ~order_reader();

  order_reader(const order_reader&) = delete;
  order_reader& operator=(const order_reader&) = delete;

  std::optional<order> find_by_id(const std::string& id);
  /// The order of `merchant` ("": the default merchant) with this client reference.
  std::optional<order> find_by_ref(const std::string& merchant, const std::string& client_ref);

  /// The order with this id and its story (domain/order_history).
  std::optional<order_history> find_history(const std::string& id);

  /// Every order that is not final, in one query.
  std::vector<order> load_unfinished();

  /// At most `limit` unfinished orders after (after_deadline_ms, after_id) in the order of
  /// (deadline_ms, id): start-up recovery reads a large backlog page by page, so that it
  /// never holds all of it in one more copy.
  std::vector<order> load_unfinished_page(int64_t after_deadline_ms, const std::string& after_id,
                                          uint32_t limit);

  /// Those of the orders with these ids that are not final (ids of no order are left out).
  std::vector<order> load_unfinished_of(const std::vector<std::string>& ids);

  uint64_t count_orders();

  /// The newest orders (by acceptance) matching every non-empty field of the filter.
  std::vector<order> list(const order_filter& filter);

  /// The statement list() runs for `filter`: a client reference with merchants is looked up
  /// in the unique (merchant, client_ref) index, one placeholder per merchant.
  static std::string list_statement(const order_filter& filter);

  /// How many orders are in each status.
  std::vector<status_count> count_by_status();

  /// Reconciliation: one page of a provider's attempts (see attempt_query), each with its
  /// order's status, amount and phone.
  std::vector<attempt_record> attempts(const attempt_query& query);

  /// The order's result notifications in the callback outbox, by due time (none: empty).
  std::vector<callback_record> callbacks_of(const std::string& order_id);

  /// A page of final orders of one ingress (see final_orders_page), for a result writer.
  std::vector<order> final_page(const final_orders_page& page);

  /// Where the named result writer resumes; none if it never recorded it.
  std::optional<int64_t> result_cursor(const std::string& writer);

protected:
  soci::session& session() { return *session_; }

private:
  std::optional<order> find_one(const std::string& where_column, const std::string& value);

  std::unique_ptr<soci::session> session_;
  std::string default_merchant_;
};

/// Orders in the database: opening and migrating it, inserting in batches, reading back
/// (on the same session, so a read sees the writes before it). Blocking; used only from the
/// store actor's own thread. Every failure is a store_error whose message is safe to log.
class order_store : public order_reader {
public:
  /// Opens (creating if needed) and migrates the database.
  explicit order_store(const store_config& cfg);
  ~order_store();

  /// Inserts the orders in one transaction, in order. An order whose client reference
  /// already exists (in the database or earlier in this batch) is not written; its outcome
  /// holds the stored row. All or nothing: on error nothing of the batch is written.
  std::vector<insert_outcome> insert(const std::vector<order>& orders);

  /// Applies state changes in one transaction; see `transition`. Each result is true when
  /// applied, false when refused (stored status differs from `from`, or illegal event).
  std::vector<bool> apply(const std::vector<transition>& changes);

  /// Records where the named result writer resumes, in a transaction of its own.
  void save_result_cursor(const std::string& writer, int64_t resume_at_ms);

  /// Runs `work` (calls to insert_rows / apply_rows) in one transaction: all or nothing.
  template <class Work>
  void in_transaction(Work&& work);

  /// insert() and apply() without their own transaction, for use inside in_transaction.
  std::vector<insert_outcome> insert_rows(const std::vector<order>& orders);
  std::vector<bool> apply_rows(const std::vector<transition>& changes);

private:
  struct statements;
  /// Writes the merchants' notifications of the applied changes that call for one
  /// (domain/merchant_callback) into the outbox, in the current transaction.
  std::vector<bool> apply_changes(const std::vector<transition>& changes);
  void record_callbacks(const std::vector<transition>& changes, const std::vector<bool>& applied);
  void begin();
  void commit();
  void rollback() noexcept;

  std::unique_ptr<statements> statements_;
  /// PostgreSQL: writes a batch in a few statements instead of several per row.
  std::unique_ptr<postgresql_batch_writer> batch_writer_;
  merchant_directory merchants_;
  /// Whether any order can have a callback destination: when none can, no notification is
  /// looked for (and nothing more is read per change).
  bool callbacks_ = false;
};

template <class Work>
void order_store::in_transaction(Work&& work) {
  begin();
  try {
    work();
    commit();
  } catch (...) {
    rollback();
    throw;
  }
}

} // namespace topup
