#include "apps/cli/reconcile.hpp"

#include "apps/cli/output.hpp"
#include "domain/civil_time.hpp"
#include "domain/csv.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <ctime>
#include <fstream>

namespace topup::cli {
namespace {

constexpr const char* reconcile_description =
  "Compare the engine's attempts at one provider over a period with that provider's "
  "statement (对账): every disagreement is listed (recharged there but failed or unknown "
  "here, succeeded here but absent or failed there, amounts or transactions that differ, a "
  "request recharged twice, rows for orders the engine does not have), with totals per "
  "provider and day. The node first queries the provider's unknown outcomes. Exit 0 when "
  "all agree, 6 when any disagreement is found.";

std::optional<report_format> format_named(std::string_view name) {
  if (name == "table")
    return report_format::table;
  if (name == "csv")
    return report_format::csv;
  if (name == "csv-totals")
    return report_format::csv_totals;
  if (name == "json")
    return report_format::json;
  return std::nullopt;
}

/// Minutes east of UTC of the local zone at `at_ms` (daylight saving as it is then).
int local_utc_offset_minutes(int64_t at_ms) {
  auto seconds = static_cast<std::time_t>(at_ms / 1000);
  std::tm tm{};
  localtime_r(&seconds, &tm);
  return static_cast<int>(tm.tm_gmtoff / 60);
}

std::string period_text(const reconcile_period& period) {
  auto at = [&](int64_t ms) {
    auto t = civil_at_offset(ms, period.utc_offset_minutes);
    return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02}", t.year, t.month, t.day, t.hour,
                       t.minute, t.second);
  };
  return at(period.from_ms) + " .. " + at(period.to_ms) + " ("
         + format_utc_offset(period.utc_offset_minutes) + ")";
}

std::string kinds_summary(const reconciliation& result) {
  std::string text;
  for (auto kind : all_discrepancy_kinds)
    if (auto n = result.count(kind))
      text += fmt::format("{}{} {}", text.empty() ? "" : ", ", n, to_string(kind));
  return text;
}

std::string settle_line(const reconcile_job& job) {
  if (const auto& report = job.settled_report()) {
    auto text = fmt::format("settled: node {} queried {} unknown outcomes and waited for {} "
                            "calls in flight: {} settled",
                            shown(report->node), report->unknown, report->in_flight,
                            report->settled);
    if (!report->unsettled.empty())
      text += fmt::format(", {} still unsettled after {} ms", report->unsettled.size(),
                          report->waited_ms);
    return text;
  }
  return "settled: no (" + shown(job.settle_failure()) + ")";
}

std::vector<std::string> discrepancy_cells(const discrepancy& d, const std::string& provider) {
  return {std::string{to_string(d.kind)}, d.day, provider, d.request_id, d.order_id, d.phone,
          d.here, d.there, std::to_string(d.amount_here_fen), std::to_string(d.amount_there_fen),
          d.txn_here, d.txn_there, d.detail};
}

const std::vector<std::string> discrepancy_columns{
  "kind", "day", "provider", "request_id", "order_id", "phone", "here", "there",
  "amount_here_fen", "amount_there_fen", "txn_here", "txn_there", "detail"};

std::vector<std::string> totals_cells(const day_totals& t) {
  return {t.provider, t.day, std::to_string(t.requests), std::to_string(t.succeeded_here),
          std::to_string(t.succeeded_here_fen), std::to_string(t.recharged_there),
          std::to_string(t.recharged_there_fen), std::to_string(t.agreed),
          std::to_string(t.agreed_fen), std::to_string(t.disagreeing),
          std::to_string(t.disagreeing_fen)};
}

const std::vector<std::string> totals_columns{
  "provider", "day", "requests", "succeeded_here", "succeeded_here_fen", "recharged_there",
  "recharged_there_fen", "agreed", "agreed_fen", "disagreeing", "disagreeing_fen"};

std::string upper(std::string text) {
  for (auto& c : text)
    if (c >= 'a' && c <= 'z')
      c = static_cast<char>(c - 'a' + 'A');
  return text;
}

