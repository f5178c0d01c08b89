#pragma once

// The web console's HTTP side as pure functions: which console endpoint a request is for,
// whether it carries the admin token, and every JSON answer it gets, built from what the
// node already reports (stats, members, orders, histories). No CAF and no sockets: the
// listener (actors/http_api) asks the gateway and calls these. See README.md, "Web console".
//
//   GET  /                                  the console page (api/console/console.html)
//   GET  /console/api/overview              throughput, deadline share, oldest pending order
//   GET  /console/api/providers             one row per configured provider
//   GET  /console/api/cluster               members and leases, or a single node
//   GET  /console/api/orders?q=&status=&since_ms=&until_ms=&limit=
//   GET  /console/api/orders/{id}           the order and its story
//   POST /console/api/orders/{id}/cancel    cancels an order waiting for a provider
//   POST /console/api/orders/{id}/requery   queries the provider of an unknown outcome now
// Every /console/api request needs `Authorization: Bearer <admin token>`.

#include "api/merchant_api.hpp"
#include "config/config.hpp"
#include "domain/throughput_history.hpp"
#include "messages/protocol.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace topup::console_api {

/// The console page: HTML with its CSS and JavaScript inline, nothing fetched from elsewhere
/// (generated from api/console/console.html at build time).
std::string_view page_html();

enum class endpoint { page, overview, providers, cluster, search, order, cancel, requery };

/// What an order search asks: `text` is matched as an order id, a client reference (of any
/// merchant) and a phone number; the other fields narrow the orders listed.
struct search {
  std::string text;
  std::string status;
  int64_t since_ms = 0;
  int64_t until_ms = 0;
  uint32_t limit = 50;
};

struct route {
  endpoint which = endpoint::page;
  std::string order_id;  ///< order, cancel, requery
  struct search search;  ///< search
  bool is_action() const { return which == endpoint::cancel || which == endpoint::requery; }
};

/// Whether `target` is the console's (the page at "/", or under /console/): the listener
/// routes it here rather than to the merchant API.
bool is_console_target(std::string_view target);

/// The console endpoint of `method` and `target`: 404 for an unknown path, 405 for a known
/// one with another method, 400 for a malformed query (an unknown key, a number that is not).
std::variant<route, merchant_api::http_error> route_of(std::string_view method,
                                                      std::string_view target);

/// Whether `authorization` is `Bearer <admin_token>` (compared in constant time); never
/// with an empty admin token (the console is off).
bool authorized(std::string_view authorization, std::string_view admin_token);

/// The order filters a search runs, in this order (their results merged, first found first):
/// by client reference of any of `merchants` (the configured ones: the store looks each up
/// in its unique (merchant, client_ref) index), then, for text that is a phone number (11
/// ASCII digits), by phone number, newest first (the store scans the orders accepted in the
/// search's time window); each with the search's status, times and limit.
std::vector<order_filter> filters_of(const search& s, const std::vector<std::string>& merchants);

/// An order as the console shows it: merchant_api::order_json with the phone number masked
/// (in last_error too).
nlohmann::json order_json(const order& o);

/// {"orders": [...]}: the orders found, each once, newest first, at most `limit`.
nlohmann::json orders_json(std::vector<order> found, uint32_t limit);

/// {"order": {...}, "history": [...], "deliveries": [...]}: the story of `topup-cli status
/// --history --json` and the order's result callbacks of `topup-cli deliveries` (each
/// {"delivery_id", "url", "state", "attempts", "last_http_status", "last_error",
/// "next_attempt_at_ms", "delivered_at_ms" (null until delivered)}), phone numbers masked.
nlohmann::json story_json(const order_history& h, const std::vector<callback_record>& deliveries);

/// What the overview shows beside the node's stats.
struct overview_input {
  int64_t now_ms = 0;
  const throughput_history* throughput = nullptr;
  int64_t chart_width_s = 10;  ///< seconds per chart point
  int64_t rate_window_s = 10;  ///< the current rates are averages over this many seconds
  std::optional<order> oldest_pending;  ///< the oldest order not final yet, if any
};

/// {"node", "now_ms", "started_at_ms", "accepted_per_s", "finished_per_s",
///  "within_deadline_share" (of the orders finished in the window; null with none),
///  "window_s", "oldest_pending" ({"id", "status", "age_ms", "provider"} or null),
///  "orders" (store-wide counts by status), "intake", "store",
///  "chart": {"width_s", "points": [{"t_ms", "accepted", "finished"}, ...]}}
nlohmann::json overview_json(const node_stats& stats, const overview_input& in);

/// What a provider row shows besides its configuration and counters: its current call rate.
struct provider_rate {
  std::string provider;
  double calls_per_s = 0;
};

/// {"providers": [{"name", "carriers", "rate_limit", "burst", "concurrency", "failover",
///  "calls_per_s", "tokens", "in_flight", "queued", "calls", "succeeded", "failed",
///  "retries", "unknown", "expired", "failed_over", "shares": {"success", "transient",
///  "unknown", "failed"} (of the outcomes counted; null with none), "breaker", "served"}]}:
/// one row per configured provider, in the configuration's order; "served" is false when no
/// live member's lane reported it (its counters are then 0).
nlohmann::json providers_json(const std::vector<provider_config>& configured,
                              const cluster_stats& stats,
                              const std::vector<provider_rate>& rates);

/// {"clustered", "node", "members": [{"node", "address", "live", "heartbeat_age_ms",
///  "providers"}], "leases": [{"provider", "holder", "epoch", "holder_live"}]} (the leases by
/// provider); a single node is {"clustered": false, "node", "members": [itself],
/// "leases": []} (it holds no leases).
nlohmann::json cluster_json(bool clustered, const std::string& node,
                            const std::vector<member_info>& members);

/// The calls per second of each provider, from two samples of the node's provider counters
/// (calls and status queries) `elapsed_ms` apart.
std::vector<provider_rate> rates_between(const std::vector<provider_stats>& before,
                                         const std::vector<provider_stats>& after,
                                         int64_t elapsed_ms);

/// The node's cumulative throughput counters for throughput_history: accepted by intake,
/// finished by the lanes, and of those the ones final before their deadline (all but the
/// expired).
throughput_counts throughput_of(const node_stats& stats);

} // namespace topup::console_api
