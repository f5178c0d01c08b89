#include "api/console_api.hpp"

#include "domain/merchant_callback.hpp"
#include "domain/order_history.hpp"
#include "domain/text.hpp"

#include <algorithm>
#include <charconv>
#include <map>
#include <set>

namespace topup::console_api {
namespace {

using nlohmann::json;

constexpr std::string_view api_prefix = "/console/api/";
constexpr std::string_view orders_prefix = "/console/api/orders/";
constexpr uint32_t most_listed = 500;
/// Validation accepts only 11-digit mainland mobile numbers: nothing else is worth a scan.
constexpr size_t phone_digits = 11;

merchant_api::http_error error_of(errc code, std::string reason) {
  return {merchant_api::status_of(code), failure{code, std::move(reason)}};
}

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

std::optional<int64_t> integer_of(std::string_view text) {
  int64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc{} || end != text.data() + text.size() || value < 0)
    return std::nullopt;
  return value;
}

/// The search of a query string "q=...&status=...&since_ms=...&until_ms=...&limit=...".
std::variant<search, merchant_api::http_error> search_of(std::string_view query) {
  search s;
  while (!query.empty()) {
    auto amp = query.find('&');
    auto pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (pair.empty())
      continue;
    auto eq = pair.find('=');
    auto key = pair.substr(0, eq);
    auto value = merchant_api::percent_decoded(
      eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1), true);
    if (!value)
      return error_of(errc::malformed_message, std::string{key} + ": a malformed percent escape");
    auto number = [&](auto& field) -> std::optional<merchant_api::http_error> {
      if (value->empty())
        return std::nullopt;
      auto parsed = integer_of(*value);
      if (!parsed)
        return error_of(errc::invalid_argument,
                        std::string{key} + " must be a whole number of at least 0");
      field = static_cast<std::decay_t<decltype(field)>>(*parsed);
      return std::nullopt;
    };
    std::optional<merchant_api::http_error> refused;
    if (key == "q")
      s.text = std::move(*value);
    else if (key == "status")
      s.status = std::move(*value);
    else if (key == "since_ms")
      refused = number(s.since_ms);
    else if (key == "until_ms")
      refused = number(s.until_ms);
    else if (key == "limit")
      refused = number(s.limit);
    else
      return error_of(errc::invalid_argument,
                      "unknown query key '" + text::printable(key, 40) + "'");
    if (refused)
      return *refused;
  }
  s.limit = std::clamp<uint32_t>(s.limit, 1, most_listed);
  return s;
}

std::optional<double> share(uint64_t part, uint64_t whole) {
  if (whole == 0)
    return std::nullopt;
  return static_cast<double>(part) / static_cast<double>(whole);
}

json or_null(std::optional<double> x) {
  return x ? json(*x) : json(nullptr);
}

} // namespace

bool is_console_target(std::string_view target) {
  auto path = target.substr(0, target.find('?'));
  return path == "/" || starts_with(path, "/console/");
}

std::variant<route, merchant_api::http_error> route_of(std::string_view method,
                                                      std::string_view target) {
  auto query_start = target.find('?');
  auto path = target.substr(0, query_start);
  auto query = query_start == std::string_view::npos ? std::string_view{}
                                                     : target.substr(query_start + 1);
  auto only = [&](std::string_view wanted, route r) -> std::variant<route, merchant_api::http_error> {
    if (method != wanted)
      return merchant_api::http_error{
        405, {errc::invalid_argument, std::string{path} + " accepts " + std::string{wanted} + " only"}};
    return r;
  };
  if (path == "/")
    return only("GET", {endpoint::page, "", {}});
  if (path == "/console/api/overview")
    return only("GET", {endpoint::overview, "", {}});
  if (path == "/console/api/providers")
    return only("GET", {endpoint::providers, "", {}});
  if (path == "/console/api/cluster")
    return only("GET", {endpoint::cluster, "", {}});
  if (path == "/console/api/orders") {
    if (method != "GET")
      return merchant_api::http_error{405, {errc::invalid_argument, "/console/api/orders accepts GET only"}};
    auto parsed = search_of(query);
    if (auto refused = std::get_if<merchant_api::http_error>(&parsed))
      return *refused;
    return route{endpoint::search, "", std::get<search>(std::move(parsed))};
  }
  if (starts_with(path, orders_prefix)) {
    auto rest = path.substr(orders_prefix.size());
    auto slash = rest.find('/');
    auto id = merchant_api::percent_decoded(rest.substr(0, slash), false);
    if (!id || id->empty())
      return error_of(errc::not_found, "no endpoint " + text::printable(path, 80));
    if (slash == std::string_view::npos)
      return only("GET", {endpoint::order, std::move(*id), {}});
    auto action = rest.substr(slash);
    if (action == "/cancel")
      return only("POST", {endpoint::cancel, std::move(*id), {}});
    if (action == "/requery")
      return only("POST", {endpoint::requery, std::move(*id), {}});
  }
  return error_of(errc::not_found, "no endpoint " + text::printable(path, 80));
}

