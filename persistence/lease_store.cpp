#include "persistence/lease_store.hpp"

#include "persistence/schema.hpp"
#include "persistence/sql_backend.hpp"

namespace topup {

std::string database_now_ms_sql(store_config::backend_kind backend) {
  if (backend == store_config::backend_kind::postgresql)
    // clock_timestamp(), not now(): now() is frozen at the start of the transaction, and a
    // statement that waited for a row lock must judge expiry at the time it acts.
    return "CAST(FLOOR(EXTRACT(EPOCH FROM clock_timestamp()) * 1000) AS BIGINT)";
  // julianday('now') has millisecond resolution and is fixed for one statement.
  return "CAST(ROUND((julianday('now') - 2440587.5) * 86400000.0) AS INTEGER)";
}

std::string lease_fence_sql(store_config::backend_kind backend, const std::string& provider,
                            const std::string& owner, const std::string& epoch) {
  bool postgresql = backend == store_config::backend_kind::postgresql;
  return "EXISTS (SELECT 1 FROM provider_leases l WHERE l.provider = " + provider
         + " AND l.owner = " + owner + " AND l.epoch = " + epoch + " AND l.expires_at_ms > "
         + database_now_ms_sql(backend) + (postgresql ? postgresql_fence_lock : "") + ")";
}

std::string lease_fence_sql(store_config::backend_kind backend) {
  return lease_fence_sql(backend, ":lease_provider", ":lease_owner", ":lease_epoch");
}

/// The statements run on every heartbeat interval, prepared once.
struct lease_store::statements {
  std::string provider, node, address;
  long long epoch = 0, ttl_ms = 0, incarnation = 0;
  soci::statement heartbeat, lock_takeable, acquire, renew, release;

