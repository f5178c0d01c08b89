#pragma once

// What topup-cli prints on stdout: human-readable lines and tables (phone numbers masked),
// or with --json one JSON object per line carrying every field (phones in full: scripts need
// them). Pure functions from values to text, so tests pin the exact output.
//
// Whatever a node sends, the output is text: a JSON line is always valid JSON (bytes that
// are not UTF-8 become U+FFFD), and human output shows references, reasons and errors with
// such bytes and control characters replaced by U+FFFD (text::printable).

#include "apps/cli/arguments.hpp"
#include "apps/cli/exit_codes.hpp"
#include "apps/cli/submission.hpp"
#include "messages/protocol.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace topup::cli {

struct output_style {
  bool json = false;
  time_zone zone = time_zone::local;
};

/// One line of --json output. Whatever a node sends, the line is valid JSON: bytes that are
/// not UTF-8 (a reference stored before intake refused them) become U+FFFD instead of
/// making dump() throw.
std::string json_line(const nlohmann::ordered_json& value);

/// Text from the node as human output shows it: never bytes that are not UTF-8 and never a
/// control character (an escape sequence in a reference must not drive the terminal).
std::string shown(std::string_view text);

/// "12:03:04" of a time in milliseconds since the epoch.
std::string format_clock(int64_t epoch_ms, time_zone zone);

/// "12:03:04.250".
std::string format_clock_ms(int64_t epoch_ms, time_zone zone);

/// "2024-05-01 12:03:04".
std::string format_date_time(int64_t epoch_ms, time_zone zone);


// The JSON objects of --json output. Keys keep the order of the struct they come from
// (ordered_json), so a line reads like the struct; every field is included.
nlohmann::ordered_json to_json(const order& x);
/// {"event":"succeed","order":{...}}
nlohmann::ordered_json to_json(const order_update& x);
/// {"node":..,"protocol":..,"restarts":..,
///  "since_start":{"started_at_ms":..,"intake":{..},"store":{..},"providers":[..]},
///  "store_wide":{"orders":{"accepted":3,...}}}: the node's counters since it started, and
/// the whole store's order counts (every node, every run). started_at_ms only when known.
nlohmann::ordered_json to_json(const node_stats& x);
/// {"node":"node-3","address":"127.0.0.1:4253","reason":"no answer within 3 s"}
nlohmann::ordered_json to_json(const unreachable_node& x);
/// True for the stats of one node alone (a single node, or a cluster of one): shown exactly
/// as a node's.
bool is_single_node(const cluster_stats& x);
/// One node alone: its object. A cluster: the same keys carrying the totals ("node" and
/// "protocol" those of the node asked; no started_at_ms), then "nodes" (each node's object,
/// without "store_wide") and "unreachable".
nlohmann::ordered_json to_json(const cluster_stats& x);
/// {"outcome":"accepted","line":7,"client_ref":"R","order":{...}}, or instead of "order" the
/// "error" of a rejected, unknown or not_sent order; "line" only for orders from a file.
nlohmann::ordered_json to_json(const submission& x);
/// {"error":{"code":"not_found","message":"not_found: ..."}}
nlohmann::ordered_json to_json(const failure_report& x);

/// One order on one line: "o-1 ref=R 138****0000 cmcc 1000 fen succeeded attempts=1
/// provider=p-cmcc accepted 2024-05-01 12:00:00 deadline 12:03:00", then the last error.
std::string describe_order(const order& x, time_zone zone);

/// A submission: "accepted o-1 ref=R 138****0000 1000 fen deadline 12:03:04", "rejected
/// line 7 ref=R 138****0000 1000 fen: invalid_phone: ...", or its JSON object.
std::string render(const submission& x, const output_style& style);

/// An order (status, cancel): describe_order, or its JSON object.
std::string render(const order& x, const output_style& style);

/// {"at_ms":..,"event":"succeed","status":"succeeded","provider":..,"attempt":1,
///  "request_id":..,"node":..,"epoch":..,"via":"call","latency_us":46812,"provider_txn":..,
///  "detail":..}: every field, empty ones too (latency_us -1: not measured).
nlohmann::ordered_json to_json(const history_entry& x);
/// {"order":{...},"history":[{...},...]}
nlohmann::ordered_json to_json(const order_history& x);

/// `status --history`: describe_order, then a table of the story (TIME, EVENT, STATUS,
/// PROVIDER, ATTEMPT, LATENCY_MS, DETAIL; phone numbers masked in details); or its JSON
/// object on one line.
std::string render(const order_history& x, const output_style& style);

/// A watched change: "12:00:01.234 succeed  o-1 ref=R ...", or {"event":..,"order":{..}}.
std::string render(const order_update& x, const output_style& style);

/// `list`: a table with a header, "no orders match" when empty; or one JSON object per order
/// (nothing when empty). Ends with a newline unless empty.
std::string render(const std::vector<order>& orders, const output_style& style);

/// `stats` of one node: a few summary lines and a table of providers; or one JSON object.
std::string render(const node_stats& x, const output_style& style);

/// `stats`: one node alone as above. A cluster: the same summary lines with the totals, a
/// table of the nodes, a line per unreachable node, and the providers with the node serving
/// each; or one JSON object.
std::string render(const cluster_stats& x, const output_style& style);

/// {"node":"node-1","address":"127.0.0.1:4251","live":true,"heartbeat_age_ms":120,
///  "providers":["p-cmcc"]}
nlohmann::ordered_json to_json(const member_info& x);

/// `members`: a table (NODE, ADDRESS, STATE, HEARTBEAT_AGE_MS, PROVIDERS) and a summary
/// line; or one JSON object per member.
std::string render(const std::vector<member_info>& members, const output_style& style);

/// {"delivery_id":..,"order_id":..,"merchant":..,"url":..,"state":"delivered","attempts":2,
///  "due_at_ms":..,"next_attempt_at_ms":..,"last_http_status":200,"last_error":"",
///  "updated_at_ms":..}
nlohmann::ordered_json to_json(const callback_record& x);

/// `deliveries`: a table (DELIVERY_ID, STATE, ATTEMPTS, LAST_HTTP, LAST_ERROR, NEXT_TRY,
/// URL), "no result callbacks" when empty; or one JSON object per delivery.
std::string render(const std::vector<callback_record>& deliveries, const output_style& style);

/// `redeliver`: "callback D (state, N attempts so far) due again at 12:00:01", or its JSON
/// object.
std::string render(const callback_record& x, const output_style& style);

/// A failed command: its message, or its JSON object.
std::string render(const failure_report& x, const output_style& style);

/// A plain text table: columns separated by two spaces, numeric columns (whole or decimal
/// numbers) right-aligned, no trailing blanks.
class text_table {
public:
  explicit text_table(std::vector<std::string> headers);
  void add_row(std::vector<std::string> cells);
  std::string render(std::string_view indent = {}) const;

private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

} // namespace topup::cli
