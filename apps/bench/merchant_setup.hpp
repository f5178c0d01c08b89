#pragma once

// The merchant side of a W1 through the HTTP API (apps/bench/http_submitter): the node's
// configuration with its HTTP API on a port the bench chose and, for the callback delivery
// rate, the default merchant's callbacks sent to topup-merchant-sim; and the figures of what
// that simulator received, against the run's final orders. Pure: JSON and numbers.

#include "apps/bench/figures.hpp"
#include "apps/merchant_sim/receipts.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace topup::bench {

/// `document` (a node's configuration) with its http_api listening on 127.0.0.1:`port`; with
/// a `callback_url`, its default merchant's callbacks go there (also its allowed prefix).
/// Throws std::runtime_error when the configuration has no merchants section naming a
/// default merchant with a secret, or no http_api section.
nlohmann::json with_http_api(nlohmann::json document, uint16_t port,
                             const std::string& callback_url);

/// The default merchant's id and secret of a configuration that with_http_api accepts.
std::pair<std::string, std::string> signing_merchant(const nlohmann::json& document);

/// What the merchant's endpoint received of the run's notifications.
struct callback_figures {
  uint64_t final_orders = 0;  ///< orders of the run the store holds final
  uint64_t notified = 0;      ///< of them, with their final notification received
  merchant_sim::ledger_report ledger;  ///< duplicates, bad signatures, missing orders (gaps)
  /// Final notifications received per second, from the first to the last.
  double deliveries_per_s = 0;
  /// From the order's final state in the store to the first receipt of its notification.
  latency_summary final_to_delivered;
};

callback_figures callback_figures_of(const std::vector<stored_order>& orders,
                                     const std::vector<merchant_sim::receipt>& receipts);

nlohmann::json to_json(const callback_figures& figures);

} // namespace topup::bench
