#include "persistence/schema.hpp"

#include "persistence/history_migration.hpp"
#include "persistence/sql_backend.hpp"

#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

namespace topup {
namespace {

/// One step of the schema: its statements, then (optionally) data the statements cannot
/// move, rewritten in C++, then more statements; all in the step's transaction. A step of
/// statements alone is written as their list.
struct migration_step {
  migration_step(std::initializer_list<std::string> only) : statements(only) {}
  migration_step(std::vector<std::string> before, void (*data)(soci::session&),
                 std::vector<std::string> after)
    : statements(std::move(before)), rewrite(data), statements_after(std::move(after)) {}
  /// A step written in C++ alone, told the merchant that orders of earlier versions belong to.
  explicit migration_step(void (*code)(soci::session&, const std::string& default_merchant))
    : rewrite_for_merchant(code) {}

  std::vector<std::string> statements;
  void (*rewrite)(soci::session&) = nullptr;
  void (*rewrite_for_merchant)(soci::session&, const std::string&) = nullptr;
  std::vector<std::string> statements_after;
};

/// Step 8: orders belong to a merchant, and the idempotency key becomes (merchant,
/// client_ref). Every order stored before belongs to the default merchant. PostgreSQL swaps
/// the unique constraint; SQLite cannot drop one, so the table is rebuilt the way SQLite
/// documents ("Making Other Kinds Of Table Schema Changes"; migrate() turns foreign keys off
/// around it, so the attempts keep pointing at "orders").
void add_merchants(soci::session& session, const std::string& default_merchant) {
  std::string merchant = default_merchant;
  if (session.get_backend_name() == "postgresql") {
    session << "ALTER TABLE orders ADD COLUMN merchant TEXT NOT NULL DEFAULT ''";
    session << "ALTER TABLE orders ADD COLUMN notify_url TEXT NOT NULL DEFAULT ''";
    session << "UPDATE orders SET merchant = :merchant", soci::use(merchant);
    session << "ALTER TABLE orders DROP CONSTRAINT orders_client_ref_key";
    session << "ALTER TABLE orders ADD CONSTRAINT orders_merchant_client_ref_key"
               " UNIQUE (merchant, client_ref)";
    return;
  }
  session << "CREATE TABLE orders_v8 ("
             " id TEXT PRIMARY KEY,"
             " client_ref TEXT NOT NULL,"
             " phone TEXT NOT NULL,"
             " carrier TEXT NOT NULL,"
             " amount_fen BIGINT NOT NULL,"
             " provider TEXT NOT NULL DEFAULT '',"
             " status TEXT NOT NULL,"
             " attempts INTEGER NOT NULL DEFAULT 0,"
             " accepted_at_ms BIGINT NOT NULL,"
             " deadline_ms BIGINT NOT NULL,"
             " updated_at_ms BIGINT NOT NULL,"
             " last_error TEXT NOT NULL DEFAULT '',"
             " history TEXT NOT NULL DEFAULT '',"
             " ingress TEXT NOT NULL DEFAULT '',"
             " merchant TEXT NOT NULL DEFAULT '',"
             " notify_url TEXT NOT NULL DEFAULT '',"
             " UNIQUE (merchant, client_ref))";
  const std::string kept =
    "id, client_ref, phone, carrier, amount_fen, provider, status, attempts, accepted_at_ms,"
    " deadline_ms, updated_at_ms, last_error, history, ingress";
  session << "INSERT INTO orders_v8 (" + kept + ", merchant) SELECT " + kept
               + ", :merchant FROM orders",
    soci::use(merchant);
  session << "DROP TABLE orders";
  session << "ALTER TABLE orders_v8 RENAME TO orders";
  session << "CREATE INDEX orders_by_status_deadline ON orders (status, deadline_ms)";
  session << "CREATE INDEX orders_of_ingress_by_update ON orders (ingress, updated_at_ms, id)"
             " WHERE ingress <> ''";
}

/// Step 13: an attempt's row is written ahead of its call and never again: its outcome is the
/// entry that ended it in the order's history (attempt_end), written by the state change
/// that records it. The columns of the outcome go; on SQLite the rows are kept in their key's
/// b-tree alone (WITHOUT ROWID), one b-tree write fewer per call. SQLite cannot drop columns
/// (before 3.35) nor change a table's storage, so the table is rebuilt (see add_merchants).
void narrow_attempts(soci::session& session, const std::string&) {
  if (session.get_backend_name() == "postgresql") {
    session << "ALTER TABLE attempts DROP COLUMN finished_at_ms, DROP COLUMN outcome,"
               " DROP COLUMN provider_txn, DROP COLUMN error";
    return;
  }
  session << "CREATE TABLE attempts_v12 ("
             " order_id TEXT NOT NULL REFERENCES orders(id),"
             " attempt_no INTEGER NOT NULL,"
             " provider TEXT NOT NULL,"
             " request_id TEXT NOT NULL,"
             " started_at_ms BIGINT NOT NULL,"
             " node TEXT NOT NULL DEFAULT '',"
             " epoch BIGINT NOT NULL DEFAULT 0,"
             " PRIMARY KEY (order_id, attempt_no)) WITHOUT ROWID";
  session << "INSERT INTO attempts_v12 SELECT order_id, attempt_no, provider, request_id,"
             " started_at_ms, node, epoch FROM attempts";
  session << "DROP TABLE attempts";
  session << "ALTER TABLE attempts_v12 RENAME TO attempts";
  session << "CREATE INDEX attempts_by_provider_start ON attempts (provider, started_at_ms)";
}

/// Step 15: on PostgreSQL the attempts lose their foreign key. The store inserts an attempt's
/// row only in the transaction whose update of its order applied, and nothing deletes an
/// order there (topup-cli archive is SQLite's), so the key never caught anything; its check,
/// a lookup that locks the order's row, was half of each attempt INSERT on the connection
/// that bounds a node's completions (bench/README.md, "Attempt rows without a foreign key
/// (PostgreSQL)"). On SQLite the check reads pages the update has just read, and dropping
/// the key would rebuild the table: it stays.
void unchecked_attempts(soci::session& session, const std::string&) {
  if (session.get_backend_name() == "postgresql")
    session << "ALTER TABLE attempts DROP CONSTRAINT IF EXISTS attempts_order_id_fkey";
}

// Plain SQL that SQLite and PostgreSQL both accept (BIGINT is an integer on both).
// Never edit a released step: add a new one.
const std::vector<migration_step> migrations{
  // 1: orders, keyed by id, the client reference unique (the idempotency key).
  {
    "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)",
    "CREATE TABLE orders ("
    " id TEXT PRIMARY KEY,"
    " client_ref TEXT NOT NULL UNIQUE,"
    " phone TEXT NOT NULL,"
    " carrier TEXT NOT NULL,"
    " amount_fen BIGINT NOT NULL,"
    " provider TEXT NOT NULL DEFAULT '',"
    " status TEXT NOT NULL,"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " accepted_at_ms BIGINT NOT NULL,"
    " deadline_ms BIGINT NOT NULL,"
    " updated_at_ms BIGINT NOT NULL,"
    " last_error TEXT NOT NULL DEFAULT '')",
  },
  // 2: one row per provider call (written ahead of the call), one row per state change,
  //    and an index for the start-up read of unfinished orders.
  {
    "CREATE TABLE attempts ("
    " order_id TEXT NOT NULL REFERENCES orders(id),"
    " attempt_no INTEGER NOT NULL,"
    " provider TEXT NOT NULL,"
    " request_id TEXT NOT NULL,"
    " started_at_ms BIGINT NOT NULL,"
    " finished_at_ms BIGINT,"
    " outcome TEXT,"
    " provider_txn TEXT,"
    " error TEXT,"
    " PRIMARY KEY (order_id, attempt_no))",
    "CREATE TABLE order_events ("
    " order_id TEXT NOT NULL REFERENCES orders(id),"
    " at_ms BIGINT NOT NULL,"
    " from_status TEXT NOT NULL,"
    " to_status TEXT NOT NULL,"
    " event TEXT NOT NULL,"
    " detail TEXT NOT NULL DEFAULT '')",
    "CREATE INDEX order_events_by_order ON order_events (order_id)",
    "CREATE INDEX orders_by_status_deadline ON orders (status, deadline_ms)",
  },
  // 3: the cluster. Nodes heartbeat their row; each provider's lease names the node running
  //    its recharge actor and an epoch that only grows (rows are never deleted, so an epoch
  //    is never handed out twice).
  {
    "CREATE TABLE cluster_members ("
    " node TEXT PRIMARY KEY,"
    " address TEXT NOT NULL,"
    " incarnation BIGINT NOT NULL,"
    " heartbeat_at_ms BIGINT NOT NULL)",
    "CREATE TABLE provider_leases ("
    " provider TEXT PRIMARY KEY,"
    " owner TEXT NOT NULL,"
    " epoch BIGINT NOT NULL,"
    " expires_at_ms BIGINT NOT NULL)",
  },
  // 4: the order history in the order row, appended by the statement that changes the
  //    state (domain/order_history). order_events, which step 2 meant as one row per state
  //    change but which only ever held expiries and cancels of orders never attempted, goes:
  //    its rows and the attempt rows become the histories of the orders already stored
  //    (history_migration).
  {{
     "ALTER TABLE orders ADD COLUMN history TEXT NOT NULL DEFAULT ''",
   },
   rebuild_history_from_step_3_tables,
   {
     "DROP TABLE order_events",
   }},
  // 5: who wrote each attempt ahead: the node and the epoch of its lease on the provider
  //    ('' and 0 from a single node, and for attempts written before this step).
  {
    "ALTER TABLE attempts ADD COLUMN node TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE attempts ADD COLUMN epoch BIGINT NOT NULL DEFAULT 0",
  },
  // 6: reconciliation reads one provider's attempts of a period, page by page.
  {
    "CREATE INDEX attempts_by_provider_start ON attempts (provider, started_at_ms)",
  },
  // 7: the queue ingresses. Each order records the ingress it came in by ('' for the remote
  //    protocol, and for every order stored before this step); each result writer records
  //    where it resumes after a restart. The index holds only orders from an ingress, so the
  //    orders of the remote protocol cost nothing more to write.
  {
    "ALTER TABLE orders ADD COLUMN ingress TEXT NOT NULL DEFAULT ''",
    "CREATE INDEX orders_of_ingress_by_update ON orders (ingress, updated_at_ms, id)"
    " WHERE ingress <> ''",
    "CREATE TABLE result_cursors ("
    " writer TEXT PRIMARY KEY,"
    " resume_at_ms BIGINT NOT NULL)",
  },
  // 8: merchants. Each order records its merchant and its own callback URL (''); the
  //    client reference is unique per merchant (add_merchants).
  migration_step{add_merchants},
  // 9: the outbox of result callbacks (persistence/callback_outbox): one row per notification
  //    of a merchant, written in the commit of the state change it reports, delivered and
  //    retried by the callback sender, which claims a row for the time of a call (claimed_by,
  //    next_attempt_at_ms) so that no other node's sender makes the same call meanwhile. The
  //    index holds only the pending ones, by merchant and time, which is how senders read them.
  {
    "CREATE TABLE callbacks ("
    " delivery_id TEXT PRIMARY KEY,"
    " order_id TEXT NOT NULL,"
    " merchant TEXT NOT NULL,"
    " url TEXT NOT NULL,"
    " body TEXT NOT NULL,"
    " state TEXT NOT NULL,"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " due_at_ms BIGINT NOT NULL,"
    " next_attempt_at_ms BIGINT NOT NULL,"
    " last_http_status INTEGER NOT NULL DEFAULT 0,"
    " last_error TEXT NOT NULL DEFAULT '',"
    " updated_at_ms BIGINT NOT NULL,"
    " claimed_by TEXT NOT NULL DEFAULT '')",
    "CREATE INDEX callbacks_pending_by_merchant ON callbacks (merchant, next_attempt_at_ms)"
    " WHERE state = 'pending'",
  },
  // 10: the providers that answered "wrong carrier" for an order (a ported number), one name
  //     per line (encode_provider_list), appended by the statement of that answer's state
  //     change, so that no restart sends the order back to them. '' for every order stored
  //     before this step.
  {
    "ALTER TABLE orders ADD COLUMN wrong_carrier_at TEXT NOT NULL DEFAULT ''",
  },
  // 11: the outbox's finished notifications (delivered, abandoned) by the time of their last
  //     attempt, which is how the callback sender finds the old ones it prunes; pending ones
  //     are not in it.
  {
    "CREATE INDEX callbacks_finished_by_update ON callbacks (updated_at_ms)"
    " WHERE state <> 'pending'",
  },
  // 12: how the store is laid out, written once when it is created (persistence/store_layout):
  //     "shards", the number of shards its orders are split over.
  {
    "CREATE TABLE store_layout (setting TEXT PRIMARY KEY, value BIGINT NOT NULL)",
  },
  // 13: an attempt's row holds its call alone, its outcome is in the history (narrow_attempts).
  migration_step{narrow_attempts},
  // 14: an order's notifications by its id: the reads of one order's notifications (the
  //     console, topup-cli deliveries) and topup-cli archive, which keeps an order while one
  //     is pending and moves the finished ones with it, read them without a scan of the
  //     outbox.
  {
    "CREATE INDEX callbacks_by_order ON callbacks (order_id)",
  },
  // 15: on PostgreSQL an attempt's row no longer references its order (unchecked_attempts).
  migration_step{unchecked_attempts},
};

/// One migration step's transaction, holding the database's migration lock until it ends:
/// nodes starting together on an empty database take turns instead of racing to create the
/// same tables (and failing until a retry finds them). PostgreSQL: a transaction-level
/// advisory lock, released by the commit or rollback. SQLite: BEGIN IMMEDIATE takes the
/// database's write lock before the version is read, so no other connection can apply a
/// step between that read and this step's writes.
class migration_transaction {
public:
  explicit migration_transaction(soci::session& session) : session_(session) {
    if (session.get_backend_name() == "postgresql") {
      session.begin();
      open_ = true;
      long long key = migration_lock_key;
      session << "SELECT pg_advisory_xact_lock(:key)", soci::use(key);
    } else {
      session << "BEGIN IMMEDIATE";
      open_ = true;
    }
  }

