#pragma once

// Cluster membership and provider leases in the shared database.
//
// One clock judges every lease: the database's. On PostgreSQL each statement reads the
// server's clock_timestamp(), so nodes on machines whose clocks disagree still agree on
// whether a lease has expired. SQLite is one file on one machine, so its "database clock"
// is that machine's wall clock, read by SQLite inside the statement as well. No expiry is
// ever computed from the calling node's own clock.

#include "config/config.hpp"
#include "domain/membership.hpp"
#include "domain/ownership.hpp"

#include <soci/soci.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace topup {

/// The database clock, in milliseconds since the Unix epoch, as an SQL expression.
std::string database_now_ms_sql(store_config::backend_kind backend);

/// The lease an attempt write claims to hold. Bound by reference: it must outlive the
/// statement it is bound to.
struct lease_fence {
  std::string provider;
  std::string owner;
  long long epoch = 0;
};

/// An SQL condition that holds only while `owner` holds the provider's lease under `epoch`
/// and it has not expired by the database clock. Append it to the WHERE of an attempt
/// write (an UPDATE, or an INSERT ... SELECT ... WHERE) and bind the fence with
/// use_lease_fence: the write then affects no row when the writer lost its lease.
/// It binds :lease_provider, :lease_owner and :lease_epoch.
/// On PostgreSQL it also key-share-locks the lease row until the writer's transaction ends
/// (postgresql_fence_lock), so a takeover waits for a write that passed the check to commit:
/// every attempt written under epoch e is visible before epoch e+1 exists. (SQLite writers
/// are serialised by the database lock already.)
std::string lease_fence_sql(store_config::backend_kind backend);

/// The same condition over SQL expressions for the provider, owner and epoch (a batch
/// statement takes them from its arrays) instead of the bound parameters.
std::string lease_fence_sql(store_config::backend_kind backend, const std::string& provider,
                            const std::string& owner, const std::string& epoch);

/// The row lock a fenced write takes on the lease row (PostgreSQL). FOR KEY SHARE conflicts
/// only with FOR UPDATE, which try_acquire takes before a takeover, and not with the lock of
/// a renewal or a release (UPDATEs that change no key): the holder's renewals never queue
/// behind its own writes, nor its writes behind a renewal that waits for other writes.
inline constexpr const char* postgresql_fence_lock = " FOR KEY SHARE";

/// Binds a fence to a statement being built:
///   use_lease_fence((session.prepare << "UPDATE ... WHERE id = :id AND "
///                                         + lease_fence_sql(backend), soci::use(id, "id")),
///                   fence)
template <class Statement>
auto& use_lease_fence(Statement&& statement, const lease_fence& fence) {
  return (statement, soci::use(fence.provider, "lease_provider"),
          soci::use(fence.owner, "lease_owner"), soci::use(fence.epoch, "lease_epoch"));
}

/// The membership table as read, with the database clock at the moment of reading, which
/// is the `now` to judge the heartbeats by.
struct member_snapshot {
  std::vector<member_record> members;  ///< sorted by node
  int64_t now_ms = 0;
};

/// Membership rows and provider leases. Blocking; one session, used from one thread at a
/// time. Every change of ownership is one conditional statement, so concurrent nodes never
/// both succeed. Failures are store_errors whose text carries no bound values.
class lease_store {
public:
  /// Opens (creating if needed) and migrates the database.
  explicit lease_store(const store_config& cfg);
  ~lease_store();

  lease_store(const lease_store&) = delete;
  lease_store& operator=(const lease_store&) = delete;

  store_config::backend_kind backend() const { return backend_; }

  /// Records that `node` is alive now (database clock), creating its row if needed.
  void heartbeat(const std::string& node, const std::string& address, int64_t incarnation);

  /// Removes the node's row, so that the others see it gone without waiting for
  /// down_after_ms (a clean shutdown, after it released its leases).
  void leave(const std::string& node);

  /// Every membership row, live or not, with the database clock to judge them by.
  member_snapshot members();

  /// The database clock.
  int64_t now_ms();

  /// Takes the provider's lease for `ttl_ms` when nobody holds it, it has expired, or
  /// `node` holds it already. Every success hands out a new epoch (the last one + 1, 1 for
  /// the first): a restarted node re-acquiring its own lease fences off its previous
  /// incarnation too. Nothing when another node holds a live lease. On PostgreSQL a lease it
  /// can take is locked FOR UPDATE first: the new epoch waits for every fenced write under
  /// the old one that is still open.
  std::optional<lease> try_acquire(const std::string& provider, const std::string& node,
                                   int64_t ttl_ms);

  /// Extends a lease to now + ttl_ms. False when it is lost: taken over (under a new
  /// epoch) or released. A lease that expired while its holder could not reach the database
  /// and that nobody took meanwhile is renewed under the same epoch: an outage of the
  /// database longer than the time to live moves no provider. (Nobody else wrote under it:
  /// the fence refused every attempt write while it was expired.)
  bool renew(const std::string& provider, const std::string& node, int64_t epoch,
             int64_t ttl_ms);

  /// Lets the lease expire now, so another node can acquire it at once, and names no owner
  /// any more, so that it cannot be renewed. False when it was not held (any more). The row
  /// stays, keeping the epoch for the next holder to increase.
  bool release(const std::string& provider, const std::string& node, int64_t epoch);

  /// The live lease of a provider; nothing when none is held or it has expired.
  std::optional<lease> holder(const std::string& provider);

  /// The live leases a node holds, sorted by provider (what it owns after a restart).
  std::vector<lease> held_by(const std::string& node);

  /// Whether the fence condition holds now, as an attempt write would see it.
  bool still_owner(const std::string& provider, const std::string& node, int64_t epoch);

private:
  struct statements;
  /// The leases whose `column` (provider or owner) equals `key`; `live_only`: unexpired.
  std::vector<lease> read_leases(const std::string& column, const std::string& key,
                                 bool live_only);

  store_config::backend_kind backend_;
  std::string now_sql_;
  std::unique_ptr<soci::session> session_;
  std::unique_ptr<statements> statements_;
};

} // namespace topup
