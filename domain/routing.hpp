#pragma once

#include "domain/order.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace topup {

/// What routing knows of one provider: configuration plus the load its recharge actor last
/// reported.
struct provider_view {
  std::string name;
  std::vector<std::string> carriers;
  size_t preference = 0;  ///< position in the configuration: lower is preferred
  double rate = 1;        ///< calls per second
  size_t concurrency = 1;
  size_t queued = 0;      ///< orders waiting in its queue
  size_t in_flight = 0;   ///< calls running
  size_t waiting = 0;     ///< orders in retry backoff or waiting for a status query
  bool accepting = true;  ///< breaker not open
  double latency_ms = 50; ///< typical call latency
  /// Calls (recharges and status queries) an order costs this provider until it is final, as
  /// measured recently: 1 when every call succeeds, more with transient failures and
  /// unknown outcomes.
  double calls_per_order = 1;
  /// How long its recharge actor's oldest store write has waited for the store (0: none
  /// waits): how far behind the store is with the state changes of accepted orders.
  double store_lag_ms = 0;
  /// False when another node of the cluster holds the provider: this node has no report of
  /// its load, and the numbers above are not it.
  bool load_known = true;

  bool serves(const std::string& carrier) const;
};

/// How long until a new order handed to this provider now would start its first call, in ms:
/// every order ahead of it (queued, in flight, waiting to be retried or queried) costs
/// `calls_per_order` calls, which leave at the provider's effective throughput (its rate, or
/// fewer when the concurrency cap over the latency is the tighter bound). The queue is served
/// earliest deadline first and a new order has the latest deadline: all of them go first.
double predicted_start_ms(const provider_view& view);

/// How long until an order handed to this provider now would be finished, in ms: its
/// predicted start plus one call's latency.
double predicted_completion_ms(const provider_view& view);

enum class routing_goal {
  preferred,  ///< new orders: the most preferred provider that finishes within the budget
  fastest,    ///< re-sends near the deadline: the earliest predicted completion
};

/// Picks the provider for an order of `carrier`, by index into `views`.
/// preferred: among providers serving the carrier with a closed breaker, the most preferred
/// whose predicted completion is within `budget_ms`; if none is, the fastest of them.
/// fastest: the earliest predicted completion among those with a closed breaker.
/// When every serving provider's breaker is open the most preferred serving one is chosen
/// (the order waits for its half-open probe). `exclude` (a provider that just failed the
/// order) is avoided unless it is the only one serving the carrier.
/// Nothing when no provider serves the carrier.
std::optional<size_t> choose_provider(const std::vector<provider_view>& views,
                                      const std::string& carrier, routing_goal goal,
                                      double budget_ms, const std::string& exclude = "");

/// The providers that may still recharge a number after the providers in `wrong_carrier_at`
/// answered "wrong carrier" for it, by index into `views`, in position order. Each such
/// answer says the number is with none of the carriers that provider serves: those carriers
/// are ruled out. The candidates are the providers not in `wrong_carrier_at` that serve a
/// carrier not ruled out, narrowed to those serving the most carriers not ruled out: an
/// aggregator goes before the provider of a single carrier, since wherever the number went,
/// the wider a provider's reach the likelier one more call settles it. Empty: no provider
/// is left that might serve the number (the order fails with errc::wrong_carrier).
std::vector<size_t> wrong_carrier_candidates(const std::vector<provider_view>& views,
                                             const std::vector<std::string>& wrong_carrier_at);

/// choose_provider for an order: among the providers serving its carrier, or, once
/// providers answered "wrong carrier" for it, among wrong_carrier_candidates (never one of
/// those that answered, whatever their load or breakers). Nothing when no provider may
/// take it.
std::optional<size_t> choose_provider_for(const std::vector<provider_view>& views,
                                          const order& o, routing_goal goal, double budget_ms,
                                          const std::string& exclude = "");

} // namespace topup
