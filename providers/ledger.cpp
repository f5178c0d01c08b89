#include "providers/ledger.hpp"

#include "persistence/sql_backend.hpp"

#include <soci/soci.h>
#include <soci/sqlite3/soci-sqlite3.h>

#include <algorithm>
#include <filesystem>

namespace topup {
namespace {

/// Rows fetched per round trip when reading counts.
constexpr size_t fetch_chunk = 1000;

/// Runs a database operation, turning SOCI's exceptions into log-safe ledger_errors.
template <class F>
auto guarded(const std::string& what, F&& operation) -> decltype(operation()) {
  try {
    return operation();
  } catch (const ledger_error&) {
    throw;
  } catch (const std::exception& error) {
    throw ledger_error("ledger " + what + ": " + describe_database_error(error));
  }
}

std::unique_ptr<soci::session> open_sqlite(const std::string& path, int busy_timeout_s) {
  auto session = open_sqlite_wal(path.empty() ? ":memory:" : path, "normal", busy_timeout_s);
  // No unique constraint, on purpose: see the class comment.
  *session << "CREATE TABLE IF NOT EXISTS recharges ("
              " request_id TEXT NOT NULL, order_id TEXT NOT NULL, provider TEXT NOT NULL,"
              " provider_txn TEXT NOT NULL, at_ms BIGINT NOT NULL,"
              " amount_fen BIGINT NOT NULL DEFAULT 0, phone TEXT NOT NULL DEFAULT '',"
              " node TEXT NOT NULL DEFAULT '', epoch BIGINT NOT NULL DEFAULT 0)";
  // Files written before statements existed lack the amount and the number: their rows keep
  // 0 and '' (a reconciliation then does not compare what it cannot know). Files written
  // before callers were named lack the node and its lease's epoch: '' and 0.
  for (const auto& [column, definition] :
       {std::pair{"amount_fen", "BIGINT NOT NULL DEFAULT 0"},
        std::pair{"phone", "TEXT NOT NULL DEFAULT ''"}, std::pair{"node", "TEXT NOT NULL DEFAULT ''"},
        std::pair{"epoch", "BIGINT NOT NULL DEFAULT 0"}}) {
    int present = 0;
    std::string name = column;
    *session << "SELECT COUNT(*) FROM pragma_table_info('recharges') WHERE name = :name",
      soci::use(name), soci::into(present);
    if (present == 0)
      *session << "ALTER TABLE recharges ADD COLUMN " << column << " " << definition;
  }
  // Status queries look rows up by request id; statements read a provider's rows by time.
  *session << "CREATE INDEX IF NOT EXISTS recharges_by_request ON recharges (request_id)";
  *session << "CREATE INDEX IF NOT EXISTS recharges_by_provider_time"
              " ON recharges (provider, at_ms)";
  return session;
}

} // namespace

uint64_t count_duplicates(const recharge_counts& counts) {
  uint64_t duplicates = 0;
  for (const auto& entry : counts)
    if (entry.second > 1)
      ++duplicates;
  return duplicates;
}

ledger::ledger(const std::string& path, int busy_timeout_s)
  : target_(path.empty() ? "sqlite::memory:" : "sqlite:" + path) {
  session_ = guarded("cannot open " + target_, [&] { return open_sqlite(path, busy_timeout_s); });
}

ledger::~ledger() = default;

void ledger::record(const std::vector<ledger_record>& records) {
  if (records.empty())
    return;
  std::vector<std::string> request_ids, order_ids, providers, txns, phones, nodes;
  std::vector<long long> at_ms, amounts, epochs;
  for (const auto& r : records) {
    request_ids.push_back(r.request_id);
    order_ids.push_back(r.order_id);
    providers.push_back(r.provider);
    txns.push_back(r.provider_txn);
    at_ms.push_back(r.at_ms);
    amounts.push_back(r.amount_fen);
    phones.push_back(r.phone);
    nodes.push_back(r.node);
    epochs.push_back(r.epoch);
  }
  guarded("write of " + std::to_string(records.size()) + " recharges", [&] {
    soci::transaction transaction{*session_};
    *session_ << "INSERT INTO recharges (request_id, order_id, provider, provider_txn, at_ms,"
                 " amount_fen, phone, node, epoch)"
                 " VALUES (:request_id, :order_id, :provider, :provider_txn, :at_ms,"
                 " :amount_fen, :phone, :node, :epoch)",
      soci::use(request_ids), soci::use(order_ids), soci::use(providers), soci::use(txns),
      soci::use(at_ms), soci::use(amounts), soci::use(phones), soci::use(nodes),
      soci::use(epochs);
    transaction.commit();
  });
}

std::optional<std::string> ledger::find(const std::string& request_id) {
  return guarded("lookup", [&]() -> std::optional<std::string> {
    std::string txn;
    *session_ << "SELECT provider_txn FROM recharges WHERE request_id = :request_id"
                 " ORDER BY rowid LIMIT 1",
      soci::use(request_id), soci::into(txn);
    if (!session_->got_data())
      return std::nullopt;
    return txn;
  });
}

uint64_t ledger::count() {
  return guarded("count", [&] {
    long long rows = 0;
    *session_ << "SELECT COUNT(*) FROM recharges", soci::into(rows);
    return static_cast<uint64_t>(rows);
  });
}

namespace {

const char* const record_columns_sql =
  "SELECT request_id, order_id, provider, provider_txn, at_ms, amount_fen, phone, node,"
  " epoch FROM recharges ";

/// The columns of record_columns_sql, fetched in chunks.
struct record_chunk {
  std::vector<std::string> request_ids, order_ids, providers, txns, phones, nodes;
  std::vector<long long> at_ms, amounts, epochs;

