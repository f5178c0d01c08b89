#include "apps/bench/merchant_setup.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <stdexcept>

namespace topup::bench {

using nlohmann::json;

namespace {

json& default_merchant_entry(json& document) {
  if (!document.contains("merchants") || !document["merchants"].is_object())
    throw std::runtime_error("the configuration has no merchants section");
  auto& merchants = document["merchants"];
  auto id = merchants.value("default", std::string{});
  if (!merchants.contains("list") || !merchants["list"].is_array())
    throw std::runtime_error("the merchants section has no list");
  for (auto& entry : merchants["list"])
    if (entry.is_object() && entry.value("id", std::string{}) == id) {
      if (entry.value("secret", std::string{}).empty())
        throw std::runtime_error("merchant " + id + " has no secret to sign requests with");
      return entry;
    }
  throw std::runtime_error("the merchants section lists no default merchant \"" + id + "\"");
}

} // namespace

json with_http_api(json document, uint16_t port, const std::string& callback_url) {
  auto& merchant = default_merchant_entry(document);
  if (!callback_url.empty()) {
    merchant["callback_url"] = callback_url;
    merchant["allowed_callback_prefixes"] = json::array({callback_url});
  }
  if (!document.contains("http_api") || !document["http_api"].is_object())
    throw std::runtime_error("the configuration has no http_api section");
  document["http_api"]["listen"] = {{"host", "127.0.0.1"}, {"port", port}};
  return document;
}

std::pair<std::string, std::string> signing_merchant(const json& document) {
  auto copy = document;
  const auto& merchant = default_merchant_entry(copy);
  return {merchant.at("id").get<std::string>(), merchant.at("secret").get<std::string>()};
}

callback_figures callback_figures_of(const std::vector<stored_order>& orders,
                                     const std::vector<merchant_sim::receipt>& receipts) {
  callback_figures figures;
  std::map<std::string, int64_t> final_at;  // order id -> when it became final
  std::set<std::string> expected;
  for (const auto& row : orders)
    if (is_terminal(row)) {
      final_at[row.id] = row.updated_at_ms;
      expected.insert(row.id);
    }
  figures.final_orders = final_at.size();
  figures.ledger = merchant_sim::report_of(receipts, expected);
  auto latency = make_completion_histogram();
  std::set<std::string> seen;
  int64_t first = 0, last = 0;
  for (const auto& r : receipts) {  // in the order received
    if (r.status != "succeeded" && r.status != "failed")
      continue;
    auto order = final_at.find(r.order_id);
    if (order == final_at.end() || !seen.insert(r.delivery_id).second)
      continue;
    first = figures.notified++ == 0 ? r.received_at_ms : first;
    last = r.received_at_ms;
    latency.record(std::chrono::milliseconds{std::max<int64_t>(0, r.received_at_ms - order->second)});
  }
  if (last > first)
    figures.deliveries_per_s = static_cast<double>(figures.notified) * 1000.0
                               / static_cast<double>(last - first);
  figures.final_to_delivered = summarize(latency);
  return figures;
}

json to_json(const callback_figures& figures) {
  const auto& latency = figures.final_to_delivered;
  return {{"final_orders", figures.final_orders},
          {"notified", figures.notified},
          {"deliveries", figures.ledger.deliveries},
          {"duplicates", figures.ledger.duplicates},
          {"bad_signatures", figures.ledger.bad_signatures},
          {"missing_orders", figures.ledger.missing_orders.size()},
          {"deliveries_per_s", figures.deliveries_per_s},
          {"final_to_delivered_ms",
           {{"p50", latency.p50_ms}, {"p99", latency.p99_ms}, {"max", latency.max_ms}}}};
}

} // namespace topup::bench
