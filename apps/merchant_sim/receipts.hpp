#pragma once

// topup-merchant-sim's decisions, without sockets or files: what a merchant's endpoint
// answers while it is told to fail, hang or answer wrongly for a while, and what its ledger of
// received result callbacks says (deliveries, distinct ones, duplicates, bad signatures, gaps).

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace topup::merchant_sim {

/// How the endpoint answers a callback: acknowledged (200 and the acknowledgement), 500,
/// never (the connection is held until the period ends), or 200 with another body.
enum class answer_mode { ack, fail, hang, wrong };

std::string_view to_string(answer_mode mode);
/// "ack", "fail", "hang", "wrong"; nothing for anything else.
std::optional<answer_mode> answer_mode_from(std::string_view name);

/// The endpoint's behaviour over time: a mode for a period, then acknowledging again.
class answer_plan {
public:
  /// From `now_ms`, answer `mode` for `for_ms` (0: until told otherwise).
  void set(answer_mode mode, int64_t now_ms, int64_t for_ms);
  answer_mode mode_at(int64_t now_ms) const;
  /// When the current period ends (0: it does not).
  int64_t until_ms() const { return until_ms_; }

private:
  answer_mode mode_ = answer_mode::ack;
  int64_t until_ms_ = 0;
};

/// One callback received, as the ledger keeps it.
struct receipt {
  std::string delivery_id;
  std::string order_id;
  std::string status;  ///< the order's status the notification reports
  int64_t received_at_ms = 0;
  bool signature_ok = false;
  std::string answered;  ///< the mode it was answered in
};

/// The ledger's account of what arrived.
struct ledger_report {
  uint64_t deliveries = 0;      ///< requests received
  uint64_t distinct = 0;        ///< distinct delivery ids
  uint64_t duplicates = 0;      ///< deliveries - distinct: repeats of a delivery id
  uint64_t bad_signatures = 0;  ///< requests whose signature did not verify
  uint64_t acknowledged = 0;    ///< distinct delivery ids answered with the acknowledgement
  uint64_t orders = 0;          ///< distinct order ids
  uint64_t final_orders = 0;    ///< distinct orders notified succeeded or failed
  /// Expected orders (report --expect) of which no final notification arrived.
  std::vector<std::string> missing_orders;
};

/// The report of `receipts`; `expected_orders` (may be empty) names the orders that should
/// each have had a final notification.
ledger_report report_of(const std::vector<receipt>& receipts,
                        const std::set<std::string>& expected_orders);

nlohmann::ordered_json to_json(const ledger_report& report);

/// Reads a callback body's delivery_id, order_id and status (empty where the body does not
/// hold them as strings: the ledger records what came, even a malformed body).
receipt receipt_of_body(std::string_view body);

} // namespace topup::merchant_sim
