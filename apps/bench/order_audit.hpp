#pragma once

// The per-order ground truth of a run, judged without any I/O: what the store says of each
// order against what the providers' ledgers say was really recharged, and whether each order
// was final by its deadline as the client saw it. topup-bench and the tests that run real
// nodes read the rows (store, ledger files, the client's own ack times) and hand them here,
// so every one of them judges by the same rules.
//
// Totals can hide a disagreement (one order recharged twice and another never cancel out in
// "recharges == succeeded"), so everything here is per order.

#include "providers/ledger.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace topup::bench {

/// The store's word on one order.
struct audited_order {
  std::string id;
  std::string status;        ///< "accepted", "dispatched", "unknown", "succeeded", "failed"
  std::string provider;      ///< of its succeeded attempt, else of its latest attempt
  std::string provider_txn;  ///< the provider's transaction of its succeeded attempt; empty
                             ///< when the store's reader does not know it
};

/// How the store and the ledgers can disagree about one order.
enum class disagreement_kind : uint8_t {
  duplicate,           ///< recharged more than once, in one ledger or across several
  success_unrecharged, ///< succeeded in the store, recharged nowhere
  success_elsewhere,   ///< succeeded at one provider, recharged at another
  success_other_txn,   ///< the store names another transaction than the ledger
  failure_recharged,   ///< failed (refunded) in the store, yet recharged
  recharge_unstored,   ///< recharged, but the store has no such order
  stored_twice,        ///< the store lists the order more than once (two succeeded attempts)
};

inline constexpr disagreement_kind all_disagreement_kinds[] = {
  disagreement_kind::duplicate,         disagreement_kind::success_unrecharged,
  disagreement_kind::success_elsewhere, disagreement_kind::success_other_txn,
  disagreement_kind::failure_recharged, disagreement_kind::recharge_unstored,
  disagreement_kind::stored_twice};

std::string_view to_string(disagreement_kind kind);

struct disagreement {
  disagreement_kind kind;
  std::string order_id;
  std::string detail;  ///< what each side says, for a human
};

/// The comparison of a run's store with its ledgers.
struct ledger_audit {
  uint64_t orders = 0;     ///< distinct orders in the store's view
  uint64_t succeeded = 0;
  uint64_t failed = 0;
  uint64_t unknown = 0;    ///< outcome unknown: reported, judged by reconciliation, not here
  uint64_t unknown_recharged = 0;  ///< of those, recharged once (money moved)
  uint64_t open = 0;       ///< accepted or dispatched: not final (lost, if the run is over)
  uint64_t recharges = 0;  ///< ledger rows judged
  uint64_t duplicates = 0; ///< orders recharged more than once
  std::vector<disagreement> disagreements;  ///< every one, sorted by order id

  bool agrees() const { return disagreements.empty(); }
  uint64_t count(disagreement_kind kind) const;
};

/// Compares every order of `orders` with the rows of `recharges` (each row one real
/// recharge). A succeeded order must have exactly one recharge, at its provider (and with
/// its transaction when the store names one); a failed order none; an order recharged twice
/// is a duplicate whatever its status; a recharge of an order the store does not have is a
/// disagreement too. Unknown and open orders are counted apart.
ledger_audit audit_ledgers(const std::vector<audited_order>& orders,
                           const std::vector<ledger_record>& recharges);

/// Counts, disagreements by kind, and the first `examples` disagreements as text.
nlohmann::json to_json(const ledger_audit& audit, size_t examples = 5);

/// "3 disagreements: 1 duplicate, 2 failure_recharged; o-1: recharged 2 times (p-cmcc,
/// p-agg), ..." with at most `examples` orders named; "store and ledgers agree" otherwise.
std::string describe(const ledger_audit& audit, size_t examples = 5);

// -- deadlines, as the client saw them ----------------------------------------------------------

/// One acknowledged order: when the client got its ack, and when the store says it became
/// final. Both are wall-clock milliseconds since the epoch of the same machine (the store's
/// times are the node's system clock; the client must read the same clock, not a steady one).
struct timed_order {
  std::string id;
  int64_t acked_at_ms = 0;
  std::optional<int64_t> final_at_ms;  ///< nothing while it is not final
};

struct timeliness {
  uint64_t checked = 0;
  std::vector<std::string> late;       ///< "o-1 final 1234 ms after ack + limit + grace"
  std::vector<std::string> not_final;  ///< ids of orders without a final time
  /// The least time to spare over the orders checked: ack + limit + grace - final time
  /// (negative when one is late); nothing when no order is final.
  std::optional<int64_t> least_spare_ms;

  bool on_time() const { return late.empty() && not_final.empty(); }
};

/// Judges every order against the promise made at its ack: final no later than
/// `acked_at_ms + limit_ms + grace_ms`. The client's ack comes after the node's accept, so
/// this never holds the node to more than its own deadline, and it cannot be fooled by a
/// deadline the node stored or re-armed wrongly after a crash.
timeliness check_timeliness(const std::vector<timed_order>& orders, int64_t limit_ms,
                            int64_t grace_ms);

/// "12 orders checked, all final within ack + 6000 + 1000 ms (least spare 840 ms)", or the
/// first `examples` late and never-final orders.
std::string describe(const timeliness& result, size_t examples = 5);

} // namespace topup::bench
