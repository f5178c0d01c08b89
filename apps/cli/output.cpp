#include "apps/cli/output.hpp"

#include "domain/text.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <ctime>

namespace topup::cli {
namespace {

std::tm broken_down(int64_t epoch_ms, time_zone zone) {
  // Floor division, so times before the epoch do not round towards it.
  auto seconds = static_cast<std::time_t>(epoch_ms / 1000 - (epoch_ms % 1000 < 0 ? 1 : 0));
  std::tm tm{};
  if (zone == time_zone::utc)
    gmtime_r(&seconds, &tm);
  else
    localtime_r(&seconds, &tm);
  return tm;
}

std::string strftime_of(int64_t epoch_ms, time_zone zone, const char* format) {
  auto tm = broken_down(epoch_ms, zone);
  char text[64];
  auto length = std::strftime(text, sizeof text, format, &tm);
  return std::string(text, length);
}

bool is_digits(std::string_view text) {
  return !text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos;
}

/// "12" or "0.8": a cell text_table aligns right.
bool is_number(std::string_view text) {
  auto point = text.find('.');
  if (point == std::string_view::npos)
    return is_digits(text);
  return is_digits(text.substr(0, point)) && is_digits(text.substr(point + 1));
}

std::string with_newline(std::string text) {
  text += '\n';
  return text;
}

/// The intake and store lines of `stats` (a node's counters since it started, or a
/// cluster's totals), indented under their heading.
std::string since_start_lines(const node_stats& x) {
  const auto& in = x.intake;
  auto text = fmt::format("  intake: {} accepted, {} existing, {} rejected, {} overloaded, "
                          "{} unavailable, {} in flight\n",
                          in.accepted, in.existing, in.rejected, in.overloaded, in.unavailable,
                          in.in_flight);
  const auto& st = x.store;
  text += fmt::format("  store: {}, {} commits, {} rows written, {} failed commits, "
                      "{} pending writes\n",
                      st.healthy ? "healthy" : "UNHEALTHY", st.commits, st.rows_written,
                      st.failed_commits, st.pending_writes);
  const auto& cb = x.callbacks;
  text += fmt::format("  callbacks: {} delivered, {} failed attempts (tried again), {} abandoned, "
                      "{} in flight\n",
                      cb.delivered, cb.failed_attempts, cb.abandoned, cb.in_flight);
  return text;
}

/// The store-wide order counts of `stats`, under their heading.
std::string store_wide_lines(const node_stats& x) {
  std::string by_status;
  for (const auto& count : x.orders)
    by_status += fmt::format("{}{} {}", by_status.empty() ? "" : ", ", count.count, count.status);
  return "whole store (every node, every run):\n  orders: "
         + (by_status.empty() ? std::string{"none"} : by_status) + "\n"
         + fmt::format("  callbacks pending: {}\n", x.callbacks.pending);
}

/// The providers table of `stats`; a cluster's names the node serving each.
std::vector<std::string> provider_headers(bool with_node) {
  std::vector<std::string> headers{"PROVIDER", "BREAKER", "CALLS", "QUERIES", "SUCCEEDED",
                                   "FAILED", "EXPIRED", "RETRIES", "UNKNOWN", "FAILED_OVER",
                                   "QUEUED", "IN_FLIGHT", "STORE_LAG_MS"};
  if (with_node)
    headers.insert(headers.begin() + 1, "NODE");
  return headers;
}

std::vector<std::string> provider_row(const provider_stats& p, const std::string* node) {
  std::vector<std::string> cells{p.provider, p.breaker, std::to_string(p.calls),
                                 std::to_string(p.queries), std::to_string(p.succeeded),
                                 std::to_string(p.failed), std::to_string(p.expired),
                                 std::to_string(p.retries), std::to_string(p.unknown),
                                 std::to_string(p.failed_over), std::to_string(p.queued),
                                 std::to_string(p.in_flight),
                                 std::to_string(std::llround(p.store_lag_ms))};
  if (node)
    cells.insert(cells.begin() + 1, *node);
  return cells;
}

/// The reason of a failure as shown next to an order: the phone in it masked.
std::string masked_reason(const failure_report& failure, std::string_view phone) {
  return mask_phone_in(failure.message, phone);
}

} // namespace

std::string json_line(const nlohmann::ordered_json& value) {
  return with_newline(value.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace));
}

std::string shown(std::string_view text) {
  constexpr size_t longest = 1024;
  return text::printable(text, longest);
}

