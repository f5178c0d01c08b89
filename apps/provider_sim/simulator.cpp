#include "apps/provider_sim/simulator.hpp"

#include "domain/civil_time.hpp"
#include "domain/statement.hpp"
#include "providers/http_wire.hpp"

#include <nlohmann/json.hpp>

#include <charconv>
#include <limits>
#include <optional>
#include <string_view>

namespace topup::provider_sim {
namespace {

using nlohmann::json;

sim_action fixed_answer(unsigned status, std::string body, nanoseconds delay = nanoseconds{0}) {
  sim_action action;
  action.status = status;
  action.body = std::move(body);
  action.delay = delay;
  return action;
}

sim_action refusal(unsigned status, const std::string& message) {
  return fixed_answer(status, error_body(message));
}

sim_action of_kind(sim_action::kind what) {
  sim_action action;
  action.what = what;
  return action;
}

sim_action wrong_method(const sim_request& request, const char* allowed) {
  return refusal(405, request.method + " is not allowed here; use " + allowed);
}

/// The value of query parameter `name` ("detail" in "detail=1&x=2"), %XX sequences
/// decoded; nothing when absent or badly encoded. A '+' stays a '+': times are written
/// "2026-12-05T00:00:00+08:00" by hand, not form-encoded.
std::optional<std::string> query_parameter(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    auto amp = query.find('&');
    auto pair = query.substr(0, amp);
    auto equals = pair.find('=');
    if (pair.substr(0, equals) == name) {
      auto encoded = equals == std::string_view::npos ? std::string_view{}
                                                      : pair.substr(equals + 1);
      std::string value;
      for (size_t i = 0; i < encoded.size(); ++i) {
        if (encoded[i] != '%') {
          value += encoded[i];
          continue;
        }
        unsigned byte = 0;
        auto hex = encoded.substr(i + 1, 2);
        auto [end, ec] = std::from_chars(hex.data(), hex.data() + hex.size(), byte, 16);
        if (hex.size() != 2 || ec != std::errc{} || end != hex.data() + 2)
          return std::nullopt;
        value += static_cast<char>(byte);
        i += 2;
      }
      return value;
    }
    if (amp == std::string_view::npos)
      break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

/// A statement's bound: milliseconds since the epoch, or an RFC 3339 time with its zone.
std::optional<int64_t> statement_time(const std::string& text) {
  if (!text.empty() && text.find_first_not_of("0123456789") == std::string::npos
      && text.size() <= 18)
    return std::stoll(text);
  auto read = read_iso_time(text);
  const auto* at = std::get_if<iso_time>(&read);
  if (!at || !at->utc_offset_minutes)
    return std::nullopt;
  return epoch_ms_at_offset(at->fields, *at->utc_offset_minutes);
}

} // namespace

std::string error_body(const std::string& message) {
  return json{{"error", message}}.dump();
}

std::string statement_csv(const std::vector<ledger_record>& rows) {
  std::string csv = statement_header() + "\r\n";
  for (const auto& row : rows)
    csv += statement_line({0, row.request_id, row.order_id, row.phone, row.amount_fen,
                           statement_status::success, row.provider_txn, row.at_ms})
           + "\r\n";
  return csv;
}

simulator::simulator(std::vector<sim_provider> providers, std::shared_ptr<const clock> time,
                     const std::vector<ledger_record>& performed)
  : time_(std::move(time)), started_(time_->now()) {
  providers_.reserve(providers.size());
  for (auto& provider : providers) {
    outcome_model model{provider.model};
    providers_.push_back(
      {std::move(provider), std::move(model), false, {}, rate_window{}, {}, {}});
  }
  // Transaction ids stay unique in the file across restarts.
  last_txn_ = performed.size();
  for (const auto& row : performed) {
    auto provider = find(row.provider);
    if (!provider)
      continue;  // a provider this run does not play: counted in the ledger totals only
    auto& entry = provider->performed[row.request_id];
    if (entry.rows++ == 0)
      entry.txn = row.provider_txn;
    provider->counters.recharges++;
  }
}

simulator::provider_state* simulator::find(const std::string& name) {
  for (auto& provider : providers_)
    if (provider.config.name == name)
      return &provider;
  return nullptr;
}

sim_action simulator::handle(const sim_request& request) {
  std::string_view target = request.target;
  auto question = target.find('?');
  auto path = target.substr(0, question);
  auto query = question == std::string_view::npos ? std::string_view{} : target.substr(question + 1);
  if (path == "/health")
    return request.method == "GET" ? fixed_answer(200, json{{"status", "ok"}}.dump())
                                   : wrong_method(request, "GET");
  if (path == "/ledger") {
    if (request.method != "GET")
      return wrong_method(request, "GET");
    auto action = of_kind(sim_action::kind::summary);
    action.detail = query_parameter(query, "detail") == std::optional<std::string>{"1"};
    return action;
  }
  if (path == "/statement")
    return request.method == "GET" ? statement_request(query) : wrong_method(request, "GET");
  if (path == "/admin/outage")
    return request.method == "POST" ? admin_outage(request) : wrong_method(request, "POST");
  // /<provider>/recharge or /<provider>/query
  auto slash = path.size() > 1 ? path.find('/', 1) : std::string_view::npos;
  if (slash == std::string_view::npos)
    return refusal(404, "no such path: " + std::string{path});
  std::string name{path.substr(1, slash - 1)};
  auto operation = path.substr(slash);
  for (size_t i = 0; i < providers_.size(); ++i) {
    if (providers_[i].config.name != name)
      continue;
    bool recharge = operation == http_wire::recharge_path;
    if (!recharge && operation != http_wire::query_path)
      return refusal(404, "no such path: " + std::string{path});
    if (request.method != "POST")
      return wrong_method(request, "POST");
    return call(i, recharge, request);
  }
  return refusal(404, "no provider named '" + name + "'");
}

sim_action simulator::call(size_t index, bool recharge, const sim_request& request) {
  auto& provider = providers_[index];
  auto& counters = provider.counters;
  auto now = time_->now();
  (recharge ? counters.calls : counters.queries)++;
  provider.window.record(now);
  // A provider that is down does not get as far as reading the request.
  if (provider.down || provider.model.in_outage(now, started_)) {
    counters.refused_outage++;
    return of_kind(sim_action::kind::reset);
  }
  if (request.timestamp.empty() || request.signature.empty()) {
    counters.refused_auth++;
    return refusal(401, "missing " + std::string{http_wire::timestamp_header} + " or "
                          + std::string{http_wire::signature_header} + " header");
  }
  if (!http_wire::verify(provider.config.secret, request.timestamp, request.body,
                         request.signature)) {
    counters.refused_auth++;
    return refusal(401, "bad signature");
  }
  if (!http_wire::timestamp_fresh(request.timestamp, time_->wall_ms())) {
    counters.refused_auth++;
    return refusal(401, "timestamp is not within "
                          + std::to_string(http_wire::signature_max_skew.count())
                          + " ms of the provider's clock");
  }
  sim_action action;
  action.provider = index;
  if (!recharge) {
    try {
      auto query = http_wire::parse_query_request(request.body);
      action.request_id = std::move(query.request_id);
      attribute(provider, query.origin, false);
    } catch (const http_wire::wire_error& error) {
      counters.malformed++;
      return refusal(400, error.what());
    }
    auto decision = provider.model.decide_query(now, started_);
    if (decision.outage)
      return of_kind(sim_action::kind::reset);
    action.source = sim_action::body_source::query;
    action.delay = decision.latency;
    return action;
  }
  recharge_call parsed;
  try {
    parsed = http_wire::parse_recharge_request(request.body);
  } catch (const http_wire::wire_error& error) {
    counters.malformed++;
    return refusal(400, error.what());
  }
  attribute(provider, parsed.origin, true);
  auto decision = provider.model.decide_recharge(now, started_, parsed.phone);
  if (decision.outage)
    return of_kind(sim_action::kind::reset);
  action.request_id = parsed.request_id;
  action.delay = decision.latency;
  // Real providers deduplicate by request id: a repeated call is not recharged again, it
  // is told the first call's transaction.
  if (auto done = provider.performed.find(parsed.request_id); done != provider.performed.end()) {
    counters.deduplicated++;
    action.source = sim_action::body_source::recharge;
    action.txn = done->second.txn;
    return action;
  }
  switch (decision.outcome) {
    case simulated_outcome::success:
      action.txn = provider.config.name + "-" + std::to_string(++last_txn_);
      perform(provider, parsed, action.txn);
      action.source = sim_action::body_source::recharge;
      return action;
    case simulated_outcome::transient_failure:
    case simulated_outcome::permanent_failure: {
      counters.answered_failed++;
      bool retryable = decision.outcome == simulated_outcome::transient_failure;
      action.body = http_wire::recharge_response_body(
        {retryable ? recharge_outcome::transient_failure : recharge_outcome::permanent_failure,
         std::string{},
         retryable ? "simulated transient failure" : "simulated permanent failure"});
      return action;
    }
    case simulated_outcome::wrong_carrier:
      counters.answered_wrong_carrier++;
      action.body = http_wire::recharge_response_body(
        {recharge_outcome::wrong_carrier, std::string{}, simulated_wrong_carrier});
      return action;
    case simulated_outcome::unknown:
      counters.unanswered++;
      if (decision.performed) {
        counters.unknown_performed++;
        perform(provider, parsed, provider.config.name + "-" + std::to_string(++last_txn_));
      }
      return of_kind(sim_action::kind::hold);
  }
  return refusal(500, "unhandled outcome");
}

void simulator::attribute(provider_state& provider, const call_origin& origin, bool recharge) {
  auto& caller = provider.callers[{origin.node, origin.epoch}];
  auto now_ms = time_->wall_ms();
  if (caller.calls + caller.queries == 0)
    caller.first_at_ms = now_ms;
  caller.last_at_ms = now_ms;
  (recharge ? caller.calls : caller.queries)++;
}

void simulator::perform(provider_state& provider, const recharge_call& call,
                        const std::string& txn) {
  provider.performed[call.request_id] = {txn, 1};
  provider.counters.recharges++;
  unwritten_.push_back({call.request_id, call.order_id, provider.config.name, txn,
                        time_->wall_ms(), call.amount_fen, mask_phone(call.phone),
                        call.origin.node, call.origin.epoch});
}

sim_action simulator::statement_request(std::string_view query) {
  auto provider = query_parameter(query, "provider");
  if (!provider || provider->empty())
    return refusal(400, "a statement is per provider: GET /statement?provider=NAME"
                        "[&from=T1][&to=T2]");
  if (!find(*provider))
    return refusal(404, "no provider named '" + *provider + "'");
  auto action = of_kind(sim_action::kind::statement);
  action.statement_provider = *provider;
  action.from_ms = std::numeric_limits<int64_t>::min();
  action.to_ms = std::numeric_limits<int64_t>::max();
  for (auto [name, bound] : {std::pair{"from", &action.from_ms}, std::pair{"to", &action.to_ms}}) {
    auto text = query_parameter(query, name);
    if (!text)
      continue;
    auto at = statement_time(*text);
    if (!at)
      return refusal(400, std::string{name} + "=" + *text
                            + ": expected milliseconds since the epoch or an RFC 3339 time"
                              " with its zone (2026-12-05T00:00:00Z, %2B08:00 for +08:00)");
    *bound = *at;
  }
  return action;
}

sim_action simulator::admin_outage(const sim_request& request) {
  auto body = json::parse(request.body, nullptr, false);
  if (body.is_discarded() || !body.is_object() || !body.contains("provider")
      || !body["provider"].is_string() || !body.contains("down") || !body["down"].is_boolean()
      || body.size() != 2)
    return refusal(400, R"(expected {"provider": "<name>", "down": true|false})");
  auto name = body["provider"].get<std::string>();
  auto down = body["down"].get<bool>();
  if (!set_down(name, down))
    return refusal(404, "no provider named '" + name + "'");
  return fixed_answer(200, json{{"provider", name}, {"down", down}}.dump());
}

bool simulator::set_down(const std::string& name, bool down) {
  auto provider = find(name);
  if (!provider)
    return false;
  provider->down = down;
  return true;
}

std::string simulator::render(const sim_action& action) const {
  if (action.source == sim_action::body_source::fixed)
    return action.body;
  const auto& performed = providers_.at(action.provider).performed;
  auto done = performed.find(action.request_id);
  if (action.source == sim_action::body_source::query) {
    if (done == performed.end())
      return http_wire::query_response_body({query_outcome::not_recharged, {}, {}});
    return http_wire::query_response_body({query_outcome::recharged, done->second.txn, {}});
  }
  if (done == performed.end() || done->second.txn != action.txn)
    return http_wire::recharge_response_body(
      {recharge_outcome::transient_failure, {}, "provider ledger write failed"});
  return http_wire::recharge_response_body({recharge_outcome::success, action.txn, {}});
}

std::vector<ledger_record> simulator::take_unwritten() {
  std::vector<ledger_record> rows;
  rows.swap(unwritten_);
  return rows;
}

void simulator::unwritten_lost(const std::vector<ledger_record>& rows) {
  for (const auto& row : rows) {
    auto provider = find(row.provider);
    if (!provider)
      continue;
    auto done = provider->performed.find(row.request_id);
    if (done != provider->performed.end() && done->second.txn == row.provider_txn) {
      provider->performed.erase(done);
      provider->counters.recharges--;
    }
  }
}

nlohmann::json simulator::summary(const recharge_counts& per_order, bool detail) const {
  uint64_t total = 0;
  for (const auto& entry : per_order)
    total += entry.second;
  json providers = json::object();
  for (const auto& provider : providers_) {
    const auto& c = provider.counters;
    json entry{{"calls", c.calls},
               {"queries", c.queries},
               {"recharges", c.recharges},
               {"deduplicated", c.deduplicated},
               {"refused_outage", c.refused_outage},
               {"refused_auth", c.refused_auth},
               {"malformed", c.malformed},
               {"answered_failed", c.answered_failed},
               {"answered_wrong_carrier", c.answered_wrong_carrier},
               {"unanswered", c.unanswered},
               {"unknown_performed", c.unknown_performed},
               {"max_calls_in_1s_window", provider.window.max()},
               {"down", provider.down || provider.model.in_outage(time_->now(), started_)}};
    json callers = json::array();
    for (const auto& [key, caller] : provider.callers)
      callers.push_back({{"node", key.first},
                         {"epoch", key.second},
                         {"calls", caller.calls},
                         {"queries", caller.queries},
                         {"first_at_ms", caller.first_at_ms},
                         {"last_at_ms", caller.last_at_ms}});
    entry["callers"] = std::move(callers);
    if (detail) {
      json by_request = json::object();
      for (const auto& [request_id, done] : provider.performed)
        by_request[request_id] = done.rows;
      entry["recharges_by_request"] = std::move(by_request);
    }
    providers[provider.config.name] = std::move(entry);
  }
  return json{{"total_recharges", total},
              {"orders", per_order.size()},
              {"duplicates", count_duplicates(per_order)},
              {"providers", std::move(providers)}};
}

} // namespace topup::provider_sim