std::string csv_of(const std::vector<std::string>& header,
                   const std::vector<std::vector<std::string>>& rows) {
  auto text = csv_line(header) + "\n";
  for (const auto& row : rows)
    text += csv_line(row) + "\n";
  return text;
}

std::string render_table(const reconcile_job& job, const reconciliation& result) {
  const auto& options = job.options();
  auto text = fmt::format("reconcile {} {}, statement {} ({} rows)\n", shown(result.provider),
                          period_text(result.period), shown(options.statement_path),
                          job.statement_rows());
  text += settle_line(job) + "\n";
  text += fmt::format("read {} attempts in {} pages; compared {} requests ({} known here, {} "
                      "statement rows)\n",
                      job.attempts_read(), job.pages_read(), result.requests,
                      result.engine_requests, result.statement_rows);
  if (!result.discrepancies.empty()) {
    text_table table{{"KIND", "DAY", "REQUEST_ID", "ORDER_ID", "PHONE", "HERE", "THERE",
                      "AMOUNT_HERE", "AMOUNT_THERE", "DETAIL"}};
    for (const auto& d : result.discrepancies)
      table.add_row({std::string{to_string(d.kind)}, d.day, shown(d.request_id),
                     shown(d.order_id), shown(d.phone), d.here, d.there,
                     std::to_string(d.amount_here_fen), std::to_string(d.amount_there_fen),
                     shown(d.detail)});
    text += "\n" + table.render();
  }
  if (!result.days.empty()) {
    std::vector<std::string> headers;
    for (const auto& column : totals_columns)
      headers.push_back(upper(column));
    text_table totals{headers};
    for (const auto& day : result.days) {
      auto cells = totals_cells(day);
      cells[0] = shown(cells[0]);
      totals.add_row(std::move(cells));
    }
    text += "\n" + totals.render();
  }
  text += "\n";
  if (result.agrees())
    text += fmt::format("all {} requests agree\n", result.requests);
  else
    text += fmt::format("{} disagreements ({})\n", result.discrepancies.size(),
                        kinds_summary(result));
  return text;
}

nlohmann::ordered_json json_of(const reconcile_job& job, const reconciliation& result) {
  const auto& options = job.options();
  nlohmann::ordered_json settle;
  if (const auto& report = job.settled_report())
    settle = {{"node", report->node},           {"unknown", report->unknown},
              {"in_flight", report->in_flight}, {"settled", report->settled},
              {"unsettled", report->unsettled}, {"waited_ms", report->waited_ms}};
  else
    settle = {{"error", job.settle_failure()}};
  nlohmann::ordered_json by_kind = nlohmann::ordered_json::object();
  for (auto kind : all_discrepancy_kinds)
    if (auto n = result.count(kind))
      by_kind[std::string{to_string(kind)}] = n;
  auto discrepancies = nlohmann::ordered_json::array();
  for (const auto& d : result.discrepancies) {
    nlohmann::ordered_json object;
    auto cells = discrepancy_cells(d, result.provider);
    for (size_t i = 0; i < discrepancy_columns.size(); ++i)
      object[discrepancy_columns[i]] = cells[i];
    object["amount_here_fen"] = d.amount_here_fen;
    object["amount_there_fen"] = d.amount_there_fen;
    discrepancies.push_back(std::move(object));
  }
  auto totals = nlohmann::ordered_json::array();
  for (const auto& t : result.days)
    totals.push_back({{"provider", t.provider},
                      {"day", t.day},
                      {"requests", t.requests},
                      {"succeeded_here", t.succeeded_here},
                      {"succeeded_here_fen", t.succeeded_here_fen},
                      {"recharged_there", t.recharged_there},
                      {"recharged_there_fen", t.recharged_there_fen},
                      {"agreed", t.agreed},
                      {"agreed_fen", t.agreed_fen},
                      {"disagreeing", t.disagreeing},
                      {"disagreeing_fen", t.disagreeing_fen}});
  return {{"provider", result.provider},
          {"from_ms", result.period.from_ms},
          {"to_ms", result.period.to_ms},
          {"utc_offset", format_utc_offset(result.period.utc_offset_minutes)},
          {"statement", {{"path", options.statement_path}, {"rows", job.statement_rows()}}},
          {"settle", settle},
          {"attempts_read", job.attempts_read()},
          {"requests", result.requests},
          {"agrees", result.agrees()},
          {"disagreements_by_kind", by_kind},
          {"disagreements", discrepancies},
          {"totals", totals}};
}

} // namespace

