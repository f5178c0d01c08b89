#pragma once

// The simulated provider's own record of the recharges it really performed, in its own SQLite
// file. It is the ground truth a workload checks the engine against: every row is money
// handed out, so an order with two rows (on one provider or across several) was recharged
// twice.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace soci {
class session;
}

namespace topup {

/// A ledger failure, described without SQL text or bound values (soci_error::what() carries
/// both), so it is safe to log.
class ledger_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// One real recharge.
struct ledger_record {
  std::string request_id;    ///< the engine's request id, stable per (order, provider)
  std::string order_id;
  std::string provider;
  std::string provider_txn;  ///< the provider's transaction id, answered to queries
  int64_t at_ms = 0;         ///< wall time of the recharge, ms since the epoch
  int64_t amount_fen = 0;    ///< the amount recharged (0 in rows of ledgers from before)
  std::string phone{};       ///< the number recharged, masked (138****8000)
  std::string node{};        ///< the calling node, as it said ("" from a single node)
  int64_t epoch = 0;         ///< the epoch of its lease on the provider, as it said
};

/// Real recharges per order id.
using recharge_counts = std::map<std::string, uint64_t>;

/// Orders recharged more than once in `counts`: each is a duplicate (money lost).
uint64_t count_duplicates(const recharge_counts& counts);

/// The ledger file. Deliberately NOT deduplicating: a second recharge of the same request or
/// order is written as a second row, so that an engine bug shows up as a duplicate instead of
/// being hidden by the simulator. Blocking; one instance per thread (SOCI sessions are not
/// thread-safe). Every failure is a ledger_error.
class ledger {
public:
  /// Opens (creating if needed) the file at `path` in WAL mode with synchronous=NORMAL; an
  /// empty path keeps the ledger in memory, gone when this object is. A file written before
  /// rows recorded the caller gains the columns (node '' and epoch 0 for its old rows).
  explicit ledger(const std::string& path, int busy_timeout_s = 5);
  ~ledger();

  ledger(const ledger&) = delete;
  ledger& operator=(const ledger&) = delete;

  /// Writes the records in one transaction: all or nothing.
  void record(const std::vector<ledger_record>& records);

  /// The transaction of a recharge with this request id, if one was performed (the first
  /// one, should there be several).
  std::optional<std::string> find(const std::string& request_id);

  /// Rows in the ledger: real recharges.
  uint64_t count();

  /// Every row, oldest first: what a restarted provider needs to recognise requests it
  /// already performed.
  std::vector<ledger_record> records();

  /// The rows of `provider` with at_ms in [from_ms, to_ms), oldest first: its statement.
  std::vector<ledger_record> records_of(const std::string& provider, int64_t from_ms,
                                        int64_t to_ms);

  /// Orders with more than one row in this ledger.
  uint64_t duplicates();

  /// Rows per order in this ledger.
  recharge_counts recharges_per_order();

  /// Rows per order summed over several ledger files (an order recharged once on p-cmcc and
  /// once on p-agg counts 2). A file that does not exist is an error, not an empty ledger:
  /// a mistyped path must not read as "no duplicates".
  static recharge_counts recharges_per_order(const std::vector<std::string>& paths);

  /// Every row of several ledger files, file by file. A file that does not exist is an
  /// error, as for recharges_per_order.
  static std::vector<ledger_record> records(const std::vector<std::string>& paths);

  /// "sqlite:<path>" or "sqlite::memory:", for log lines.
  const std::string& target() const { return target_; }

private:
  std::unique_ptr<soci::session> session_;
  std::string target_;
};

} // namespace topup