  statements(soci::session& session, const std::string& now, bool postgresql)
    : heartbeat((session.prepare << "INSERT INTO cluster_members"
                                    " (node, address, incarnation, heartbeat_at_ms)"
                                    " VALUES (:node, :address, :incarnation, " << now << ")"
                                    " ON CONFLICT (node) DO UPDATE SET"
                                    " address = excluded.address,"
                                    " incarnation = excluded.incarnation,"
                                    " heartbeat_at_ms = excluded.heartbeat_at_ms",
                 soci::use(node, "node"), soci::use(address, "address"),
                 soci::use(incarnation, "incarnation"))),
      // PostgreSQL: the lease row when acquire may take it, locked FOR UPDATE, which waits
      // for the fenced writes under its current epoch (postgresql_fence_lock). A live lease
      // of another node is left unlocked: its holder's writes go on. SQLite: not used.
      lock_takeable(postgresql ? soci::statement(
                                   (session.prepare << "SELECT 1 FROM provider_leases"
                                                       " WHERE provider = :provider AND"
                                                       " (expires_at_ms <= " << now
                                                    << " OR owner = :node) FOR UPDATE",
                                    soci::use(provider, "provider"), soci::use(node, "node")))
                               : soci::statement(session)),
      // The whole decision is this one statement: the row is inserted, or taken over when
      // the WHERE holds on its latest committed version (PostgreSQL locks the conflicting
      // row and re-checks; SQLite runs one writer at a time). A node that loses the race
      // changes no row.
      acquire((session.prepare << "INSERT INTO provider_leases"
                                  " (provider, owner, epoch, expires_at_ms)"
                                  " VALUES (:provider, :node, 1, " << now << " + :ttl)"
                                  " ON CONFLICT (provider) DO UPDATE SET"
                                  " owner = excluded.owner,"
                                  " epoch = provider_leases.epoch + 1,"
                                  " expires_at_ms = excluded.expires_at_ms"
                                  " WHERE provider_leases.expires_at_ms <= " << now
                                  << " OR provider_leases.owner = excluded.owner",
               soci::use(provider, "provider"), soci::use(node, "node"),
               soci::use(ttl_ms, "ttl"))),
      // Expired or not: the row still naming this owner and epoch means nobody took the
      // lease (an acquire changes the epoch) and its holder did not release it.
      renew((session.prepare << "UPDATE provider_leases SET expires_at_ms = " << now
                             << " + :ttl WHERE provider = :provider AND owner = :node"
                                " AND epoch = :epoch",
             soci::use(ttl_ms, "ttl"), soci::use(provider, "provider"),
             soci::use(node, "node"), soci::use(epoch, "epoch"))),
      // A released lease names no owner, so that it cannot be renewed again.
      release((session.prepare << "UPDATE provider_leases SET owner = '', expires_at_ms = "
                               << now << " WHERE provider = :provider AND owner = :node"
                                  " AND epoch = :epoch",
               soci::use(provider, "provider"), soci::use(node, "node"),
               soci::use(epoch, "epoch"))) {}
};

namespace {

void require_positive_ttl(int64_t ttl_ms) {
  if (ttl_ms <= 0)
    throw store_error("a lease needs a positive time to live (got "
                      + std::to_string(ttl_ms) + " ms)");
}

lease lease_from(const soci::row& row) {
  return {row.get<std::string>(0), row.get<std::string>(1), row.get<long long>(2),
          row.get<long long>(3)};
}

} // namespace

lease_store::lease_store(const store_config& cfg)
  : backend_(cfg.backend), now_sql_(database_now_ms_sql(cfg.backend)),
    session_(open_session(cfg, "topup-cluster")) {
  with_store_errors("migrating the schema", [&] {
    migrate(*session_, current_schema_version, cfg.default_merchant);
  });
  statements_ = with_store_errors("preparing lease statements", [&] {
    return std::make_unique<statements>(*session_, now_sql_,
                                        backend_ == store_config::backend_kind::postgresql);
  });
}

lease_store::~lease_store() = default;

void lease_store::heartbeat(const std::string& node, const std::string& address,
                            int64_t incarnation) {
  with_store_errors("recording a heartbeat", [&] {
    auto& st = *statements_;
    st.node = node;
    st.address = address;
    st.incarnation = incarnation;
    st.heartbeat.execute(true);
  });
}

void lease_store::leave(const std::string& node) {
  with_store_errors("leaving the cluster", [&] {
    *session_ << "DELETE FROM cluster_members WHERE node = :node", soci::use(node);
  });
}

member_snapshot lease_store::members() {
  return with_store_errors("reading the cluster members", [&] {
    member_snapshot snapshot;
    soci::rowset<soci::row> rows =
      (session_->prepare << "SELECT node, address, incarnation, heartbeat_at_ms"
                            " FROM cluster_members ORDER BY node");
    for (const auto& row : rows)
      snapshot.members.push_back({row.get<std::string>(0), row.get<std::string>(1),
                                  row.get<long long>(2), row.get<long long>(3)});
    // Read after the rows, so no heartbeat that was read lies in this clock's future.
    snapshot.now_ms = now_ms();
    return snapshot;
  });
}

int64_t lease_store::now_ms() {
  return with_store_errors("reading the database clock", [&] {
    long long now = 0;
    *session_ << "SELECT " + now_sql_, soci::into(now);
    return static_cast<int64_t>(now);
  });
}

std::optional<lease> lease_store::try_acquire(const std::string& provider,
                                              const std::string& node, int64_t ttl_ms) {
  require_positive_ttl(ttl_ms);
  return with_store_errors("acquiring a provider lease", [&]() -> std::optional<lease> {
    auto& st = *statements_;
    st.provider = provider;
    st.node = node;
    st.ttl_ms = ttl_ms;
    // The new epoch is read back in the same transaction: the row stays locked (PostgreSQL)
    // or the database stays locked (SQLite) until the commit, so it is ours.
    soci::transaction transaction{*session_};
    if (backend_ == store_config::backend_kind::postgresql)
      st.lock_takeable.execute(true);
    st.acquire.execute(true);
    if (st.acquire.get_affected_rows() != 1)
      return std::nullopt;
    auto acquired = read_leases("provider", provider, /*live_only=*/false);
    transaction.commit();
    if (acquired.size() != 1 || acquired[0].owner != node)
      throw store_error("a lease acquired for provider " + provider + " did not read back");
    return acquired[0];
  });
}

bool lease_store::renew(const std::string& provider, const std::string& node, int64_t epoch,
                        int64_t ttl_ms) {
  require_positive_ttl(ttl_ms);
  return with_store_errors("renewing a provider lease", [&] {
    auto& st = *statements_;
    st.provider = provider;
    st.node = node;
    st.epoch = epoch;
    st.ttl_ms = ttl_ms;
    st.renew.execute(true);
    return st.renew.get_affected_rows() == 1;
  });
}

bool lease_store::release(const std::string& provider, const std::string& node,
                          int64_t epoch) {
  return with_store_errors("releasing a provider lease", [&] {
    auto& st = *statements_;
    st.provider = provider;
    st.node = node;
    st.epoch = epoch;
    st.release.execute(true);
    return st.release.get_affected_rows() == 1;
  });
}

std::vector<lease> lease_store::read_leases(const std::string& column, const std::string& key,
                                            bool live_only) {
  std::vector<lease> leases;
  soci::rowset<soci::row> rows =
    (session_->prepare << "SELECT provider, owner, epoch, expires_at_ms FROM provider_leases"
                          " WHERE " << column << " = :key"
                       << (live_only ? " AND expires_at_ms > " + now_sql_ : std::string{})
                       << " ORDER BY provider",
     soci::use(key, "key"));
  for (const auto& row : rows)
    leases.push_back(lease_from(row));
  return leases;
}

std::optional<lease> lease_store::holder(const std::string& provider) {
  return with_store_errors("reading a provider lease", [&]() -> std::optional<lease> {
    auto leases = read_leases("provider", provider, /*live_only=*/true);
    if (leases.empty())
      return std::nullopt;
    return leases[0];
  });
}

std::vector<lease> lease_store::held_by(const std::string& node) {
  return with_store_errors("reading a node's leases",
                           [&] { return read_leases("owner", node, /*live_only=*/true); });
}

bool lease_store::still_owner(const std::string& provider, const std::string& node,
                              int64_t epoch) {
  return with_store_errors("checking a provider lease", [&] {
    lease_fence fence{provider, node, epoch};
    int held = 0;
    use_lease_fence(session_->once << "SELECT 1 WHERE " + lease_fence_sql(backend_),
                    fence),
      soci::into(held);
    return held == 1;
  });
}

} // namespace topup
