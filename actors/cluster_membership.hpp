#pragma once

// The cluster actor's view of the members (actors/cluster): the membership table and the
// providers' lease holders as it last read them, and who of the members is live, judged
// over the time it watched the table (domain/membership).

#include "config/config.hpp"
#include "domain/membership.hpp"
#include "domain/ownership.hpp"
#include "messages/protocol.hpp"
#include "persistence/lease_store.hpp"

#include <map>
#include <set>
#include <string>
#include <vector>

namespace topup {

class cluster_membership {
public:
  cluster_membership() = default;

  /// Judges the members by `timing`'s down_after_ms and heartbeat interval.
  explicit cluster_membership(const cluster_config& timing);

  /// Reads the members and the holders of `providers`; logs and returns who joined, left or
  /// restarted. Throws store_error.
  membership_change read(lease_store& db, const std::vector<std::string>& providers);

  /// A read failed or could not be made: the current watch ends.
  void lost() { watch_.lost(); }

  /// This node acquired a lease: it is the holder before the next read says so.
  void acquired(const lease& granted) { holders_[granted.provider] = granted; }

  /// The live members as last judged.
  const membership_view& live() const { return live_; }

  /// Live leases by provider (holder and epoch), as last read.
  const std::map<std::string, lease>& holders() const { return holders_; }

  /// The nodes holding one of those leases.
  std::set<std::string> lease_holders() const;

  /// Every member as last read, live or not, with the leases it holds (members_atom).
  std::vector<member_info> describe() const;

private:
  /// The membership table as last read, with the database clock of that read.
  member_snapshot last_read_;
  /// Judges who is down over the time this node watched the table (outages excluded).
  membership_watch watch_{0, 0};
  membership_view live_;
  std::map<std::string, lease> holders_;
};

} // namespace topup
