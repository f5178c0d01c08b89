// Reconciliation (对账) without I/O: ISO times and UTC offsets, CSV fields, the statement
// reader (every problem with its line number), the folding of attempts into requests, and
// the comparison with planted disagreements of every kind.

#include "domain/civil_time.hpp"
#include "domain/csv.hpp"
#include "domain/reconciliation.hpp"
#include "domain/statement.hpp"

#include <boost/test/unit_test.hpp>

#include <sstream>
#include <variant>

using namespace topup;

namespace {

/// 2026-12-05T00:00:00Z.
constexpr int64_t dec5_utc = 1796428800000;
constexpr int64_t hour_ms = 3600000;

statement read_text(const std::string& text) {
  std::istringstream in{text};
  return read_statement(in);
}

std::string problems_of(const statement& s) {
  std::string text;
  for (const auto& p : s.problems)
    text += std::to_string(p.line) + ": " + p.message + "\n";
  return text;
}

const std::string header = "request_id,order_id,phone,amount_fen,status,provider_txn,time\n";

} // namespace

BOOST_AUTO_TEST_SUITE(civil_times)

BOOST_AUTO_TEST_CASE(iso_times_with_and_without_a_zone) {
  auto read = [](const std::string& text) {
    auto result = read_iso_time(text);
    auto* why = std::get_if<std::string>(&result);
    BOOST_REQUIRE_MESSAGE(!why, text << ": " << (why ? *why : ""));
    return std::get<iso_time>(result);
  };
  auto at = read("2026-12-05T08:00:00.250+08:00");
  BOOST_TEST(at.has_seconds);
  BOOST_TEST(*at.utc_offset_minutes == 480);
  BOOST_TEST(epoch_ms_at_offset(at.fields, 480) == dec5_utc + 250);
  auto plain = read("2026-12-05");
  BOOST_TEST(!plain.has_time_of_day);
  BOOST_TEST(!plain.utc_offset_minutes);
  BOOST_TEST(epoch_ms_at_offset(plain.fields, 0) == dec5_utc);
  BOOST_TEST(*read("2026-12-04T18:30:00-05:30").utc_offset_minutes == -330);
  BOOST_TEST(!read("2026-12-05 10:00").has_seconds);
  for (auto bad : {"2026-13-01", "2026-02-29", "2026-12-05T24:00", "2026-12-05T10:00:00Zx",
                   "2026-12-05T10:00:00+8", "2026-12-05T10:00:00.5Z", "05-12-2026"})
    BOOST_TEST(std::holds_alternative<std::string>(read_iso_time(bad)), bad);
}