std::string format_clock(int64_t epoch_ms, time_zone zone) {
  return strftime_of(epoch_ms, zone, "%H:%M:%S");
}

std::string format_clock_ms(int64_t epoch_ms, time_zone zone) {
  auto millis = ((epoch_ms % 1000) + 1000) % 1000;
  return format_clock(epoch_ms, zone) + fmt::format(".{:03}", millis);
}

std::string format_date_time(int64_t epoch_ms, time_zone zone) {
  return strftime_of(epoch_ms, zone, "%Y-%m-%d %H:%M:%S");
}

nlohmann::ordered_json to_json(const order& x) {
  return {
    {"id", x.id},
    {"merchant", x.merchant},
    {"client_ref", x.client_ref},
    {"phone", x.phone},
    {"carrier", x.carrier},
    {"amount_fen", x.amount_fen},
    {"provider", x.provider},
    {"status", std::string{to_string(x.status)}},
    {"attempts", x.attempts},
    {"accepted_at_ms", x.accepted_at_ms},
    {"deadline_ms", x.deadline_ms},
    {"updated_at_ms", x.updated_at_ms},
    {"last_error", x.last_error},
    {"wrong_carrier_at", x.wrong_carrier_at},
  };
}

nlohmann::ordered_json to_json(const order_update& x) {
  return {{"event", x.event}, {"order", to_json(x.snapshot)}};
}

nlohmann::ordered_json to_json(const node_stats& x) {
  nlohmann::ordered_json orders = nlohmann::ordered_json::object();
  for (const auto& count : x.orders)
    orders[count.status] = count.count;
  nlohmann::ordered_json providers = nlohmann::ordered_json::array();
  for (const auto& p : x.providers)
    providers.push_back({
      {"provider", p.provider},
      {"breaker", p.breaker},
      {"calls", p.calls},
      {"queries", p.queries},
      {"succeeded", p.succeeded},
      {"failed", p.failed},
      {"expired", p.expired},
      {"retries", p.retries},
      {"unknown", p.unknown},
      {"failed_over", p.failed_over},
      {"queued", p.queued},
      {"in_flight", p.in_flight},
      {"store_lag_ms", std::llround(p.store_lag_ms)},
    });
  nlohmann::ordered_json since_start = nlohmann::ordered_json::object();
  if (x.started_at_ms != 0)
    since_start["started_at_ms"] = x.started_at_ms;
  since_start["intake"] = {
    {"accepted", x.intake.accepted},
    {"existing", x.intake.existing},
    {"rejected", x.intake.rejected},
    {"overloaded", x.intake.overloaded},
    {"unavailable", x.intake.unavailable},
    {"in_flight", x.intake.in_flight},
  };
  since_start["store"] = {
    {"healthy", x.store.healthy},
    {"commits", x.store.commits},
    {"rows_written", x.store.rows_written},
    {"failed_commits", x.store.failed_commits},
    {"pending_writes", x.store.pending_writes},
  };
  since_start["callbacks"] = {
    {"delivered", x.callbacks.delivered},
    {"failed_attempts", x.callbacks.failed_attempts},
    {"abandoned", x.callbacks.abandoned},
    {"in_flight", x.callbacks.in_flight},
  };
  since_start["providers"] = std::move(providers);
  return {
    {"node", x.node},
    {"protocol", x.protocol},
    {"restarts", x.restarts},
    {"since_start", std::move(since_start)},
    {"store_wide", {{"orders", std::move(orders)}, {"callbacks_pending", x.callbacks.pending}}},
  };
}

nlohmann::ordered_json to_json(const unreachable_node& x) {
  return {{"node", x.node}, {"address", x.address}, {"reason", x.reason}};
}

nlohmann::ordered_json to_json(const cluster_stats& x) {
  if (x.nodes.empty())
    return to_json(x.totals);
  if (is_single_node(x))
    return to_json(x.nodes.front());
  auto object = to_json(x.totals);
  object["node"] = x.nodes.front().node;
  object["protocol"] = x.nodes.front().protocol;
  auto nodes = nlohmann::ordered_json::array();
  for (const auto& node : x.nodes) {
    auto counters = to_json(node);
    counters.erase("store_wide");  // the store's, shown once above
    nodes.push_back(std::move(counters));
  }
  object["nodes"] = std::move(nodes);
  auto unreachable = nlohmann::ordered_json::array();
  for (const auto& node : x.unreachable)
    unreachable.push_back(to_json(node));
  object["unreachable"] = std::move(unreachable);
  return object;
}

