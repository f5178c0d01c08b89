#pragma once

// Who is in the cluster: nodes announce themselves by heartbeating a row in the shared
// database; a node whose heartbeat is older than `down_after_ms` is down. Every node reads
// the same rows and judges them against the same clock (the database's), so every node
// computes the same live set.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace topup {

/// One node's row in the membership table.
struct member_record {
  std::string node;         ///< the node's configured name, unique in the cluster
  std::string address;      ///< "host:port" of its published entry actor
  int64_t incarnation = 0;  ///< when this process started (ms): a restart has a new one
  int64_t heartbeat_at_ms = 0;

  friend bool operator==(const member_record& a, const member_record& b) {
    return a.node == b.node && a.address == b.address && a.incarnation == b.incarnation
           && a.heartbeat_at_ms == b.heartbeat_at_ms;
  }
};

/// True when the member has heartbeated within the last `down_after_ms`: a member is down
/// from the moment exactly `down_after_ms` have passed since its last heartbeat.
bool is_live(const member_record& member, int64_t now_ms, int64_t down_after_ms);

/// The live members at one moment, sorted by node name (so every node lists them alike).
class membership_view {
public:
  membership_view() = default;

  /// Keeps the live rows of `rows`. A node listed twice (which the table's primary key
  /// prevents) counts once, with its latest heartbeat.
  membership_view(std::vector<member_record> rows, int64_t now_ms, int64_t down_after_ms);

  /// Keeps the rows `live` says are live, a node listed twice judged by its latest row.
  membership_view(std::vector<member_record> rows,
                  const std::function<bool(const member_record&)>& live);

  const std::vector<member_record>& members() const { return live_; }

  /// The live node names, sorted.
  std::vector<std::string> nodes() const;

  bool contains(const std::string& node) const;
  const member_record* find(const std::string& node) const;
  size_t size() const { return live_.size(); }
  bool empty() const { return live_.empty(); }

private:
  std::vector<member_record> live_;
};

/// What changed between two views, for the log. Each list is sorted.
struct membership_change {
  std::vector<std::string> joined;     ///< live now, not before
  std::vector<std::string> left;       ///< live before, not now
  std::vector<std::string> restarted;  ///< live in both, with a new incarnation

  bool empty() const { return joined.empty() && left.empty() && restarted.empty(); }

  /// "joined node-3; left node-1" (empty when nothing changed).
  std::string describe() const;
};

membership_change compare(const membership_view& before, const membership_view& after);

/// Whether `self` serves every waiting order again after `change`. A member that left or
/// restarted holding no lease (`lease_holders`: the holders before the change) leaves no
/// provider to take over, so no takeover reads the store for the orders it accepted and
/// never handed on: they wait there with nobody watching their deadline. The first live
/// member by name serves them; every member judges alike from the same table.
bool serves_orphans(const membership_change& change, const std::set<std::string>& lease_holders,
                    const membership_view& live, const std::string& self);

/// Judges who is down over the time this node itself watched the membership table, never
/// over time it could not see it. A node cut off from the database (an outage, a pause of
/// its own) cannot tell a dead peer from one cut off like itself: both heartbeats look stale
/// by the time it reads them again. So a watch is the run of reads without a failure and
/// without a gap longer than `max_gap_ms` between two of them (by the database clock), and a
/// member is judged down only once its heartbeat is `down_after_ms` older than the start of
/// the current watch, or older than `down_after_ms` and it was judged down with that very
/// heartbeat before (a member dead before an outage stays dead after it). A node's first
/// watch starts with its first read: it judges nobody down before it has watched for
/// `down_after_ms`.
class membership_watch {
public:
  /// `max_gap_ms`: reads further apart are not one watch; less than down_after_ms, so that
  /// silence this node did not see never adds up to a verdict.
  membership_watch(int64_t down_after_ms, int64_t max_gap_ms);

  /// A read failed or could not be made: the current watch ends.
  void lost();

  /// The rows read at `now_ms` (the database clock at the read): the live members.
  membership_view observe(std::vector<member_record> rows, int64_t now_ms);

  /// When (database clock) the current watch started; nothing while none runs.
  std::optional<int64_t> watching_since() const;

private:
  int64_t down_after_ms_;
  int64_t max_gap_ms_;
  std::optional<int64_t> watch_started_ms_;
  std::optional<int64_t> last_read_ms_;
  /// Members judged down, with the heartbeat they had then.
  std::map<std::string, int64_t> judged_down_;
};

} // namespace topup
