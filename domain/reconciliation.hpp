#pragma once

// Reconciliation (对账): the engine's attempts at one provider against that provider's
// statement, request by request, without any I/O. `topup-cli reconcile` reads both sides
// (the attempts from the node's store, page by page; the statement from a file) and hands
// them here.
//
// The unit compared is the provider request: every attempt of one order at one provider
// carries the same request id (order id "@" provider), and a provider deduplicates by it. The
// engine's word on a request is the outcome of its attempts there (succeeded when one
// succeeded, else the outcome of the latest); the provider's word is its rows for that
// request id (several success rows: recharged more than once).

#include "domain/order.hpp"
#include "domain/statement.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace topup {

/// One attempt row of the store as reconciliation reads it, with what its order is now.
struct attempt_record {
  std::string order_id;
  int32_t attempt_no = 0;
  std::string provider;
  std::string request_id;
  int64_t started_at_ms = 0;
  int64_t finished_at_ms = 0;  ///< 0 while the call is in flight
  /// The event that finished the attempt ("succeed", "fail_retryable", "fail_final",
  /// "lose_outcome", "expire"); empty while the call is in flight.
  std::string outcome;
  std::string provider_txn;  ///< of a succeeded attempt
  order_status status = order_status::accepted;  ///< the order's status now
  int64_t amount_fen = 0;                        ///< the order's amount
  std::string phone;                             ///< the order's number
};

/// What the engine says became of a request.
enum class engine_outcome : uint8_t {
  succeeded,  ///< an attempt succeeded: the engine counts it recharged
  failed,     ///< the latest attempt ended without a recharge (failure, expiry)
  unknown,    ///< the latest attempt's outcome is unknown; queried until the provider answers
  in_flight,  ///< the latest attempt's call is running
};

std::string_view to_string(engine_outcome outcome);

/// The engine's side of one request: its attempts folded together.
struct engine_request {
  std::string request_id;
  std::string order_id;
  std::string phone;
  int64_t amount_fen = 0;
  engine_outcome outcome = engine_outcome::in_flight;
  std::string provider_txn;         ///< of the succeeded attempt
  std::string last_outcome;         ///< the latest attempt's outcome column ("" in flight)
  order_status status = order_status::accepted;  ///< the order's status now
  int64_t first_started_ms = 0;     ///< when the first attempt here started: dates it
  int32_t attempts = 0;
  int32_t latest_attempt_no = 0;
};

/// Folds attempt rows (in any order, pages of them as they arrive) into one engine_request
/// per request id.
class engine_requests {
public:
  void add(const attempt_record& attempt);
  size_t attempts() const { return attempts_; }
  /// Every request, by request id.
  std::vector<engine_request> take();

private:
  std::map<std::string, engine_request> by_request_;
  size_t attempts_ = 0;
};

/// How the engine and a provider can disagree about one request. The names are stable:
/// scripts read them from the CSV and JSON output.
enum class discrepancy_kind : uint8_t {
  recharged_failed_here,   ///< recharged there, the engine's attempt ended failed (money lost)
  recharged_unknown_here,  ///< recharged there, the outcome here still unknown or in flight
  unknown_here,            ///< outcome still unknown here, no recharge there
  succeeded_absent_there,  ///< succeeded here, no row there
  succeeded_failed_there,  ///< succeeded here, failed there
  amount_differs,          ///< the two sides name different amounts
  txn_differs,             ///< both recharged, under different transaction ids
  recharged_twice_there,   ///< more than one success row for the request id
  order_id_differs,        ///< the request id belongs to another order here
  phone_differs,           ///< the statement's number is not the order's
  not_sent_here,           ///< a row for an order the engine has but never sent there
  unknown_order,           ///< a row for an order the engine does not have
};

inline constexpr discrepancy_kind all_discrepancy_kinds[] = {
  discrepancy_kind::recharged_failed_here,  discrepancy_kind::recharged_unknown_here,
  discrepancy_kind::unknown_here,           discrepancy_kind::succeeded_absent_there,
  discrepancy_kind::succeeded_failed_there, discrepancy_kind::amount_differs,
  discrepancy_kind::txn_differs,            discrepancy_kind::recharged_twice_there,
  discrepancy_kind::order_id_differs,       discrepancy_kind::phone_differs,
  discrepancy_kind::not_sent_here,          discrepancy_kind::unknown_order};