CLI::App* add_reconcile_command(CLI::App& app, reconcile_options& options,
                                reconcile_arguments& texts) {
  auto reconcile = app.add_subcommand("reconcile", reconcile_description);
  reconcile->add_option("--provider", options.provider, "The provider to reconcile")
    ->type_name("PROVIDER")
    ->required();
  reconcile->add_option("--from", texts.from,
                        "Start of the period (included): 2026-12-05[THH:MM[:SS]][Z|+08:00] "
                        "(without a zone: at --utc-offset), milliseconds since the epoch, or "
                        "a duration ago (1d)")
    ->type_name("TIME")
    ->required();
  reconcile->add_option("--to", texts.to, "End of the period (excluded), as --from")
    ->type_name("TIME")
    ->required();
  reconcile->add_option("--statement", options.statement_path,
                        "The provider's statement, CSV (see README, Reconciliation); - reads "
                        "stdin. topup-provider-sim serves one at GET /statement")
    ->type_name("FILE")
    ->required();
  reconcile->add_option("--utc-offset", texts.utc_offset,
                        "The offset days are counted at, e.g. +08:00 for a provider that "
                        "settles on Beijing days (default: the local zone's; --utc: +00:00)")
    ->type_name("OFFSET");
  reconcile->add_option("--format", texts.format,
                        "table, csv (the disagreements), csv-totals (per provider and day) or "
                        "json (everything; also --json)")
    ->capture_default_str()
    ->check(CLI::IsMember({"table", "csv", "csv-totals", "json"}));
  reconcile->add_option("--settle-wait", texts.settle_wait,
                        "How long the node may spend querying the provider's unknown outcomes "
                        "first (0: do not)")
    ->capture_default_str()
    ->type_name("DURATION");
  reconcile->add_option("--margin", texts.margin,
                        "Attempts started this long around the period are read too, so that "
                        "a call across its boundary matches its statement row")
    ->capture_default_str()
    ->type_name("DURATION");
  reconcile->add_option("--page", options.page_size, "Attempts per request to the node")
    ->capture_default_str()
    ->check(CLI::Range(1, 10000));
  return reconcile;
}

parsed<int64_t> parse_reconcile_time(std::string_view text, int64_t now_ms,
                                     int utc_offset_minutes) {
  if (text.size() > 4 && text[4] == '-') {
    auto read = read_iso_time(text);
    if (auto why = std::get_if<std::string>(&read))
      return parsed<int64_t>::fail("'" + std::string{text} + "': " + *why);
    const auto& at = std::get<iso_time>(read);
    return parsed<int64_t>::ok(
      epoch_ms_at_offset(at.fields, at.utc_offset_minutes.value_or(utc_offset_minutes)));
  }
  return parse_time_point(text, now_ms, time_zone::utc);
}