  record_chunk() { resize(); }

  void resize() {
    for (auto* column : {&request_ids, &order_ids, &providers, &txns, &phones, &nodes})
      column->resize(fetch_chunk);
    at_ms.resize(fetch_chunk);
    amounts.resize(fetch_chunk);
    epochs.resize(fetch_chunk);
  }

  /// `prepared` (record_columns_sql and its conditions) fetching into this chunk.
  template <class Prepared>
  soci::statement statement(Prepared&& prepared) {
    return (prepared, soci::into(request_ids), soci::into(order_ids), soci::into(providers),
            soci::into(txns), soci::into(at_ms), soci::into(amounts), soci::into(phones),
            soci::into(nodes), soci::into(epochs));
  }

  /// Executes `statement` and appends every row it fetches.
  void fetch_all(soci::statement& statement, std::vector<ledger_record>& rows) {
    statement.execute();
    // Bulk fetch: each fetch() refills the vectors (resized to what it got) until none is
    // left.
    while (statement.fetch()) {
      for (size_t i = 0; i < request_ids.size(); ++i)
        rows.push_back({std::move(request_ids[i]), std::move(order_ids[i]),
                        std::move(providers[i]), std::move(txns[i]), at_ms[i], amounts[i],
                        std::move(phones[i]), std::move(nodes[i]), epochs[i]});
      resize();
    }
  }
};

} // namespace

std::vector<ledger_record> ledger::records() {
  std::vector<ledger_record> rows;
  guarded("read of all recharges", [&] {
    record_chunk chunk;
    auto statement = chunk.statement(session_->prepare << record_columns_sql << "ORDER BY rowid");
    chunk.fetch_all(statement, rows);
  });
  return rows;
}

std::vector<ledger_record> ledger::records_of(const std::string& provider, int64_t from_ms,
                                              int64_t to_ms) {
  std::vector<ledger_record> rows;
  long long from = from_ms, to = to_ms;
  guarded("read of a statement", [&] {
    record_chunk chunk;
    auto statement = chunk.statement(
      (session_->prepare << record_columns_sql
                         << "WHERE provider = :provider AND at_ms >= :from AND at_ms < :to"
                            " ORDER BY at_ms, rowid",
       soci::use(provider), soci::use(from), soci::use(to)));
    chunk.fetch_all(statement, rows);
  });
  return rows;
}

uint64_t ledger::duplicates() {
  return guarded("duplicate count", [&] {
    long long orders = 0;
    *session_ << "SELECT COUNT(*) FROM (SELECT order_id FROM recharges GROUP BY order_id"
                 " HAVING COUNT(*) > 1)",
      soci::into(orders);
    return static_cast<uint64_t>(orders);
  });
}

recharge_counts ledger::recharges_per_order() {
  recharge_counts counts;
  guarded("count per order", [&] {
    std::vector<std::string> order_ids(fetch_chunk);
    std::vector<long long> rows(fetch_chunk);
    soci::statement statement =
      (session_->prepare << "SELECT order_id, COUNT(*) FROM recharges GROUP BY order_id",
       soci::into(order_ids), soci::into(rows));
    statement.execute();
    // Bulk fetch: each fetch() refills the vectors (resized to what it got) until none is left.
    while (statement.fetch()) {
      for (size_t i = 0; i < order_ids.size(); ++i)
        counts[order_ids[i]] += static_cast<uint64_t>(rows[i]);
      order_ids.resize(fetch_chunk);
      rows.resize(fetch_chunk);
    }
  });
  return counts;
}

namespace {

/// Opens the ledger file at `path`, which must exist: opening a mistyped path would create
/// an empty ledger, and read as "no recharges".
ledger open_existing(const std::string& path) {
  if (path.empty() || !std::filesystem::exists(path))
    throw ledger_error("ledger: no ledger file at '" + path + "'");
  return ledger{path};
}

} // namespace

recharge_counts ledger::recharges_per_order(const std::vector<std::string>& paths) {
  recharge_counts total;
  for (const auto& path : paths)
    for (const auto& [order_id, rows] : open_existing(path).recharges_per_order())
      total[order_id] += rows;
  return total;
}

std::vector<ledger_record> ledger::records(const std::vector<std::string>& paths) {
  std::vector<ledger_record> all;
  for (const auto& path : paths) {
    auto rows = open_existing(path).records();
    all.insert(all.end(), std::make_move_iterator(rows.begin()),
               std::make_move_iterator(rows.end()));
  }
  return all;
}

} // namespace topup