bool authorized(std::string_view authorization, std::string_view admin_token) {
  return !admin_token.empty() && merchant_api::metrics_authorized(authorization, admin_token);
}

std::vector<order_filter> filters_of(const search& s, const std::vector<std::string>& merchants) {
  order_filter base;
  base.status = s.status;
  base.since_ms = s.since_ms;
  base.until_ms = s.until_ms;
  base.limit = s.limit;
  if (s.text.empty())
    return {base};
  auto by_ref = base;
  by_ref.client_ref = s.text;
  by_ref.merchants = merchants;
  std::vector<order_filter> filters{by_ref};
  bool phone_like = s.text.size() == phone_digits
                    && std::all_of(s.text.begin(), s.text.end(),
                                   [](char c) { return c >= '0' && c <= '9'; });
  if (phone_like) {
    auto by_phone = base;
    by_phone.phone = s.text;
    filters.push_back(by_phone);
  }
  return filters;
}

json order_json(const order& o) {
  auto shown = merchant_api::order_json(o);
  shown["phone"] = mask_phone(o.phone);
  shown["last_error"] = mask_phone_in(o.last_error, o.phone);
  return shown;
}

json orders_json(std::vector<order> found, uint32_t limit) {
  std::stable_sort(found.begin(), found.end(), [](const order& a, const order& b) {
    return a.accepted_at_ms > b.accepted_at_ms;
  });
  std::set<std::string> seen;
  auto list = json::array();
  for (const auto& o : found) {
    if (list.size() >= limit)
      break;
    if (seen.insert(o.id).second)
      list.push_back(order_json(o));
  }
  return {{"orders", std::move(list)}};
}

json story_json(const order_history& h, const std::vector<callback_record>& deliveries) {
  auto entries = json::array();
  for (auto entry : h.entries) {
    entry.detail = mask_phone_in(std::move(entry.detail), h.snapshot.phone);
    entries.push_back(json(history_entry_json(entry)));
  }
  auto sent = json::array();
  for (const auto& d : deliveries) {
    bool delivered = d.state == to_string(callback_state::delivered);
    sent.push_back({{"delivery_id", d.delivery_id},
                    {"url", d.url},
                    {"state", d.state},
                    {"attempts", d.attempts},
                    {"last_http_status", d.last_http_status},
                    {"last_error", mask_phone_in(d.last_error, h.snapshot.phone)},
                    {"next_attempt_at_ms", d.next_attempt_at_ms},
                    {"delivered_at_ms", delivered ? json(d.updated_at_ms) : json(nullptr)}});
  }
  return {{"order", order_json(h.snapshot)}, {"history", std::move(entries)},
          {"deliveries", std::move(sent)}};
}

throughput_counts throughput_of(const node_stats& stats) {
  throughput_counts counts;
  counts.accepted = stats.intake.accepted;
  for (const auto& p : stats.providers) {
    counts.finished += p.succeeded + p.failed + p.expired;
    counts.within_deadline += p.succeeded + p.failed;
  }
  return counts;
}

json overview_json(const node_stats& stats, const overview_input& in) {
  auto now_s = in.now_ms / 1000;
  json result{{"node", stats.node}, {"now_ms", in.now_ms}, {"started_at_ms", stats.started_at_ms}};
  json chart{{"width_s", in.chart_width_s}, {"points", json::array()}};
  if (in.throughput) {
    auto recent = in.throughput->sum(now_s, in.rate_window_s);
    auto window = in.throughput->sum(now_s, in.throughput->window_s());
    auto per_s = [&](uint64_t count) {
      return static_cast<double>(count) / static_cast<double>(std::max<int64_t>(in.rate_window_s, 1));
    };
    result["accepted_per_s"] = per_s(recent.accepted);
    result["finished_per_s"] = per_s(recent.finished);
    result["within_deadline_share"] = or_null(share(window.within_deadline, window.finished));
    result["finished_in_window"] = window.finished;
    result["window_s"] = in.throughput->window_s();
    for (const auto& point : in.throughput->points(now_s, in.chart_width_s))
      chart["points"].push_back({{"t_ms", point.start_s * 1000},
                                 {"accepted", point.counts.accepted},
                                 {"finished", point.counts.finished}});
  }
  result["chart"] = std::move(chart);
  if (in.oldest_pending)
    result["oldest_pending"] = {{"id", in.oldest_pending->id},
                                {"status", std::string{to_string(in.oldest_pending->status)}},
                                {"provider", in.oldest_pending->provider},
                                {"age_ms", std::max<int64_t>(0, in.now_ms - in.oldest_pending->accepted_at_ms)}};
  else
    result["oldest_pending"] = nullptr;
  json orders = json::object();
  for (const auto& count : stats.orders)
    orders[count.status] = count.count;
  result["orders"] = std::move(orders);
  const auto& i = stats.intake;
  result["intake"] = {{"accepted", i.accepted}, {"existing", i.existing}, {"rejected", i.rejected},
                      {"overloaded", i.overloaded}, {"unavailable", i.unavailable},
                      {"in_flight", i.in_flight}};
  result["store"] = {{"healthy", stats.store.healthy}, {"pending_writes", stats.store.pending_writes},
                     {"failed_commits", stats.store.failed_commits}};
  result["restarts"] = stats.restarts;
  return result;
}