nlohmann::ordered_json to_json(const submission& x) {
  nlohmann::ordered_json object{{"outcome", std::string{to_string(x.outcome)}}};
  if (x.line > 0)
    object["line"] = x.line;
  object["client_ref"] = x.request.client_ref;
  if (x.outcome == submit_outcome::accepted || x.outcome == submit_outcome::existing)
    object["order"] = to_json(x.stored);
  else
    object.update(to_json(x.failure));
  return object;
}

nlohmann::ordered_json to_json(const failure_report& x) {
  nlohmann::ordered_json error{{"code", x.kind}, {"message", x.message}};
  if (x.retry_after_s > 0)
    error["retry_after_s"] = x.retry_after_s;  // the text says it too ("retry in N s")
  return {{"error", std::move(error)}};
}

std::string describe_order(const order& x, time_zone zone) {
  auto text = fmt::format("{} ref={} {} {} {} fen {} attempts={}", x.id, shown(x.client_ref),
                          mask_phone(x.phone), x.carrier.empty() ? "-" : x.carrier,
                          x.amount_fen, to_string(x.status), x.attempts);
  if (!x.provider.empty())
    text += " provider=" + x.provider;
  text += " accepted " + format_date_time(x.accepted_at_ms, zone);
  text += " deadline " + format_clock(x.deadline_ms, zone);
  if (!x.last_error.empty())
    text += " last_error: " + shown(mask_phone_in(x.last_error, x.phone));
  return text;
}

std::string render(const submission& x, const output_style& style) {
  if (style.json)
    return json_line(to_json(x));
  std::string text{to_string(x.outcome)};
  if (x.outcome == submit_outcome::accepted || x.outcome == submit_outcome::existing) {
    const auto& o = x.stored;
    text += fmt::format(" {} ref={} {} {} fen", o.id, shown(o.client_ref), mask_phone(o.phone),
                        o.amount_fen);
    if (x.outcome == submit_outcome::existing)
      text += fmt::format(" status={}", to_string(o.status));
    text += " deadline " + format_clock(o.deadline_ms, style.zone);
    return with_newline(std::move(text));
  }
  if (x.line > 0)
    text += fmt::format(" line {}", x.line);
  const auto& r = x.request;
  text += fmt::format(" ref={} {} {} fen: {}", shown(r.client_ref), mask_phone(r.phone),
                      r.amount_fen, shown(masked_reason(x.failure, r.phone)));
  return with_newline(std::move(text));
}

std::string render(const order& x, const output_style& style) {
  return style.json ? json_line(to_json(x)) : with_newline(describe_order(x, style.zone));
}

nlohmann::ordered_json to_json(const history_entry& x) {
  return history_entry_json(x);
}

nlohmann::ordered_json to_json(const order_history& x) {
  auto entries = nlohmann::ordered_json::array();
  for (const auto& entry : x.entries)
    entries.push_back(to_json(entry));
  return {{"order", to_json(x.snapshot)}, {"history", std::move(entries)}};
}

std::string render(const order_history& x, const output_style& style) {
  if (style.json)
    return json_line(to_json(x));
  text_table table{{"TIME", "EVENT", "STATUS", "PROVIDER", "ATTEMPT", "LATENCY_MS", "DETAIL"}};
  const auto& phone = x.snapshot.phone;
  for (const auto& e : x.entries) {
    std::vector<std::string> details;
    if (!e.via.empty())
      details.push_back("by " + e.via);
    if (!e.request_id.empty())
      details.push_back("request " + e.request_id);
    if (!e.node.empty())
      details.push_back(fmt::format("node {} epoch {}", e.node, e.epoch));
    if (!e.provider_txn.empty())
      details.push_back("txn " + e.provider_txn);
    if (!e.detail.empty())
      details.push_back(shown(mask_phone_in(e.detail, phone)));
    std::string detail;
    for (const auto& part : details)
      detail += (detail.empty() ? "" : ", ") + part;
    table.add_row({format_clock_ms(e.at_ms, style.zone), e.event, e.status, e.provider,
                   e.attempt_no > 0 ? std::to_string(e.attempt_no) : std::string{},
                   e.latency_us >= 0 ? fmt::format("{:.1f}", e.latency_us / 1000.0)
                                     : std::string{},
                   detail});
  }
  return with_newline(describe_order(x.snapshot, style.zone)) + table.render("  ");
}

