#include "persistence/order_store.hpp"

#include "domain/merchant_callback.hpp"
#include "domain/order_state_machine.hpp"

#include "persistence/callback_outbox.hpp"
#include "persistence/lease_store.hpp"
#include "persistence/postgresql_batch.hpp"
#include "persistence/schema.hpp"
#include "persistence/sql_backend.hpp"

#include <soci/soci.h>

#include <algorithm>
#include <limits>

namespace topup {
namespace {

const char* const order_columns =
  "id, client_ref, phone, carrier, amount_fen, provider, status, attempts, accepted_at_ms,"
  " deadline_ms, updated_at_ms, last_error, ingress, merchant, notify_url, wrong_carrier_at";
/// The column after order_columns in a SELECT of them.
constexpr std::size_t after_order_columns = 16;

/// One order's columns as SOCI binds them (status as text, attempts as int).
struct order_row {
  std::string id, client_ref, phone, carrier, provider, status, last_error, ingress, merchant,
    notify_url, wrong_carrier_at;
  long long amount_fen = 0, accepted_at_ms = 0, deadline_ms = 0, updated_at_ms = 0;
  int attempts = 0;

  void assign(const order& o) {
    id = o.id;
    client_ref = o.client_ref;
    phone = o.phone;
    carrier = o.carrier;
    amount_fen = o.amount_fen;
    provider = o.provider;
    status = std::string{to_string(o.status)};
    attempts = o.attempts;
    accepted_at_ms = o.accepted_at_ms;
    deadline_ms = o.deadline_ms;
    updated_at_ms = o.updated_at_ms;
    last_error = o.last_error;
    ingress = o.ingress;
    merchant = o.merchant;
    notify_url = o.notify_url;
    wrong_carrier_at = encode_provider_list(o.wrong_carrier_at);
  }
};

order order_from(const soci::row& row) {
  order o;
  o.id = row.get<std::string>(0);
  o.client_ref = row.get<std::string>(1);
  o.phone = row.get<std::string>(2);
  o.carrier = row.get<std::string>(3);
  o.amount_fen = row.get<long long>(4);
  o.provider = row.get<std::string>(5);
  auto status = order_status_from_string(row.get<std::string>(6));
  if (!status)
    throw store_error("order " + o.id + " has an unknown status in the database");
  o.status = *status;
  o.attempts = row.get<int>(7);
  o.accepted_at_ms = row.get<long long>(8);
  o.deadline_ms = row.get<long long>(9);
  o.updated_at_ms = row.get<long long>(10);
  o.last_error = row.get<std::string>(11);
  o.ingress = row.get<std::string>(12);
  o.merchant = row.get<std::string>(13);
  o.notify_url = row.get<std::string>(14);
  o.wrong_carrier_at = decode_provider_list(row.get<std::string>(15));
  return o;
}

/// An integer column of an expression (COUNT(*)), whose type SOCI reports differently per
/// backend.
long long integer_at(const soci::row& row, std::size_t column) {
  switch (row.get_properties(column).get_data_type()) {
    case soci::dt_integer: return row.get<int>(column);
    case soci::dt_long_long: return row.get<long long>(column);
    case soci::dt_unsigned_long_long:
      return static_cast<long long>(row.get<unsigned long long>(column));
    case soci::dt_double: return static_cast<long long>(row.get<double>(column));
    default: return std::stoll(row.get<std::string>(column));
  }
}

} // namespace

history_entry history_entry_of(const transition& change) {
  history_entry entry;
  entry.at_ms = change.at_ms;
  entry.event = std::string{to_string(change.event)};
  entry.provider = change.provider;
  entry.attempt_no = change.attempt_no;
  if (change.event == order_event::dispatch) {
    entry.request_id = change.request_id;
    entry.node = change.lease_owner;
    entry.epoch = change.lease_epoch;
  }
  switch (change.via) {
    case answered_by::call: entry.via = "call"; break;
    case answered_by::query: entry.via = "query"; break;
    case answered_by::none: break;
  }
  entry.latency_us = change.latency_us;
  entry.provider_txn = change.provider_txn;
  entry.detail = change.detail;
  return entry;
}

const char* const unfinished_status_sql = "status IN ('accepted', 'dispatched', 'unknown')";

long long attempts_before(const transition& change) {
  return change.event == order_event::dispatch ? change.attempt_no - 1 : -1;
}

std::string wrong_carrier_addition(const transition& change) {
  if (change.event != order_event::wrong_carrier)
    return std::string{};
  return stored_provider_entry(change.provider);
}

/// Prepared once per session and re-executed: parsing SQL per row would cost more than
/// writing it.
struct order_store::statements {
  order_row row;