  ~migration_transaction() {
    if (!open_)
      return;
    try {
      session_.rollback();
    } catch (...) {
      // The caller drops a session whose migration failed; nothing more to undo here.
    }
  }

  migration_transaction(const migration_transaction&) = delete;
  migration_transaction& operator=(const migration_transaction&) = delete;

  void commit() {
    open_ = false;
    session_.commit();
  }

private:
  soci::session& session_;
  bool open_ = false;
};

/// SQLite: foreign keys off while migrating, as a table rebuild needs (the pragma is a no-op
/// inside a transaction, so it is set around the steps), then as they were.
class foreign_keys_off {
public:
  explicit foreign_keys_off(soci::session& session) : session_(session) {
    if (session.get_backend_name() != "sqlite3")
      return;
    session << "PRAGMA foreign_keys", soci::into(was_on_);
    if (was_on_)
      session << "PRAGMA foreign_keys=OFF";
  }
  ~foreign_keys_off() {
    if (!was_on_)
      return;
    try {
      session_ << "PRAGMA foreign_keys=ON";
    } catch (...) {
      // A session whose migration failed is dropped by the caller.
    }
  }
  foreign_keys_off(const foreign_keys_off&) = delete;
  foreign_keys_off& operator=(const foreign_keys_off&) = delete;

private:
  soci::session& session_;
  int was_on_ = 0;
};

int recorded_version(soci::session& session) {
  int version = 0;
  soci::indicator indicator = soci::i_null;
  session << "SELECT MAX(version) FROM schema_version", soci::into(version, indicator);
  return indicator == soci::i_ok ? version : 0;
}

/// The recorded version read outside any transaction and lock; 0 when it cannot be read (no
/// version table yet), so that the caller takes the locked path, which creates it.
int schema_version_unlocked(soci::session& session) {
  try {
    return recorded_version(session);
  } catch (const soci::soci_error&) {
    return 0;
  }
}

} // namespace

int schema_version(soci::session& session) {
  session << "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)";
  return recorded_version(session);
}

void migrate(soci::session& session, int target, const std::string& default_merchant) {
  // A step added without raising current_schema_version would never be applied.
  if (migrations.size() != static_cast<size_t>(current_schema_version))
    throw store_error("this build's schema has " + std::to_string(migrations.size())
                      + " steps but says it writes version "
                      + std::to_string(current_schema_version));
  // Every session of every node opens again at once after a database restart, and the
  // schema is current for all of them: they need not queue for the migration lock, whose
  // wait a cluster node bounds (lock_timeout) so tightly that some would fail one retry
  // after another and miss their heartbeats. Versions only grow, so one read settles it.
  auto recorded = schema_version_unlocked(session);
  if (recorded >= target && recorded <= static_cast<int>(migrations.size()))
    return;
  foreign_keys_off unchecked{session};
  // The version is read again under the lock before each step: another node may have
  // applied it while this one waited.
  for (;;) {
    migration_transaction transaction{session};
    int version = schema_version(session);
    if (version > static_cast<int>(migrations.size()))
      throw store_error("the database has schema version " + std::to_string(version)
                        + ", newer than this build understands ("
                        + std::to_string(migrations.size()) + ")");
    if (version >= target) {
      transaction.commit();
      return;
    }
    int step = version + 1;
    const auto& migration = migrations[static_cast<size_t>(step - 1)];
    for (const auto& statement : migration.statements)
      session << statement;
    if (migration.rewrite)
      migration.rewrite(session);
    if (migration.rewrite_for_merchant)
      migration.rewrite_for_merchant(session, default_merchant);
    for (const auto& statement : migration.statements_after)
      session << statement;
    session << "INSERT INTO schema_version (version) VALUES (:v)", soci::use(step);
    transaction.commit();
  }
}

} // namespace topup