std::string_view to_string(discrepancy_kind kind);

/// One sentence on what the kind means, for help texts.
std::string_view meaning(discrepancy_kind kind);

/// The engine's word on a request, as judge_request compares it.
struct engine_view {
  std::optional<engine_outcome> outcome;  ///< nothing: the engine has no such request
  std::string order_id;
  int64_t amount_fen = 0;     ///< 0: not known, not compared
  std::string provider_txn;   ///< empty: not known, not compared
  std::string phone;          ///< empty: not compared
};

/// The disagreements between the engine and the provider's rows about one request: a
/// request recharged twice first, then what the outcomes say, then amount, order id and
/// phone. Rows of
/// a request the engine does not have are `unknown_order` (a caller that knows the order
/// exists reports not_sent_here instead). Amounts are compared when both sides know them
/// (above 0), transactions and phones when both sides name them; a phone is compared by the
/// characters a masked number shows (the first three and the last four).
std::vector<discrepancy_kind> judge_request(const engine_view& here,
                                            const std::vector<const statement_row*>& there);

/// The period a reconciliation covers: [from_ms, to_ms), days counted at a fixed UTC offset.
struct reconcile_period {
  int64_t from_ms = 0;
  int64_t to_ms = 0;
  int utc_offset_minutes = 0;

  bool contains(int64_t at_ms) const { return at_ms >= from_ms && at_ms < to_ms; }
};

/// One disagreement about one request.
struct discrepancy {
  discrepancy_kind kind;
  std::string day;         ///< "2026-12-05", at the period's offset
  std::string request_id;
  std::string order_id;
  std::string phone;       ///< masked
  std::string here;        ///< engine_outcome name, or "absent"
  std::string there;       ///< "success", "failed", "success x2", or "absent"
  int64_t amount_here_fen = 0;
  int64_t amount_there_fen = 0;
  std::string txn_here;
  std::string txn_there;
  std::string detail;      ///< what each side says, for a human
};

/// The totals of one provider and day. A request counts on the day its first attempt here
/// started (the engine's clock), or, when the engine has no such request, on the day of its
/// first row (the provider's clock).
struct day_totals {
  std::string provider;
  std::string day;
  uint64_t requests = 0;              ///< compared
  uint64_t succeeded_here = 0;        ///< requests the engine counts recharged
  int64_t succeeded_here_fen = 0;
  uint64_t recharged_there = 0;       ///< success rows of the statement
  int64_t recharged_there_fen = 0;
  uint64_t agreed = 0;                ///< requests without any disagreement
  int64_t agreed_fen = 0;             ///< of those, the amounts both sides count recharged
  uint64_t disagreeing = 0;           ///< requests with at least one disagreement
  /// What is at stake in them: the amounts the provider's success rows charge, or the
  /// engine's amount where the provider charges nothing.
  int64_t disagreeing_fen = 0;
};

/// A whole reconciliation of one provider over a period.
struct reconciliation {
  std::string provider;
  reconcile_period period;
  uint64_t requests = 0;        ///< compared (dated in the period)
  uint64_t engine_requests = 0; ///< of those, known to the engine
  uint64_t statement_rows = 0;  ///< rows of the requests compared
  std::vector<discrepancy> discrepancies;  ///< by day, request id, kind
  std::vector<day_totals> days;            ///< by day

  bool agrees() const { return discrepancies.empty(); }
  uint64_t count(discrepancy_kind kind) const;
};

/// The order ids of statement rows whose request id the engine's requests do not have: the
/// caller asks the engine whether it has those orders at all (not_sent_here) or not
/// (unknown_order).
std::vector<std::string> unmatched_order_ids(const std::vector<engine_request>& here,
                                             const std::vector<statement_row>& there);

/// Compares the engine's requests at `provider` with the provider's statement rows over
/// `period`. Both sides may hold requests outside the period (fetched with a margin, so that
/// a call started just before midnight and performed just after is matched): those are used
/// for matching only. `known_orders` are the orders of unmatched rows the engine has.
reconciliation reconcile(const std::string& provider, const reconcile_period& period,
                         const std::vector<engine_request>& here,
                         const std::vector<statement_row>& there,
                         const std::set<std::string>& known_orders);

} // namespace topup