  // One transition's bound values.
  std::string id, from, to, event, provider, request_id, provider_txn, detail, entry,
    wrong_carrier_addition;
  long long at_ms = 0;
  int attempt_no = 0;
  long long attempts_before = -1;  ///< see topup::attempts_before
  lease_fence fence;  ///< the lease a dispatch claims, and its attempt row records
  soci::statement update_order;
  /// update_order that applies only while `fence` is a live lease (cluster dispatches).
  soci::statement update_order_fenced;
  /// A note: the history entry alone (is_note).
  soci::statement add_note;
  soci::statement start_attempt;
  soci::statement insert;

  // The history entry rides the update of the state: no statement of its own.
  static constexpr const char* update_order_sql =
    "UPDATE orders SET status = :to,"
    " provider = CASE WHEN :provider = '' THEN provider ELSE :provider END,"
    " attempts = CASE WHEN :attempt_no > attempts THEN :attempt_no ELSE attempts END,"
    " updated_at_ms = :at_ms, last_error = :detail, history = history || :entry,"
    " wrong_carrier_at = wrong_carrier_at || :wrong_carrier"
    " WHERE id = :id AND status = :from"
    " AND (:attempts_before < 0 OR attempts = :attempts_before)";

  template <class Statement>
  static auto& bind_update(Statement&& statement, statements& st) {
    return (statement, soci::use(st.to, "to"), soci::use(st.provider, "provider"),
            soci::use(st.attempt_no, "attempt_no"), soci::use(st.at_ms, "at_ms"),
            soci::use(st.detail, "detail"), soci::use(st.entry, "entry"),
            soci::use(st.wrong_carrier_addition, "wrong_carrier"), soci::use(st.id, "id"),
            soci::use(st.from, "from"), soci::use(st.attempts_before, "attempts_before"));
  }