std::string render(const order_update& x, const output_style& style) {
  if (style.json)
    return json_line(to_json(x));
  return with_newline(fmt::format("{} {:<12} {}",
                                  format_clock_ms(x.snapshot.updated_at_ms, style.zone), x.event,
                                  describe_order(x.snapshot, style.zone)));
}

std::string render(const std::vector<order>& orders, const output_style& style) {
  std::string text;
  if (style.json) {
    for (const auto& x : orders)
      text += json_line(to_json(x));
    return text;
  }
  if (orders.empty())
    return "no orders match\n";
  text_table table{{"ID", "REF", "PHONE", "CARRIER", "AMOUNT_FEN", "STATUS", "ATTEMPTS",
                    "PROVIDER", "ACCEPTED", "DEADLINE", "LAST_ERROR"}};
  for (const auto& x : orders)
    table.add_row({x.id, shown(x.client_ref), mask_phone(x.phone), x.carrier,
                   std::to_string(x.amount_fen), std::string{to_string(x.status)},
                   std::to_string(x.attempts), x.provider,
                   format_date_time(x.accepted_at_ms, style.zone),
                   format_clock(x.deadline_ms, style.zone),
                   shown(mask_phone_in(x.last_error, x.phone))});
  return table.render();
}

bool is_single_node(const cluster_stats& x) {
  return x.nodes.size() == 1 && x.unreachable.empty();
}

std::string render(const node_stats& x, const output_style& style) {
  if (style.json)
    return json_line(to_json(x));
  auto text = fmt::format("node {} (protocol {}), {} actor restarts\n", x.node, x.protocol,
                          x.restarts);
  text += x.started_at_ms != 0
            ? "since the node started at " + format_date_time(x.started_at_ms, style.zone) + ":\n"
            : std::string{"since the node started:\n"};
  text += since_start_lines(x);
  if (x.providers.empty()) {
    text += "  providers: none\n";
  } else {
    text_table table{provider_headers(false)};
    for (const auto& p : x.providers)
      table.add_row(provider_row(p, nullptr));
    text += "  providers:\n" + table.render("    ");
  }
  return text + store_wide_lines(x);
}

std::string render(const cluster_stats& x, const output_style& style) {
  if (style.json)
    return json_line(to_json(x));
  if (x.nodes.empty())
    return render(x.totals, style);
  if (is_single_node(x))
    return render(x.nodes.front(), style);
  const auto& asked = x.nodes.front();
  auto text = fmt::format("cluster: {} of {} nodes answered, asked {} (protocol {}), {} actor "
                          "restarts\n",
                          x.nodes.size(), x.nodes.size() + x.unreachable.size(), asked.node,
                          asked.protocol, x.totals.restarts);
  text += "since each node started (STARTED below), all nodes together:\n";
  text += since_start_lines(x.totals);
  text += store_wide_lines(x.totals);
  text_table nodes{{"NODE", "STARTED", "RESTARTS", "ACCEPTED", "EXISTING", "REJECTED", "OVERLOADED",
                    "UNAVAILABLE", "IN_FLIGHT", "STORE", "COMMITS", "ROWS_WRITTEN",
                    "FAILED_COMMITS", "PENDING_WRITES"}};
  for (const auto& n : x.nodes)
    nodes.add_row({n.node,
                   n.started_at_ms != 0 ? format_date_time(n.started_at_ms, style.zone) : "-",
                   std::to_string(n.restarts), std::to_string(n.intake.accepted),
                   std::to_string(n.intake.existing), std::to_string(n.intake.rejected),
                   std::to_string(n.intake.overloaded), std::to_string(n.intake.unavailable),
                   std::to_string(n.intake.in_flight), n.store.healthy ? "healthy" : "UNHEALTHY",
                   std::to_string(n.store.commits), std::to_string(n.store.rows_written),
                   std::to_string(n.store.failed_commits),
                   std::to_string(n.store.pending_writes)});
  text += "nodes:\n" + nodes.render("  ");
  for (const auto& n : x.unreachable)
    text += fmt::format("unreachable: {}{}: {}\n", n.node,
                        n.address.empty() ? std::string{} : " at " + n.address, n.reason);
  text_table providers{provider_headers(true)};
  size_t rows = 0;
  for (const auto& n : x.nodes)
    for (const auto& p : n.providers) {
      providers.add_row(provider_row(p, &n.node));
      ++rows;
    }
  if (rows == 0)
    return text + "providers (since each node started): none\n";
  return text + "providers (since each node started):\n" + providers.render("  ");
}