BOOST_AUTO_TEST_CASE(days_and_offsets) {
  BOOST_TEST(format_day(dec5_utc, 0) == "2026-12-05");
  BOOST_TEST(format_day(dec5_utc - 1, 0) == "2026-12-04");
  // 16:00Z is midnight in Beijing: the next settlement day there.
  BOOST_TEST(format_day(dec5_utc + 16 * hour_ms - 1, 480) == "2026-12-05");
  BOOST_TEST(format_day(dec5_utc + 16 * hour_ms, 480) == "2026-12-06");
  BOOST_TEST(format_day(-1, 0) == "1969-12-31");
  BOOST_TEST(format_rfc3339_utc(dec5_utc + 250) == "2026-12-05T00:00:00.250Z");
  for (int64_t days : {-800000, -1, 0, 1, 20427, 2932896})
    BOOST_TEST(days_from_civil(civil_from_days(days).year,
                               static_cast<unsigned>(civil_from_days(days).month),
                               static_cast<unsigned>(civil_from_days(days).day))
               == days);
  BOOST_TEST(*parse_utc_offset("+08:00") == 480);
  BOOST_TEST(*parse_utc_offset("+8") == 480);
  BOOST_TEST(*parse_utc_offset("-0530") == -330);
  BOOST_TEST(*parse_utc_offset("Z") == 0);
  for (auto bad : {"8", "+15:00", "+08:60", "+08:0", "UTC+8", ""})
    BOOST_TEST(!parse_utc_offset(bad), bad);
  BOOST_TEST(format_utc_offset(-330) == "-05:30");
  BOOST_TEST(format_utc_offset(480) == "+08:00");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(csv_fields)

BOOST_AUTO_TEST_CASE(fields_round_trip_through_quoting) {
  std::vector<std::string> fields{"plain", "with,comma", "with \"quote\"", " blank", ""};
  auto line = csv_line(fields);
  BOOST_TEST(line == "plain,\"with,comma\",\"with \"\"quote\"\"\",\" blank\",");
  auto split = split_csv_line(line);
  BOOST_REQUIRE(std::holds_alternative<std::vector<std::string>>(split));
  BOOST_TEST((std::get<std::vector<std::string>>(split) == fields));
}

BOOST_AUTO_TEST_CASE(headers_name_known_columns_once) {
  std::vector<std::string_view> names{"a", "b", "c"};
  auto layout = read_csv_header({"c", "a"}, names, {"b"});
  BOOST_REQUIRE(std::holds_alternative<csv_columns>(layout));
  const auto& columns = std::get<csv_columns>(layout);
  BOOST_TEST((columns.of_field == std::vector<size_t>{2, 0}));
  BOOST_TEST(!columns.of_name[1]);
  BOOST_TEST(*columns.of_name[2] == 0u);
  BOOST_TEST(std::get<std::string>(read_csv_header({"a", "b"}, names)) == "missing column 'c'");
  BOOST_TEST(std::get<std::string>(read_csv_header({"a", "b", "c", "d"}, names))
             == "unknown column 'd'");
  BOOST_TEST(std::get<std::string>(read_csv_header({"a", "b", "a"}, names))
             == "column 'a' appears twice");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(statements)

BOOST_AUTO_TEST_CASE(a_statement_reads_in_any_column_order) {
  auto s = read_text("\xEF\xBB\xBF" "time,status,amount_fen,order_id,request_id,provider_txn\r\n"
                     "2026-12-05T08:00:00+08:00,success,1000,o-1,o-1@p,t-1\r\n"
                     "2026-12-05T00:00:01.500Z,failed,5000,o-2,o-2@p,\r\n"
                     "\n");
  BOOST_TEST(s.problems.empty(), problems_of(s));
  BOOST_REQUIRE(s.rows.size() == 2u);
  BOOST_TEST(s.rows[0].line == 2u);
  BOOST_TEST(s.rows[0].request_id == "o-1@p");
  BOOST_TEST(s.rows[0].order_id == "o-1");
  BOOST_TEST(s.rows[0].amount_fen == 1000);
  BOOST_TEST((s.rows[0].status == statement_status::success));
  BOOST_TEST(s.rows[0].provider_txn == "t-1");
  BOOST_TEST(s.rows[0].at_ms == dec5_utc);
  BOOST_TEST(s.rows[0].phone.empty());
  BOOST_TEST((s.rows[1].status == statement_status::failed));
  BOOST_TEST(s.rows[1].at_ms == dec5_utc + 1500);
}

BOOST_AUTO_TEST_CASE(what_topup_writes_it_reads_back) {
  statement_row row{0, "o-1@p-cmcc", "o-1", "138****8000", 1000, statement_status::success,
                    "p-cmcc-7", dec5_utc + 42};
  auto s = read_text(statement_header() + "\n" + statement_line(row) + "\n");
  BOOST_TEST(s.problems.empty(), problems_of(s));
  BOOST_REQUIRE(s.rows.size() == 1u);
  BOOST_TEST(s.rows[0].phone == "138****8000");
  BOOST_TEST(s.rows[0].at_ms == dec5_utc + 42);
  BOOST_TEST(statement_line(row) == "o-1@p-cmcc,o-1,138****8000,1000,success,p-cmcc-7,"
                                    "2026-12-05T00:00:00.042Z");
}

BOOST_AUTO_TEST_CASE(every_bad_row_is_named_by_its_line) {
  auto s = read_text(header +
                     "o-1@p,o-1,,1000,success,t-1,2026-12-05T00:00:00Z\n"     // 2: fine
                     "o-2@p,o-2,,01000,success,t-2,2026-12-05T00:00:00Z\n"    // 3: amount
                     "o-3@p,o-3,,0,success,t-3,2026-12-05T00:00:00Z\n"        // 4: zero
                     "o-4@p,o-4,,1000,ok,t-4,2026-12-05T00:00:00Z\n"          // 5: status
                     "o-5@p,o-5,,1000,success,,2026-12-05T00:00:00Z\n"        // 6: no txn
                     "o-6@p,o-6,,1000,success,t-6,2026-12-05T00:00:00\n"      // 7: no zone
                     "o-7@p,o-7,,1000,success,t-7,2026-12-05T00:00Z\n"        // 8: no secs
                     "o-8@p,o-8,,1000,success,t-8\n"                          // 9: fields
                     ",o-9,,1000,success,t-9,2026-12-05T00:00:00Z\n"          // 10: empty id
                     "o-10@p,\"o-10,,1000,success,t,2026-12-05T00:00:00Z\n"   // 11: quote
                     "\n"                                                     // 12: blank
                     "o-11@p,o-11,,1000,success,t\x01,2026-12-05T00:00:00Z\n" // 13: control
                     "o-12@p,o-12,,1000,success,t-12,2026-12-32T00:00:00Z\n");// 14: date
  BOOST_TEST(s.rows.size() == 1u);
  std::vector<std::pair<size_t, std::string>> expected{
    {3, "amount_fen: "}, {4, "amount_fen: 0 fen"}, {5, "status: 'ok'"},
    {6, "provider_txn: empty"}, {7, "needs a zone"}, {8, "with seconds"},
    {9, "expected 7 fields"}, {10, "request_id: empty"}, {11, "quote"}, {12, "blank line"},
    {13, "control character"}, {14, "no such date"}};
  BOOST_REQUIRE_MESSAGE(s.problems.size() == expected.size(), problems_of(s));
  for (size_t i = 0; i < expected.size(); ++i) {
    BOOST_TEST(s.problems[i].line == expected[i].first, problems_of(s));
    BOOST_TEST(s.problems[i].message.find(expected[i].second) != std::string::npos,
               s.problems[i].message);
  }
}

BOOST_AUTO_TEST_CASE(a_bad_header_stops_the_reading) {
  auto unknown = read_text("request_id,order_id,amount,status,provider_txn,time\n"
                           "o-1@p,o-1,1000,success,t-1,2026-12-05T00:00:00Z\n");
  BOOST_REQUIRE(unknown.problems.size() == 1u);
  BOOST_TEST(unknown.problems[0].line == 1u);
  BOOST_TEST(unknown.problems[0].message.find("unknown column 'amount'") != std::string::npos,
             unknown.problems[0].message);
  auto empty = read_text("");
  BOOST_REQUIRE(empty.problems.size() == 1u);
  BOOST_TEST(empty.problems[0].message.find("empty statement") == 0u);
  auto only_header = read_text(header);
  BOOST_TEST(only_header.problems.empty());
  BOOST_TEST(only_header.rows.empty());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(reconciling)

namespace {

const std::string provider = "p-cmcc";

attempt_record attempt(const std::string& order, int32_t no, const std::string& outcome,
                       order_status status, int64_t started = dec5_utc + hour_ms,
                       const std::string& txn = "") {
  attempt_record a;
  a.order_id = order;
  a.attempt_no = no;
  a.provider = provider;
  a.request_id = order + "@" + provider;
  a.started_at_ms = started;
  a.finished_at_ms = outcome.empty() ? 0 : started + 50;
  a.outcome = outcome;
  a.provider_txn = txn;
  a.status = status;
  a.amount_fen = 1000;
  a.phone = "13800138000";
  return a;
}

statement_row row(const std::string& order, statement_status status, const std::string& txn,
                  int64_t amount = 1000, int64_t at = dec5_utc + hour_ms + 20) {
  return {0, order + "@" + provider, order, "", amount, status, txn, at};
}

std::vector<engine_request> requests_of(const std::vector<attempt_record>& attempts) {
  engine_requests folded;
  for (const auto& a : attempts)
    folded.add(a);
  return folded.take();
}

const reconcile_period dec5{dec5_utc, dec5_utc + 24 * hour_ms, 0};

std::vector<std::string> kinds_of(const reconciliation& r) {
  std::vector<std::string> kinds;
  for (const auto& d : r.discrepancies)
    kinds.push_back(d.request_id + " " + std::string{to_string(d.kind)});
  return kinds;
}

} // namespace

BOOST_AUTO_TEST_CASE(attempts_fold_into_one_request_each) {
  auto requests = requests_of(
    {attempt("o-retried", 2, "succeed", order_status::succeeded, dec5_utc + 2 * hour_ms, "t-9"),
     attempt("o-retried", 1, "fail_retryable", order_status::succeeded),
     attempt("o-lost", 1, "lose_outcome", order_status::unknown),
     attempt("o-flying", 1, "", order_status::dispatched),
     attempt("o-failed", 1, "fail_retryable", order_status::accepted),
     attempt("o-failed", 2, "fail_final", order_status::failed)});
  BOOST_REQUIRE(requests.size() == 4u);
  std::map<std::string, engine_request> by_order;
  for (auto& r : requests)
    by_order[r.order_id] = r;
  BOOST_TEST((by_order["o-retried"].outcome == engine_outcome::succeeded));
  BOOST_TEST(by_order["o-retried"].provider_txn == "t-9");
  BOOST_TEST(by_order["o-retried"].attempts == 2);
  BOOST_TEST(by_order["o-retried"].first_started_ms == dec5_utc + hour_ms);
  BOOST_TEST((by_order["o-lost"].outcome == engine_outcome::unknown));
  BOOST_TEST((by_order["o-flying"].outcome == engine_outcome::in_flight));
  BOOST_TEST((by_order["o-failed"].outcome == engine_outcome::failed));
  BOOST_TEST(by_order["o-failed"].last_outcome == "fail_final");
}

BOOST_AUTO_TEST_CASE(agreeing_sides_give_totals_and_no_disagreement) {
  auto here = requests_of({attempt("o-1", 1, "succeed", order_status::succeeded,
                                   dec5_utc + hour_ms, "t-1"),
                           attempt("o-2", 1, "fail_final", order_status::failed),
                           attempt("o-3", 1, "succeed", order_status::succeeded,
                                   dec5_utc + hour_ms, "t-3")});
  std::vector<statement_row> there{row("o-1", statement_status::success, "t-1"),
                                   row("o-2", statement_status::failed, ""),
                                   row("o-3", statement_status::success, "t-3")};
  auto r = reconcile(provider, dec5, here, there, {});
  BOOST_TEST(r.agrees(), kinds_of(r).size());
  BOOST_TEST(r.requests == 3u);
  BOOST_REQUIRE(r.days.size() == 1u);
  const auto& day = r.days[0];
  BOOST_TEST(day.day == "2026-12-05");
  BOOST_TEST(day.provider == provider);
  BOOST_TEST(day.succeeded_here == 2u);
  BOOST_TEST(day.succeeded_here_fen == 2000);
  BOOST_TEST(day.recharged_there == 2u);
  BOOST_TEST(day.recharged_there_fen == 2000);
  BOOST_TEST(day.agreed == 3u);
  BOOST_TEST(day.agreed_fen == 2000);
  BOOST_TEST(day.disagreeing == 0u);
}

BOOST_AUTO_TEST_CASE(every_kind_of_disagreement_is_found_and_named) {
  auto ok = [](const std::string& order, const std::string& txn) {
    return attempt(order, 1, "succeed", order_status::succeeded, dec5_utc + hour_ms, txn);
  };
  std::vector<attempt_record> attempts{
    attempt("a-lost-money", 1, "fail_final", order_status::failed),
    attempt("b-unknown-recharged", 1, "lose_outcome", order_status::unknown),
    attempt("c-unknown", 1, "lose_outcome", order_status::unknown),
    ok("d-absent", "t-d"),
    ok("e-failed-there", "t-e"),
    ok("f-amount", "t-f"),
    ok("g-txn", "t-g"),
    ok("h-twice", "t-h"),
    ok("i-order", "t-i"),
    ok("j-phone", "t-j"),
    attempt("k-elsewhere", 1, "fail_retryable", order_status::succeeded),
  };
  auto here = requests_of(attempts);
  auto phone_row = row("j-phone", statement_status::success, "t-j");
  phone_row.phone = "139****8000";
  auto other_order = row("i-order", statement_status::success, "t-i");
  other_order.order_id = "i-someone-else";
  std::vector<statement_row> there{
    row("a-lost-money", statement_status::success, "t-a"),
    row("b-unknown-recharged", statement_status::success, "t-b"),
    row("e-failed-there", statement_status::failed, ""),
    row("f-amount", statement_status::success, "t-f", 5000),
    row("g-txn", statement_status::success, "t-other"),
    row("h-twice", statement_status::success, "t-h"),
    row("h-twice", statement_status::success, "t-h2"),
    other_order,
    phone_row,
    row("k-elsewhere", statement_status::success, "t-k"),
    row("l-not-sent", statement_status::success, "t-l"),
    row("m-stray", statement_status::success, "t-m"),
  };
  auto r = reconcile(provider, dec5, here, there, {"l-not-sent"});
  auto id = [](const std::string& order) { return order + "@" + provider; };
  std::vector<std::string> expected{
    id("a-lost-money") + " recharged_failed_here",
    id("b-unknown-recharged") + " recharged_unknown_here",
    id("c-unknown") + " unknown_here",
    id("d-absent") + " succeeded_absent_there",
    id("e-failed-there") + " succeeded_failed_there",
    id("f-amount") + " amount_differs",
    id("g-txn") + " txn_differs",
    id("h-twice") + " recharged_twice_there",
    id("i-order") + " order_id_differs",
    id("j-phone") + " phone_differs",
    id("k-elsewhere") + " recharged_failed_here",
    id("l-not-sent") + " not_sent_here",
    id("m-stray") + " unknown_order"};
  BOOST_TEST(kinds_of(r) == expected, boost::test_tools::per_element());
  for (auto kind : all_discrepancy_kinds)
    BOOST_TEST(r.count(kind) >= 1u, to_string(kind) << " was not planted or not found");
  auto detail_of = [&](const std::string& order) {
    for (const auto& d : r.discrepancies)
      if (d.order_id == order)
        return d.detail;
    return std::string{};
  };
  BOOST_TEST(detail_of("k-elsewhere").find("recharged twice") != std::string::npos,
             detail_of("k-elsewhere"));
  BOOST_TEST(detail_of("a-lost-money").find("refunded") != std::string::npos,
             detail_of("a-lost-money"));
  BOOST_TEST(detail_of("h-twice").find("2 times (txn t-h, t-h2)") != std::string::npos,
             detail_of("h-twice"));
  BOOST_REQUIRE(r.days.size() == 1u);
  BOOST_TEST(r.days[0].requests == 13u);
  BOOST_TEST(r.days[0].disagreeing == 13u);
  BOOST_TEST(r.days[0].agreed == 0u);
  // Recharged there: 10 requests, h twice, f for 5000.
  BOOST_TEST(r.days[0].recharged_there == 11u);
  BOOST_TEST(r.days[0].recharged_there_fen == 15000);
  // Never a whole number; rows of orders the engine does not have show none.
  for (const auto& d : r.discrepancies)
    BOOST_TEST((d.phone.empty() || d.phone == "138****8000"), d.request_id << " " << d.phone);
}

BOOST_AUTO_TEST_CASE(requests_are_dated_by_the_engines_first_attempt) {
  // A call started a second before midnight and performed after it belongs to the day it
  // started; the statement row of the next day is matched all the same.
  auto late = dec5_utc + 24 * hour_ms - 1000;
  auto here = requests_of(
    {attempt("o-late", 1, "succeed", order_status::succeeded, late, "t-1"),
     attempt("o-yesterday", 1, "succeed", order_status::succeeded, dec5_utc - 5000, "t-2")});
  std::vector<statement_row> there{
    row("o-late", statement_status::success, "t-1", 1000, late + 2000),
    row("o-yesterday", statement_status::success, "t-2", 1000, dec5_utc + 100),
    row("o-tomorrow", statement_status::success, "t-3", 1000, dec5_utc + 24 * hour_ms + 10)};
  auto r = reconcile(provider, dec5, here, there, {});
  BOOST_TEST(r.agrees(), kinds_of(r).size());
  BOOST_TEST(r.requests == 1u);
  // Days at the period's offset: in Beijing the late call is on December 6th.
  auto beijing = reconcile(provider, {dec5_utc - 8 * hour_ms, dec5_utc + 40 * hour_ms, 480},
                           here, there, {});
  BOOST_TEST(beijing.days.size() == 2u);
  BOOST_TEST(beijing.days.back().day == "2026-12-06");
}

BOOST_AUTO_TEST_CASE(unmatched_rows_name_the_orders_to_look_up) {
  auto here = requests_of({attempt("o-1", 1, "succeed", order_status::succeeded,
                                   dec5_utc + hour_ms, "t-1")});
  std::vector<statement_row> there{row("o-1", statement_status::success, "t-1"),
                                   row("o-2", statement_status::success, "t-2"),
                                   row("o-2", statement_status::success, "t-2"),
                                   row("o-3", statement_status::failed, "")};
  BOOST_TEST((unmatched_order_ids(here, there) == std::vector<std::string>{"o-2", "o-3"}));
}

BOOST_AUTO_TEST_CASE(the_judge_compares_only_what_both_sides_know) {
  statement_row success{0, "r", "o", "", 1000, statement_status::success, "t-1", 0};
  // The engine does not know the transaction or the amount: nothing to compare.
  BOOST_TEST(judge_request({engine_outcome::succeeded, "o", 0, "", ""}, {&success}).empty());
  BOOST_TEST((judge_request({engine_outcome::succeeded, "o", 999, "", ""}, {&success})
              == std::vector<discrepancy_kind>{discrepancy_kind::amount_differs}));
  // A masked number is compared by what it shows.
  success.phone = "138****8000";
  BOOST_TEST(judge_request({engine_outcome::succeeded, "o", 1000, "t-1", "13812348000"},
                           {&success})
               .empty());
  BOOST_TEST((judge_request({std::nullopt, "", 0, "", ""}, {&success})
              == std::vector<discrepancy_kind>{discrepancy_kind::unknown_order}));
  BOOST_TEST(judge_request({std::nullopt, "", 0, "", ""}, {}).empty());
}

BOOST_AUTO_TEST_SUITE_END()