  statements(soci::session& session, store_config::backend_kind backend)
    : update_order(bind_update(session.prepare << update_order_sql, *this)),
      update_order_fenced(use_lease_fence(
        bind_update(session.prepare << update_order_sql << " AND " << lease_fence_sql(backend),
                    *this),
        fence)),
      add_note((session.prepare << "UPDATE orders SET history = history || :entry"
                                   " WHERE id = :id AND status = :from",
                soci::use(entry, "entry"), soci::use(id, "id"), soci::use(from, "from"))),
      start_attempt((session.prepare << "INSERT INTO attempts (order_id, attempt_no, provider,"
                                        " request_id, started_at_ms, node, epoch)"
                                        " VALUES (:id, :attempt_no, :provider, :request_id, :at_ms,"
                                        " :node, :epoch)",
                     soci::use(id), soci::use(attempt_no), soci::use(provider),
                     soci::use(request_id), soci::use(at_ms), soci::use(fence.owner),
                     soci::use(fence.epoch))),
      insert((session.prepare << "INSERT INTO orders (" << order_columns
                              << ") VALUES (:id, :client_ref, :phone, :carrier, :amount_fen,"
                                 " :provider, :status, :attempts, :accepted_at_ms, :deadline_ms,"
                                 " :updated_at_ms, :last_error, :ingress, :merchant, :notify_url,"
                                 " :wrong_carrier_at)"
                                 " ON CONFLICT (merchant, client_ref) DO NOTHING",
              soci::use(row.id), soci::use(row.client_ref), soci::use(row.phone),
              soci::use(row.carrier), soci::use(row.amount_fen), soci::use(row.provider),
              soci::use(row.status), soci::use(row.attempts), soci::use(row.accepted_at_ms),
              soci::use(row.deadline_ms), soci::use(row.updated_at_ms),
              soci::use(row.last_error), soci::use(row.ingress), soci::use(row.merchant),
              soci::use(row.notify_url), soci::use(row.wrong_carrier_at))) {}
};

order_reader::order_reader(const store_config& cfg, const std::string& application_name)
  : session_(open_session(cfg, application_name)), default_merchant_(cfg.default_merchant) {}

order_reader::~order_reader() = default;

order_store::order_store(const store_config& cfg)
  : order_reader(cfg, "topup-store-writer"), merchants_(cfg.merchants),
    callbacks_(any_callback_destinations(cfg.merchants)) {
  with_store_errors("migrating the schema", [&] {
    migrate(session(), current_schema_version, cfg.default_merchant);
  });
  statements_ = with_store_errors("preparing statements",
                        [&] { return std::make_unique<statements>(session(), cfg.backend); });
  if (cfg.backend == store_config::backend_kind::postgresql)
    batch_writer_ = std::make_unique<postgresql_batch_writer>(session());
}

order_store::~order_store() = default;

void order_store::begin() {
  with_store_errors("starting a transaction", [&] { session().begin(); });
}

void order_store::commit() {
  with_store_errors("committing", [&] { session().commit(); });
}

void order_store::rollback() noexcept {
  try {
    session().rollback();
  } catch (...) {
    // The connection is dropped by the caller after a failure; nothing more to undo here.
  }
}

std::vector<insert_outcome> order_store::insert(const std::vector<order>& orders) {
  std::vector<insert_outcome> outcomes;
  in_transaction([&] { outcomes = insert_rows(orders); });
  return outcomes;
}

std::vector<bool> order_store::apply(const std::vector<transition>& changes) {
  std::vector<bool> applied;
  in_transaction([&] { applied = apply_rows(changes); });
  return applied;
}

std::vector<bool> order_store::apply_rows(const std::vector<transition>& changes) {
  auto applied = apply_changes(changes);
  if (callbacks_)
    record_callbacks(changes, applied);
  return applied;
}

void order_store::record_callbacks(const std::vector<transition>& changes,
                                   const std::vector<bool>& applied) {
  with_store_errors("recording result callbacks", [&] {
    for (size_t i = 0; i < changes.size(); ++i) {
      const auto& change = changes[i];
      if (!applied[i])
        continue;
      auto to = next_status(change.from, change.event);
      if (!to || !notifies_merchant(change.from, *to))
        continue;
      // The row as this transaction leaves it. On PostgreSQL a later change of the same batch
      // may already have moved it on (unknown, then succeeded): that change notifies.
      auto o = find_by_id(change.order_id);
      if (!o || o->status != *to)
        continue;
      auto url = callback_destination(merchants_, *o);
      if (url.empty())
        continue;
      callback_delivery delivery;
      delivery.delivery_id = callback_delivery_id(o->id, o->status);
      delivery.order_id = o->id;
      delivery.merchant = o->merchant;
      delivery.url = std::move(url);
      delivery.body = callback_body(*o, change.provider_txn);
      // An unknown outcome is news for the merchant only if it lasts until the deadline.
      delivery.due_at_ms = o->status == order_status::unknown
                             ? std::max(o->deadline_ms, change.at_ms)
                             : change.at_ms;
      delivery.next_attempt_at_ms = delivery.due_at_ms;
      if (is_final(o->status) && change.from == order_status::unknown)
        drop_pending_callback(session(), callback_delivery_id(o->id, order_status::unknown));
      insert_callback(session(), delivery);
    }
  });
}

std::vector<bool> order_store::apply_changes(const std::vector<transition>& changes) {
  return with_store_errors("applying state changes", [&] {
    if (batch_writer_)
      return batch_writer_->apply(changes);
    std::vector<bool> applied;
    applied.reserve(changes.size());
    auto& st = *statements_;
    for (const auto& change : changes) {
      auto to = next_status(change.from, change.event);
      if (!to) {
        applied.push_back(false);
        continue;
      }
      st.id = change.order_id;
      st.from = std::string{to_string(change.from)};
      st.to = std::string{to_string(*to)};
      st.event = std::string{to_string(change.event)};
      st.provider = change.provider;
      st.request_id = change.request_id;
      st.provider_txn = change.provider_txn;
      st.detail = change.detail;
      st.at_ms = change.at_ms;
      st.attempt_no = change.attempt_no;
      st.attempts_before = attempts_before(change);
      st.entry = encode_history_entry(history_entry_of(change));
      st.wrong_carrier_addition = wrong_carrier_addition(change);
      if (is_note(change.event)) {
        st.add_note.execute(true);
        applied.push_back(st.add_note.get_affected_rows() == 1);
        continue;
      }
      bool fenced = change.event == order_event::dispatch && !change.lease_owner.empty();
      auto& update = fenced ? st.update_order_fenced : st.update_order;
      // The lease is also what the attempt row records: '' and 0 from a single node. An
      // attempt's row is written ahead of its call and never again: the history entry this
      // update appends is its outcome (attempt_end).
      st.fence = {change.provider, change.lease_owner, change.lease_epoch};
      update.execute(true);
      if (update.get_affected_rows() != 1) {
        applied.push_back(false);
        continue;
      }
      if (change.event == order_event::dispatch)
        st.start_attempt.execute(true);
      applied.push_back(true);
    }
    return applied;
  });
}

std::vector<insert_outcome> order_store::insert_rows(const std::vector<order>& orders) {
  return with_store_errors("inserting orders", [&] {
    std::vector<insert_outcome> outcomes;
    outcomes.reserve(orders.size());
    std::vector<bool> inserted;
    if (batch_writer_)
      inserted = batch_writer_->insert(orders);
    for (size_t i = 0; i < orders.size(); ++i) {
      const auto& o = orders[i];
      bool fresh = false;
      if (batch_writer_) {
        fresh = inserted[i];
      } else {
        statements_->row.assign(o);
        statements_->insert.execute(true);
        fresh = statements_->insert.get_affected_rows() == 1;
      }
      if (fresh) {
        outcomes.push_back({true, o});
        continue;
      }
      auto existing = find_by_ref(o.merchant, o.client_ref);
      if (!existing)
        throw store_error("client reference conflict but no stored row for order " + o.id);
      outcomes.push_back({false, std::move(*existing)});
    }
    return outcomes;
  });
}

std::optional<order> order_reader::find_one(const std::string& where_column,
                                            const std::string& value) {
  return with_store_errors("reading an order", [&]() -> std::optional<order> {
    soci::row row;
    session() << "SELECT " << order_columns << " FROM orders WHERE " << where_column
              << " = :value",
      soci::use(value), soci::into(row);
    if (!session().got_data())
      return std::nullopt;
    return order_from(row);
  });
}

std::optional<order> order_reader::find_by_id(const std::string& id) {
  return find_one("id", id);
}

std::optional<order_history> order_reader::find_history(const std::string& id) {
  return with_store_errors("reading an order's history", [&]() -> std::optional<order_history> {
    soci::row row;
    session() << "SELECT " << order_columns << ", history FROM orders WHERE id = :id",
      soci::use(id), soci::into(row);
    if (!session().got_data())
      return std::nullopt;
    order_history found;
    found.snapshot = order_from(row);
    found.entries = decode_history(found.snapshot, row.get<std::string>(after_order_columns));
    return found;
  });
}

std::optional<order> order_reader::find_by_ref(const std::string& merchant,
                                               const std::string& client_ref) {
  const auto& owner = merchant.empty() ? default_merchant_ : merchant;
  return with_store_errors("reading an order", [&]() -> std::optional<order> {
    soci::row row;
    session() << "SELECT " << order_columns
              << " FROM orders WHERE merchant = :merchant AND client_ref = :ref",
      soci::use(owner), soci::use(client_ref), soci::into(row);
    if (!session().got_data())
      return std::nullopt;
    return order_from(row);
  });
}

std::vector<order> order_reader::load_unfinished() {
  return with_store_errors("loading unfinished orders", [&] {
    std::vector<order> orders;
    soci::rowset<soci::row> rows =
      (session().prepare << "SELECT " << order_columns
                         << " FROM orders WHERE " << unfinished_status_sql
                         << " ORDER BY deadline_ms");
    for (const auto& row : rows)
      orders.push_back(order_from(row));
    return orders;
  });
}

std::vector<order> order_reader::load_unfinished_of(const std::vector<std::string>& ids) {
  std::vector<order> orders;
  if (session().get_backend_name() != "postgresql") {
    // In process, a lookup per id costs no more than a list would.
    for (const auto& id : ids)
      if (auto found = find_by_id(id); found && !is_final(found->status))
        orders.push_back(std::move(*found));
    return orders;
  }
  return with_store_errors("loading unfinished orders", [&] {
    // One statement for the whole list: a round trip per id would hold a reader for long.
    auto id_array = postgresql_text_array(ids);
    soci::rowset<soci::row> rows =
      (session().prepare << "SELECT " << order_columns
                         << " FROM orders WHERE id = ANY(CAST(:ids AS text[])) AND "
                         << unfinished_status_sql,
       soci::use(id_array, "ids"));
    for (const auto& row : rows)
      orders.push_back(order_from(row));
    return orders;
  });
}

std::vector<order> order_reader::load_unfinished_page(int64_t after_deadline_ms,
                                                      const std::string& after_id,
                                                      uint32_t limit) {
  return with_store_errors("loading unfinished orders", [&] {
    std::vector<order> orders;
    long long deadline = after_deadline_ms;
    int rows_wanted = static_cast<int>(std::max<uint32_t>(limit, 1));
    soci::rowset<soci::row> rows =
      (session().prepare << "SELECT " << order_columns
                         << " FROM orders WHERE " << unfinished_status_sql
                         << " AND (deadline_ms > :deadline"
                            " OR (deadline_ms = :deadline AND id > :id))"
                            " ORDER BY deadline_ms, id LIMIT :limit",
       soci::use(deadline, "deadline"), soci::use(after_id, "id"),
       soci::use(rows_wanted, "limit"));
    for (const auto& row : rows)
      orders.push_back(order_from(row));
    return orders;
  });
}

std::string order_reader::list_statement(const order_filter& filter) {
  // Every other condition is always present and disabled by an empty value, so the text
  // depends only on the direction and the number of merchants (no SQL assembled from input).
  std::string by_ref = "(:client_ref = '' OR client_ref = :client_ref)";
  if (!filter.client_ref.empty() && !filter.merchants.empty()) {
    by_ref = "merchant IN (";
    for (size_t i = 0; i < filter.merchants.size(); ++i)
      by_ref += (i == 0 ? ":merchant" : ", :merchant") + std::to_string(i);
    by_ref += ") AND client_ref = :client_ref";
  }
  return std::string{"SELECT "} + order_columns
         + " FROM orders WHERE (:status = '' OR status = :status)"
           " AND (:carrier = '' OR carrier = :carrier)"
           " AND (:provider = '' OR provider = :provider)"
           " AND " + by_ref
         + " AND (:phone = '' OR phone = :phone)"
           " AND accepted_at_ms >= :since AND accepted_at_ms < :until"
         + (filter.oldest_first ? " ORDER BY accepted_at_ms, id LIMIT :limit"
                                : " ORDER BY accepted_at_ms DESC, id DESC LIMIT :limit");
}

std::vector<order> order_reader::list(const order_filter& filter) {
  return with_store_errors("listing orders", [&] {
    std::string status = filter.status, carrier = filter.carrier, provider = filter.provider,
                client_ref = filter.client_ref, phone = filter.phone;
    auto merchants = client_ref.empty() ? std::vector<std::string>{} : filter.merchants;
    long long since = filter.since_ms;
    long long until = filter.until_ms > 0 ? filter.until_ms : std::numeric_limits<int64_t>::max();
    int limit = static_cast<int>(std::min<uint32_t>(std::max<uint32_t>(filter.limit, 1), 10000));
    auto query = (session().prepare << list_statement(filter));
    query, soci::use(status, "status"), soci::use(carrier, "carrier"),
      soci::use(provider, "provider"), soci::use(client_ref, "client_ref"),
      soci::use(phone, "phone"), soci::use(since, "since"), soci::use(until, "until"),
      soci::use(limit, "limit");
    for (size_t i = 0; i < merchants.size(); ++i)
      query, soci::use(merchants[i], "merchant" + std::to_string(i));
    std::vector<order> orders;
    soci::rowset<soci::row> rows(query);
    for (const auto& row : rows)
      orders.push_back(order_from(row));
    return orders;
  });
}

std::vector<order> order_reader::final_page(const final_orders_page& page) {
  return with_store_errors("loading final orders of an ingress", [&] {
    std::vector<order> orders;
    long long after = page.after_ms, until = page.until_ms;
    int rows_wanted = static_cast<int>(std::min<uint32_t>(std::max<uint32_t>(page.limit, 1), 10000));
    // "ingress <> ''" repeats the index's condition, so that both databases use it.
    soci::rowset<soci::row> rows =
      (session().prepare << "SELECT " << order_columns
                         << " FROM orders WHERE ingress <> '' AND ingress = :ingress"
                            " AND status IN ('succeeded', 'failed')"
                            " AND (updated_at_ms > :after OR (updated_at_ms = :after AND id > :id))"
                            " AND updated_at_ms <= :until"
                            " ORDER BY updated_at_ms, id LIMIT :limit",
       soci::use(page.ingress, "ingress"), soci::use(after, "after"),
       soci::use(page.after_id, "id"), soci::use(until, "until"),
       soci::use(rows_wanted, "limit"));
    for (const auto& row : rows)
      orders.push_back(order_from(row));
    return orders;
  });
}

std::optional<int64_t> order_reader::result_cursor(const std::string& writer) {
  return with_store_errors("reading a result cursor", [&]() -> std::optional<int64_t> {
    long long resume_at = 0;
    session() << "SELECT resume_at_ms FROM result_cursors WHERE writer = :writer",
      soci::use(writer), soci::into(resume_at);
    if (!session().got_data())
      return std::nullopt;
    return resume_at;
  });
}

void order_store::save_result_cursor(const std::string& writer, int64_t resume_at_ms) {
  with_store_errors("recording a result cursor", [&] {
    long long resume_at = resume_at_ms;
    session() << "INSERT INTO result_cursors (writer, resume_at_ms) VALUES (:writer, :at)"
                 " ON CONFLICT (writer) DO UPDATE SET resume_at_ms = excluded.resume_at_ms",
      soci::use(writer, "writer"), soci::use(resume_at, "at");
  });
}

std::vector<status_count> order_reader::count_by_status() {
  return with_store_errors("counting orders by status", [&] {
    std::vector<status_count> counts;
    soci::rowset<soci::row> rows =
      (session().prepare << "SELECT status, COUNT(*) FROM orders GROUP BY status ORDER BY status");
    for (const auto& row : rows)
      counts.push_back({row.get<std::string>(0), static_cast<uint64_t>(integer_at(row, 1))});
    return counts;
  });
}

std::vector<callback_record> order_reader::callbacks_of(const std::string& order_id) {
  std::vector<callback_record> records;
  for (const auto& row : callbacks_of_order(session(), order_id))
    records.push_back(record_of(row));
  return records;
}

std::vector<attempt_record> order_reader::attempts(const attempt_query& query) {
  return with_store_errors("reading attempts", [&] {
    std::string provider = query.provider, after_id = query.after_order_id;
    long long from = query.from_ms, to = query.to_ms, after = query.after_started_ms;
    int after_no = query.after_attempt_no;
    int limit = static_cast<int>(std::min<uint32_t>(std::max<uint32_t>(query.limit, 1), 10000));
    std::vector<attempt_record> page;
    // Keyset paging on (started_at_ms, order_id, attempt_no), served by the index
    // attempts_by_provider_start: each page costs the same however deep into the period.
    // An attempt's outcome is the history entry that ended it (attempt_end).
    soci::rowset<soci::row> rows =
      (session().prepare
         << "SELECT a.order_id, a.attempt_no, a.provider, a.request_id, a.started_at_ms,"
            " o.status, o.amount_fen, o.phone, o.accepted_at_ms, o.history"
            " FROM attempts a JOIN orders o ON o.id = a.order_id"
            " WHERE a.provider = :provider AND a.started_at_ms >= :from_ms"
            " AND a.started_at_ms < :to_ms"
            " AND (a.started_at_ms > :after OR (a.started_at_ms = :after"
            " AND (a.order_id > :after_id OR (a.order_id = :after_id"
            " AND a.attempt_no > :after_no))))"
            " ORDER BY a.started_at_ms, a.order_id, a.attempt_no LIMIT :limit",
       soci::use(provider, "provider"), soci::use(from, "from_ms"), soci::use(to, "to_ms"),
       soci::use(after, "after"), soci::use(after_id, "after_id"),
       soci::use(after_no, "after_no"), soci::use(limit, "limit"));
    for (const auto& row : rows) {
      attempt_record a;
      a.order_id = row.get<std::string>(0);
      a.attempt_no = row.get<int>(1);
      a.provider = row.get<std::string>(2);
      a.request_id = row.get<std::string>(3);
      a.started_at_ms = row.get<long long>(4);
      auto status = order_status_from_string(row.get<std::string>(5));
      if (!status)
        throw store_error("order " + a.order_id + " has an unknown status in the database");
      a.status = *status;
      a.amount_fen = row.get<long long>(6);
      a.phone = row.get<std::string>(7);
      order accepted;
      accepted.accepted_at_ms = row.get<long long>(8);
      auto history = decode_history(accepted, row.get<std::string>(9));
      if (const auto* end = attempt_end(history, a.attempt_no)) {
        a.finished_at_ms = end->at_ms;
        a.outcome = end->event;
        a.provider_txn = end->provider_txn;
      }
      page.push_back(std::move(a));
    }
    return page;
  });
}

uint64_t order_reader::count_orders() {
  return with_store_errors("counting orders", [&] {
    long long count = 0;
    session() << "SELECT COUNT(*) FROM orders", soci::into(count);
    return static_cast<uint64_t>(count);
  });
}

} // namespace topup