nlohmann::ordered_json to_json(const callback_record& x) {
  return {
    {"delivery_id", x.delivery_id},
    {"order_id", x.order_id},
    {"merchant", x.merchant},
    {"url", x.url},
    {"state", x.state},
    {"attempts", x.attempts},
    {"due_at_ms", x.due_at_ms},
    {"next_attempt_at_ms", x.next_attempt_at_ms},
    {"last_http_status", x.last_http_status},
    {"last_error", x.last_error},
    {"updated_at_ms", x.updated_at_ms},
  };
}

std::string render(const std::vector<callback_record>& deliveries, const output_style& style) {
  std::string text;
  if (style.json) {
    for (const auto& x : deliveries)
      text += json_line(to_json(x));
    return text;
  }
  if (deliveries.empty())
    return "no result callbacks\n";
  text_table table{
    {"DELIVERY_ID", "STATE", "ATTEMPTS", "LAST_HTTP", "LAST_ERROR", "NEXT_TRY", "URL"}};
  for (const auto& x : deliveries)
    table.add_row({x.delivery_id, x.state, std::to_string(x.attempts),
                   x.last_http_status != 0 ? std::to_string(x.last_http_status) : "-",
                   x.last_error.empty() ? "-" : shown(x.last_error),
                   x.state == "pending" ? format_date_time(x.next_attempt_at_ms, style.zone) : "-",
                   x.url});
  return table.render();
}

std::string render(const callback_record& x, const output_style& style) {
  if (style.json)
    return json_line(to_json(x));
  return fmt::format("callback {} ({}, {} attempts so far) due again at {}\n", x.delivery_id,
                     x.state, x.attempts, format_date_time(x.next_attempt_at_ms, style.zone));
}

nlohmann::ordered_json to_json(const member_info& x) {
  return {
    {"node", x.node},
    {"address", x.address},
    {"live", x.live},
    {"heartbeat_age_ms", x.heartbeat_age_ms},
    {"providers", x.providers},
    {"epochs", x.epochs},
  };
}

std::string render(const std::vector<member_info>& members, const output_style& style) {
  if (style.json) {
    std::string text;
    for (const auto& member : members)
      text += json_line(to_json(member));
    return text;
  }
  if (members.empty())
    return "no members\n";
  text_table table{{"NODE", "ADDRESS", "STATE", "HEARTBEAT_AGE_MS", "PROVIDERS"}};
  size_t live = 0;
  for (const auto& member : members) {
    live += member.live ? 1 : 0;
    std::string providers;
    for (const auto& provider : member.providers)
      providers += (providers.empty() ? "" : ",") + provider;
    table.add_row({member.node, member.address, member.live ? "live" : "down",
                   std::to_string(member.heartbeat_age_ms), providers});
  }
  return table.render() + fmt::format("{} of {} members live\n", live, members.size());
}

std::string render(const failure_report& x, const output_style& style) {
  return style.json ? json_line(to_json(x)) : with_newline(shown(x.message));
}

text_table::text_table(std::vector<std::string> headers) : headers_(std::move(headers)) {}

void text_table::add_row(std::vector<std::string> cells) {
  cells.resize(headers_.size());
  rows_.push_back(std::move(cells));
}

std::string text_table::render(std::string_view indent) const {
  auto columns = headers_.size();
  std::vector<size_t> widths(columns);
  // A column is numeric when it has numbers and nothing else (empty cells aside).
  std::vector<bool> numeric(columns);
  for (size_t c = 0; c < columns; ++c) {
    widths[c] = headers_[c].size();
    bool has_number = false, has_text = false;
    for (const auto& row : rows_) {
      widths[c] = std::max(widths[c], row[c].size());
      has_number |= is_number(row[c]);
      has_text |= !row[c].empty() && !is_number(row[c]);
    }
    numeric[c] = has_number && !has_text;
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string text{indent};
    for (size_t c = 0; c < columns; ++c) {
      auto padding = std::string(widths[c] - cells[c].size(), ' ');
      if (c > 0)
        text += "  ";
      text += numeric[c] ? padding + cells[c] : cells[c] + padding;
    }
    text.erase(text.find_last_not_of(' ') + 1);
    return with_newline(std::move(text));
  };
  auto text = line(headers_);
  for (const auto& row : rows_)
    text += line(row);
  return text;
}

} // namespace topup::cli