std::vector<provider_rate> rates_between(const std::vector<provider_stats>& before,
                                         const std::vector<provider_stats>& after,
                                         int64_t elapsed_ms) {
  std::map<std::string, uint64_t> earlier;
  for (const auto& p : before)
    earlier[p.provider] = p.calls + p.queries;
  std::vector<provider_rate> rates;
  for (const auto& p : after) {
    auto now = p.calls + p.queries;
    auto found = earlier.find(p.provider);
    double rate = 0;
    if (found != earlier.end() && now >= found->second && elapsed_ms > 0)
      rate = static_cast<double>(now - found->second) * 1000.0 / static_cast<double>(elapsed_ms);
    rates.push_back({p.provider, rate});
  }
  return rates;
}

json providers_json(const std::vector<provider_config>& configured, const cluster_stats& stats,
                    const std::vector<provider_rate>& rates) {
  auto rows = json::array();
  for (const auto& config : configured) {
    auto counted = std::find_if(stats.totals.providers.begin(), stats.totals.providers.end(),
                                [&](const provider_stats& p) { return p.provider == config.name; });
    provider_stats p = counted != stats.totals.providers.end() ? *counted : provider_stats{};
    auto rate = std::find_if(rates.begin(), rates.end(),
                             [&](const provider_rate& r) { return r.provider == config.name; });
    auto outcomes = p.succeeded + p.failed + p.retries + p.unknown;
    rows.push_back({
      {"name", config.name},
      {"carriers", config.carriers},
      {"rate_limit", config.rate},
      {"burst", config.burst},
      {"concurrency", config.concurrency},
      {"failover", config.failover},
      {"calls_per_s", rate != rates.end() ? rate->calls_per_s : 0.0},
      {"tokens", p.tokens},
      {"in_flight", p.in_flight},
      {"queued", p.queued},
      {"calls", p.calls},
      {"succeeded", p.succeeded},
      {"failed", p.failed},
      {"retries", p.retries},
      {"unknown", p.unknown},
      {"expired", p.expired},
      {"failed_over", p.failed_over},
      {"shares",
       {{"success", or_null(share(p.succeeded, outcomes))},
        {"transient", or_null(share(p.retries, outcomes))},
        {"unknown", or_null(share(p.unknown, outcomes))},
        {"failed", or_null(share(p.failed, outcomes))}}},
      {"breaker", p.breaker.empty() ? std::string{"-"} : p.breaker},
      {"served", counted != stats.totals.providers.end()},
    });
  }
  return {{"providers", std::move(rows)}};
}

json cluster_json(bool clustered, const std::string& node, const std::vector<member_info>& members) {
  auto list = json::array();
  std::map<std::string, json> leases;  // by provider, so the table reads in a stable order
  for (const auto& m : members) {
    list.push_back({{"node", m.node},
                    {"address", m.address},
                    {"live", m.live},
                    {"heartbeat_age_ms", m.heartbeat_age_ms},
                    {"providers", m.providers}});
    for (size_t i = 0; i < m.providers.size() && i < m.epochs.size(); ++i)
      leases[m.providers[i]] = {{"provider", m.providers[i]}, {"holder", m.node},
                                {"epoch", m.epochs[i]}, {"holder_live", m.live}};
  }
  auto lease_rows = json::array();
  for (auto& [provider, row] : leases)
    lease_rows.push_back(std::move(row));
  return {{"clustered", clustered}, {"node", node}, {"members", std::move(list)},
          {"leases", std::move(lease_rows)}};
}

} // namespace topup::console_api