std::optional<std::string> finish_reconcile_options(reconcile_options& options,
                                                    const reconcile_arguments& texts,
                                                    int64_t now_ms, bool utc, bool json) {
  if (!texts.utc_offset.empty()) {
    auto offset = parse_utc_offset(texts.utc_offset);
    if (!offset)
      return "--utc-offset '" + texts.utc_offset
             + "': expected an offset such as +08:00, -05:30 or Z (at most 14 hours)";
    options.utc_offset_minutes = *offset;
  } else {
    options.utc_offset_minutes = utc ? 0 : local_utc_offset_minutes(now_ms);
  }
  auto from = parse_reconcile_time(texts.from, now_ms, options.utc_offset_minutes);
  if (!from)
    return "--from " + from.error;
  auto to = parse_reconcile_time(texts.to, now_ms, options.utc_offset_minutes);
  if (!to)
    return "--to " + to.error;
  options.from_ms = *from.value;
  options.to_ms = *to.value;
  if (options.to_ms <= options.from_ms)
    return std::string{"--to must be after --from: the period [from, to) is empty"};
  auto format = format_named(texts.format);
  if (json && texts.format != "table" && texts.format != "json")
    return "--json and --format " + texts.format + " ask for two outputs: give one";
  options.format = json ? report_format::json : *format;
  auto wait = parse_duration(texts.settle_wait);
  if (!wait)
    return "--settle-wait " + wait.error;
  options.settle_wait = *wait.value;
  auto margin = parse_duration(texts.margin);
  if (!margin)
    return "--margin " + margin.error;
  options.margin = *margin.value;
  if (options.statement_path != "-" && !std::ifstream{options.statement_path}.good())
    return "--statement " + options.statement_path + ": cannot read the file";
  return std::nullopt;
}

reconcile_job::reconcile_job(reconcile_options options, std::vector<statement_row> statement)
  : options_(std::move(options)), statement_(std::move(statement)) {}

settle_request reconcile_job::settle() const {
  return {options_.provider, options_.settle_wait.count()};
}

void reconcile_job::settled(settle_report report) {
  settled_ = std::move(report);
}

void reconcile_job::settle_failed(std::string why) {
  settle_failure_ = std::move(why);
}

attempt_query reconcile_job::first_page() const {
  attempt_query query;
  query.provider = options_.provider;
  query.from_ms = options_.from_ms - options_.margin.count();
  query.to_ms = options_.to_ms + options_.margin.count();
  query.limit = options_.page_size;
  return query;
}

std::optional<attempt_query> reconcile_job::page_arrived(const std::vector<attempt_record>& page) {
  ++pages_;
  for (const auto& attempt : page)
    engine_.add(attempt);
  if (page.size() < options_.page_size) {
    requests_ = engine_.take();
    return std::nullopt;
  }
  auto next = first_page();
  const auto& last = page.back();
  next.after_started_ms = last.started_at_ms;
  next.after_order_id = last.order_id;
  next.after_attempt_no = last.attempt_no;
  return next;
}

std::vector<std::string> reconcile_job::orders_to_look_up() const {
  // Rows dated outside the period only matter when an attempt matches them.
  std::vector<statement_row> in_period;
  for (const auto& row : statement_)
    if (row.at_ms >= options_.from_ms && row.at_ms < options_.to_ms)
      in_period.push_back(row);
  return unmatched_order_ids(requests_, in_period);
}

void reconcile_job::order_known(const std::string& id) {
  known_orders_.insert(id);
}

reconciliation reconcile_job::compare() {
  return reconcile(options_.provider,
                   {options_.from_ms, options_.to_ms, options_.utc_offset_minutes}, requests_,
                   statement_, known_orders_);
}

exit_code exit_code_of(const reconciliation& result) {
  return result.agrees() ? exit_code::ok : exit_code::disagreements;
}

std::string render(const reconcile_job& job, const reconciliation& result) {
  switch (job.options().format) {
    case report_format::table:
      return render_table(job, result);
    case report_format::csv: {
      std::vector<std::vector<std::string>> rows;
      for (const auto& d : result.discrepancies)
        rows.push_back(discrepancy_cells(d, result.provider));
      return csv_of(discrepancy_columns, rows);
    }
    case report_format::csv_totals: {
      std::vector<std::vector<std::string>> rows;
      for (const auto& day : result.days)
        rows.push_back(totals_cells(day));
      return csv_of(totals_columns, rows);
    }
    case report_format::json:
      return json_line(json_of(job, result));
  }
  return {};
}

} // namespace topup::cli
