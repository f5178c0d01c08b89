#define BOOST_TEST_MODULE cli_tests
#include <boost/test/unit_test.hpp>

// topup-cli's pure pieces (apps/cli): the command line, order files, output, exit codes and
// the submission bookkeeping. End-to-end runs against a real node live elsewhere.

#include "apps/cli/arguments.hpp"
#include "apps/cli/command_line.hpp"
#include "apps/cli/exit_codes.hpp"
#include "apps/cli/order_input.hpp"
#include "apps/cli/output.hpp"
#include "apps/cli/progress.hpp"
#include "apps/cli/submission.hpp"
#include "domain/text.hpp"
#include "messages/cluster_stats.hpp"
#include "messages/errors.hpp"

#include <caf/exit_reason.hpp>
#include <caf/sec.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <unistd.h>

using namespace topup;
using namespace topup::cli;

namespace {

// 2024-05-01T12:00:00Z
constexpr int64_t noon_ms = 1714564800000;

order sample_order() {
  order x;
  x.id = "o-1";
  x.client_ref = "r-1";
  x.phone = "13800138000";
  x.carrier = "cmcc";
  x.amount_fen = 1000;
  x.provider = "p-cmcc";
  x.status = order_status::succeeded;
  x.attempts = 1;
  x.accepted_at_ms = noon_ms;
  x.deadline_ms = noon_ms + 180000;
  x.updated_at_ms = noon_ms + 1250;
  return x;
}

order_input read_text(const std::string& text, input_format format = input_format::auto_detect) {
  std::istringstream in{text};
  return read_orders(in, format);
}

/// The problems of `input` are exactly `expected`: (line, how the message starts).
void expect_problems(const order_input& input,
                     const std::vector<std::pair<size_t, std::string>>& expected) {
  BOOST_REQUIRE(input.problems.size() == expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    BOOST_TEST_CONTEXT("problem " << i) {
      BOOST_TEST(input.problems[i].line == expected[i].first);
      BOOST_TEST(input.problems[i].message.find(expected[i].second) == 0u,
                 input.problems[i].message);
    }
  }
}

std::vector<numbered_request> numbered(size_t count) {
  std::vector<numbered_request> orders;
  for (size_t i = 0; i < count; ++i)
    orders.push_back({i + 2, {"r-" + std::to_string(i), "13800138000", 1000}});
  return orders;
}

/// Answers for a batch: every order accepted as o-<index>.
std::vector<submit_result> accept_all(const batch& b) {
  std::vector<submit_result> results;
  for (size_t k = 0; k < b.requests.size(); ++k) {
    submit_result r;
    r.accepted.id = "o-" + std::to_string(b.first + k);
    r.accepted.client_ref = b.requests[k].client_ref;
    results.push_back(r);
  }
  return results;
}

/// A file in a fresh temporary directory, removed with the fixture.
struct temp_file {
  std::filesystem::path path;
  explicit temp_file(const std::string& content) {
    path = std::filesystem::temp_directory_path()
           / ("cli_tests_" + std::to_string(::getpid()) + "_" + std::to_string(counter()++));
    std::ofstream{path} << content;
  }
  ~temp_file() {
    std::error_code ignored;
    std::filesystem::remove(path, ignored);
  }
  static int& counter() {
    static int n = 0;
    return n;
  }
};

/// Runs the command line parser on `args`, capturing what it prints.
struct parse_run {
  command_line result;
  std::string out;
  std::string err;

  explicit parse_run(std::vector<std::string> args) {
    // The environment must not leak into the defaults under test.
    ::unsetenv("TOPUP_NODE");
    std::vector<const char*> argv{"topup-cli"};
    for (const auto& arg : args)
      argv.push_back(arg.c_str());
    std::ostringstream out_stream, err_stream;
    result = parse_command_line(static_cast<int>(argv.size()), argv.data(), noon_ms, out_stream,
                                err_stream);
    out = out_stream.str();
    err = err_stream.str();
  }

  const cli_options& options() const { return *result.options; }
  bool ok() const { return result.options.has_value(); }
};

} // namespace

// --- node addresses, durations, times --------------------------------------------------------

BOOST_AUTO_TEST_CASE(node_addresses_are_read_as_every_address_is) {
  // The rules themselves are host_port's (host_port_tests.cpp).
  auto v6 = parse_node_address("[::1]:65535");
  BOOST_REQUIRE(v6);
  BOOST_TEST(v6.value->host == "::1");
  BOOST_TEST(v6.value->port == 65535);
  auto unbracketed = parse_node_address("::1:4242");
  BOOST_TEST(!unbracketed);
  BOOST_TEST(unbracketed.error == "'::1:4242': write an IPv6 address in brackets, e.g. [::1]:4242");
}

BOOST_AUTO_TEST_CASE(durations_take_units_and_fractions) {
  using ms = std::chrono::milliseconds;
  BOOST_TEST(parse_duration("500ms").value->count() == 500);
  BOOST_TEST(parse_duration("10s").value->count() == 10000);
  BOOST_TEST(parse_duration("1.5s").value->count() == 1500);
  BOOST_TEST(parse_duration("2m").value->count() == 120000);
  BOOST_TEST(parse_duration("1h").value->count() == 3600000);
  BOOST_TEST(parse_duration("1d").value->count() == 86400000);
  BOOST_TEST(parse_duration("0s").value->count() == 0);
  BOOST_TEST((*parse_duration("10").value == ms{10000}));  // bare: seconds
  BOOST_TEST((*parse_duration("10", "ms").value == ms{10}));
  for (auto bad : {"", "s", "-1s", "10x", "1.2.3s", "abc", "10 s", "1e3s"}) {
    auto d = parse_duration(bad);
    BOOST_TEST_CONTEXT(bad) {
      BOOST_TEST(!d);
      BOOST_TEST(d.error.find("not a duration") != std::string::npos, d.error);
    }
  }
}

BOOST_AUTO_TEST_CASE(time_points_in_every_accepted_form) {
  auto utc = [](const std::string& text) {
    auto t = parse_time_point(text, noon_ms, time_zone::utc);
    BOOST_REQUIRE_MESSAGE(t, text + ": " + t.error);
    return *t.value;
  };
  BOOST_TEST(utc("1714564800000") == noon_ms);
  BOOST_TEST(utc("15m") == noon_ms - 15 * 60000);
  BOOST_TEST(utc("2h") == noon_ms - 2 * 3600000);
  BOOST_TEST(utc("2024-05-01") == noon_ms - 12 * 3600000);
  BOOST_TEST(utc("2024-05-01T12:00") == noon_ms);
  BOOST_TEST(utc("2024-05-01 12:00:00") == noon_ms);
  BOOST_TEST(utc("2024-05-01T12:00:00.250Z") == noon_ms + 250);
  BOOST_TEST(utc("2024-05-01T20:00:00+08:00") == noon_ms);
  BOOST_TEST(utc("2024-05-01T20:00+0800") == noon_ms);
  BOOST_TEST(utc("2024-05-01T06:30:00-05:30") == noon_ms);
  BOOST_TEST(utc("2024-02-29") == 1709164800000);
  BOOST_TEST(utc("1970-01-01T00:00:00Z") == 0);
}

BOOST_AUTO_TEST_CASE(time_points_without_zone_use_the_local_zone) {
  auto saved = std::getenv("TZ") ? std::optional<std::string>{std::getenv("TZ")} : std::nullopt;
  ::setenv("TZ", "CST-8", 1);  // POSIX form: UTC+8 without daylight saving, needs no tzdata
  ::tzset();
  auto local = parse_time_point("2024-05-01T20:00", 0, time_zone::local);
  auto explicit_zone = parse_time_point("2024-05-01T12:00Z", 0, time_zone::local);
  auto shown = format_date_time(noon_ms, time_zone::local);
  if (saved)
    ::setenv("TZ", saved->c_str(), 1);
  else
    ::unsetenv("TZ");
  ::tzset();
  BOOST_REQUIRE(local);
  BOOST_TEST(*local.value == noon_ms);
  BOOST_TEST(*explicit_zone.value == noon_ms);
  BOOST_TEST(shown == "2024-05-01 20:00:00");
}

BOOST_AUTO_TEST_CASE(time_point_errors) {
  for (auto bad : {"", "yesterday", "2024-13-01", "2023-02-29", "2024-04-31", "2024-05-01T25:00",
                   "2024-05-01T12", "2024-05-01T12:60", "2024-05-01T12:00:00.25",
                   "2024-05-01T12:00Zx", "2024-05-01T12:00+8", "2024-5-1", "15x",
                   "99999999999999999999"}) {
    auto t = parse_time_point(bad, noon_ms, time_zone::utc);
    BOOST_TEST_CONTEXT(bad) {
      BOOST_TEST(!t);
      BOOST_TEST(!t.error.empty());
    }
  }
}

// --- order files -----------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(csv_with_header_in_any_column_order) {
  auto input = read_text("phone,amount_fen,client_ref\n"
                         "13800138000,1000,r-1\n"
                         "13000130000,2000,r-2\n");
  BOOST_TEST((input.format == input_format::csv));
  BOOST_TEST(input.problems.empty());
  BOOST_REQUIRE(input.orders.size() == 2u);
  BOOST_TEST(input.orders[0].line == 2u);
  BOOST_TEST(input.orders[0].request.client_ref == "r-1");
  BOOST_TEST(input.orders[0].request.phone == "13800138000");
  BOOST_TEST(input.orders[0].request.amount_fen == 1000);
  BOOST_TEST(input.orders[1].line == 3u);
  BOOST_TEST(input.orders[1].request.client_ref == "r-2");
}

BOOST_AUTO_TEST_CASE(csv_without_header_uses_the_default_columns) {
  auto input = read_text("r-1,13800138000,1000\nr-2,13000130000,0\n");
  BOOST_TEST(input.problems.empty());
  BOOST_REQUIRE(input.orders.size() == 2u);
  BOOST_TEST(input.orders[0].line == 1u);
  BOOST_TEST(input.orders[0].request.client_ref == "r-1");
  // Syntax only: whether 0 fen is acceptable is the node's decision.
  BOOST_TEST(input.orders[1].request.amount_fen == 0);
}

BOOST_AUTO_TEST_CASE(csv_quoting_comments_and_line_endings) {
  auto input = read_text("\xEF\xBB\xBF# orders of 1 May\r\n"
                         "client_ref,phone,amount_fen\r\n"
                         "\r\n"
                         "  \r\n"
                         "\"r,1\",13800138000,1000\r\n"
                         "\"say \"\"hi\"\"\",13800138000,\"2000\"\n"
                         "   # a comment after data\n"
                         "\"\",13800138000,1000\n");
  BOOST_TEST(input.problems.empty());
  BOOST_REQUIRE(input.orders.size() == 3u);
  BOOST_TEST(input.orders[0].line == 5u);
  BOOST_TEST(input.orders[0].request.client_ref == "r,1");
  BOOST_TEST(input.orders[0].request.phone == "13800138000");
  BOOST_TEST(input.orders[0].request.amount_fen == 1000);
  BOOST_TEST(input.orders[1].line == 6u);
  BOOST_TEST(input.orders[1].request.client_ref == "say \"hi\"");
  BOOST_TEST(input.orders[1].request.amount_fen == 2000);
  // An empty reference is well-formed CSV; the node answers missing_field for it.
  BOOST_TEST(input.orders[2].line == 8u);
  BOOST_TEST(input.orders[2].request.client_ref == "");
}

BOOST_AUTO_TEST_CASE(csv_fields_are_taken_exactly_as_written) {
  // As on the command line: blanks are part of a value, never trimmed. A reference with
  // blanks at its ends reaches the node, which refuses it (invalid_text), the same as
  // `--ref " r-1"`; an amount with blanks is not an amount, the same as `--amount " 1000"`.
  auto input = read_text("client_ref,phone,amount_fen\n"
                         " r-1,13800138000,1000\n"
                         "r-2 ,13800138000,1000\n"
                         "\" r-3\",13800138000,1000\n"
                         "r-4,13800138000, 1000\n"
                         "r-5,13800138000,1000 \n"
                         "\"r-6\" ,13800138000,1000\n"
                         " \"r-7\",13800138000,1000\n");
  BOOST_REQUIRE(input.orders.size() == 3u);
  BOOST_TEST(input.orders[0].request.client_ref == " r-1");
  BOOST_TEST(input.orders[1].request.client_ref == "r-2 ");
  BOOST_TEST(input.orders[2].request.client_ref == " r-3");
  const std::vector<std::pair<size_t, std::string>> expected{
    {5, "amount_fen: invalid_amount: ' 1000' contains white space"},
    {6, "amount_fen: invalid_amount: '1000 ' contains white space"},
    {7, "unexpected text after the quoted field"},
    {8, "a quote inside an unquoted field"},
  };
  expect_problems(input, expected);
  // A header is read exactly too: " phone" names no column.
  auto spaced = read_text("client_ref, phone, amount_fen\nr-1,13800138000,1000\n");
  BOOST_REQUIRE(spaced.problems.size() == 1u);
  BOOST_TEST(spaced.problems[0].message.find("unknown column ' phone'") != std::string::npos,
             spaced.problems[0].message);
}

BOOST_AUTO_TEST_CASE(csv_malformed_lines_are_reported_with_their_numbers) {
  auto input = read_text("client_ref,phone,amount_fen\n"
                         "r-1,13800138000,1000\n"
                         "r-2,13800138000\n"
                         "r-3,13800138000,10.5\n"
                         "r-4,13800138000,\n"
                         "\"r-5,13800138000,1000\n"
                         "\"r-6\"x,13800138000,1000\n"
                         "r\"7,13800138000,1000\n"
                         "r-8,13800138000,1000,extra\n"
                         "r-9,13800138000,99999999999999999999\n"
                         "r-10,13800138000,2000\n");
  BOOST_REQUIRE(input.orders.size() == 2u);
  BOOST_TEST(input.orders[0].request.client_ref == "r-1");
  BOOST_TEST(input.orders[1].request.client_ref == "r-10");
  BOOST_TEST(input.orders[1].line == 11u);
  const std::vector<std::pair<size_t, std::string>> expected{
    {3, "expected 3 fields (client_ref,phone,amount_fen), found 2"},
    {4, "amount_fen: invalid_amount: '10.5' is not a whole number of fen"},
    {5, "amount_fen: invalid_amount: the amount is empty"},
    {6, "the quote opened at column 1 is not closed"},
    {7, "unexpected text after the quoted field"},
    {8, "a quote inside an unquoted field"},
    {9, "expected 3 fields (client_ref,phone,amount_fen), found 4"},
    {10, "amount_fen: invalid_amount: '99999999999999999999' is too large"},
  };
  expect_problems(input, expected);
}

BOOST_AUTO_TEST_CASE(csv_bad_header_is_one_problem_not_one_per_line) {
  for (auto header : {"ref,phone,amount", "client_ref,phone", "client_ref,phone,phone",
                      "client_ref,phone,amount_fen,note"}) {
    auto input = read_text(std::string{header} + "\nr-1,13800138000,1000\nr-2,1,2\n");
    BOOST_TEST_CONTEXT(header) {
      BOOST_TEST(input.orders.empty());
      BOOST_REQUIRE(input.problems.size() == 1u);
      BOOST_TEST(input.problems[0].line == 1u);
      BOOST_TEST(input.problems[0].message.find("bad header") == 0u, input.problems[0].message);
    }
  }
}

BOOST_AUTO_TEST_CASE(json_lines_read_with_strict_keys_and_types) {
  auto input = read_text("{\"client_ref\":\"r-1\",\"phone\":\"13800138000\",\"amount_fen\":1000}\n"
                         "\n"
                         "  {\"amount_fen\":2000, \"phone\":\"13000130000\", "
                         "\"client_ref\":\"r-2\"}\r\n"
                         "{\"client_ref\":\"r-3\",\"phone\":\"13800138000\"\n"
                         "[1,2,3]\n"
                         "{\"client_ref\":\"r-5\",\"phone\":\"13800138000\"}\n"
                         "{\"client_ref\":\"r-6\",\"phone\":13800138000,\"amount_fen\":1000}\n"
                         "{\"client_ref\":\"r-7\",\"phone\":\"13800138000\","
                         "\"amount_fen\":\"1000\"}\n"
                         "{\"client_ref\":\"r-8\",\"phone\":\"13800138000\",\"amount_fen\":10.5}\n"
                         "{\"client_ref\":\"r-9\",\"phone\":\"1\",\"amount_fen\":1,\"amount\":1}\n"
                         "{\"client_ref\":\"r-10\",\"phone\":\"1\","
                         "\"amount_fen\":18446744073709551615}\n"
                         "# not a comment in JSON lines\n"
                         "{\"client_ref\":\"r-13\",\"phone\":\"1\",\"amount_fen\":-5}\n"
                         "{\"client_ref\":\"r-14\",\"phone\":\"1\",\"amount_fen\":1e3}\n"
                         "{\"client_ref\":\"r-15\",\"phone\":\"1\",\"amount_fen\":1e400}\n"
                         "{\"client_ref\":\"r-16\",\"phone\":\"1\",\"amount_fen\":01750}\n"
                         "{\"client_ref\":\"r-17\",\"phone\":\"1\","
                         "\"amount_fen\":99999999999999999999999}\n");
  BOOST_TEST((input.format == input_format::jsonl));
  BOOST_REQUIRE(input.orders.size() == 2u);
  BOOST_TEST(input.orders[0].line == 1u);
  BOOST_TEST(input.orders[0].request.client_ref == "r-1");
  BOOST_TEST(input.orders[1].line == 3u);
  BOOST_TEST(input.orders[1].request.client_ref == "r-2");
  BOOST_TEST(input.orders[1].request.phone == "13000130000");
  BOOST_TEST(input.orders[1].request.amount_fen == 2000);
  const std::vector<std::pair<size_t, std::string>> expected{
    {4, "malformed_message: not JSON: "},
    {5, "malformed_message: expected a JSON object"},
    {6, "missing_field: missing key \"amount_fen\""},
    {7, "malformed_message: \"phone\" must be a string"},
    {8, "invalid_amount: \"amount_fen\": must be a JSON number"},
    {9, "invalid_amount: \"amount_fen\": '10.5' is not a whole number of fen"},
    {10, "malformed_message: unknown key \"amount\""},
    {11, "invalid_amount: \"amount_fen\": '18446744073709551615' is too large"},
    {12, "malformed_message: not JSON: "},
    {13, "invalid_amount: \"amount_fen\": '-5' has a sign"},
    {14, "invalid_amount: \"amount_fen\": '1000.0' is not a whole number of fen"},
    // beyond a double: nlohmann throws out_of_range, not parse_error
    {15, "malformed_message: not JSON: "},
    {16, "malformed_message: not JSON: "},  // JSON has no leading zeros either
    {17, "invalid_amount: \"amount_fen\": "},
  };
  expect_problems(input, expected);
  // nlohmann's "[json.exception.parse_error.101] " prefix is noise for a user.
  BOOST_TEST(input.problems[0].message.find("json.exception") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(an_amount_means_the_same_in_every_channel) {
  // The same text as --amount, as a CSV field and (where it is a JSON number at all) as a
  // JSON-lines amount: the same value, or a refusal in each.
  const char* texts[] = {"1000", "0", "01750", "05000", "0x1388", "+5000", " 5000", "5000 ",
                         "", "-5", "10.5", "1e3", "18446744073709551616", "9223372036854775807",
                         "\xEF\xBC\x95\xEF\xBC\x90\xEF\xBC\x90\xEF\xBC\x90"};
  for (std::string text : texts) {
    BOOST_TEST_CONTEXT("amount '" << text << "'") {
      parse_run cli{{"submit", "--ref", "r", "--phone", "13800138000", "--amount", text}};
      auto csv = read_text("r,13800138000," + text + "\n", input_format::csv);
      std::optional<int64_t> from_cli, from_csv;
      if (cli.ok())
        from_cli = cli.options().single_order->amount_fen;
      else
        BOOST_TEST(cli.err.find("--amount: invalid_amount: ") != std::string::npos, cli.err);
      if (csv.orders.size() == 1)
        from_csv = csv.orders[0].request.amount_fen;
      else
        BOOST_TEST(csv.problems.size() == 1u);
      BOOST_TEST((from_cli == from_csv));
      // Blanks around a JSON number are JSON's syntax, not part of the value.
      auto json_number = nlohmann::json::accept(text) && !text.empty()
                         && text.find_first_of(" \t") == std::string::npos
                         && nlohmann::json::parse(text).is_number();
      if (json_number) {
        auto jsonl = read_text("{\"client_ref\":\"r\",\"phone\":\"13800138000\",\"amount_fen\":"
                               + text + "}\n");
        std::optional<int64_t> from_json;
        if (jsonl.orders.size() == 1)
          from_json = jsonl.orders[0].request.amount_fen;
        BOOST_TEST((from_json == from_cli));
      }
    }
  }
  parse_run plain{{"submit", "--ref", "r", "--phone", "13800138000", "--amount", "1750"}};
  BOOST_REQUIRE(plain.ok());
  BOOST_TEST(plain.options().single_order->amount_fen == 1750);
}

BOOST_AUTO_TEST_CASE(format_detection_and_forcing) {
  auto after_comment =
    read_text("# header comment\n\n{\"client_ref\":\"r\",\"phone\":\"1\",\"amount_fen\":1}\n");
  BOOST_TEST((after_comment.format == input_format::jsonl));
  BOOST_TEST((read_text("\n\nr,1,1\n").format == input_format::csv));
  BOOST_TEST((read_text("").format == input_format::auto_detect));
  auto forced = read_text("{\"client_ref\":\"r\"}\n", input_format::csv);
  BOOST_TEST((forced.format == input_format::csv));
  BOOST_TEST(forced.orders.empty());
  BOOST_TEST(forced.problems.size() == 1u);
  auto forced_json = read_text("r,1,1\n", input_format::jsonl);
  BOOST_REQUIRE(forced_json.problems.size() == 1u);
  BOOST_TEST(forced_json.problems[0].message.find("malformed_message: not JSON") == 0u);
  for (auto format : {input_format::auto_detect, input_format::csv, input_format::jsonl})
    BOOST_TEST((input_format_from_string(to_string(format)) == format));
  BOOST_TEST(!input_format_from_string("xml"));
}

// --- exit codes ------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(reconcile_reads_its_period_offset_and_format) {
  temp_file statement{"request_id,order_id,amount_fen,status,provider_txn,time\n"};
  auto path = statement.path.string();
  parse_run day{{"reconcile", "--provider", "p-cmcc", "--from", "2024-05-01", "--to",
                 "2024-05-02", "--utc-offset", "+08:00", "--statement", path, "--format",
                 "csv-totals", "--settle-wait", "0"}};
  BOOST_REQUIRE_MESSAGE(day.ok(), day.err);
  const auto& options = day.options().reconcile;
  BOOST_TEST((day.options().command == command_kind::reconcile));
  BOOST_TEST(options.provider == "p-cmcc");
  BOOST_TEST(options.utc_offset_minutes == 480);
  // Midnight in Beijing is 16:00 UTC the day before.
  BOOST_TEST(options.from_ms == 1714521600000 - 8 * 3600000);
  BOOST_TEST(options.to_ms - options.from_ms == 24 * 3600000);
  BOOST_TEST((options.format == report_format::csv_totals));
  BOOST_TEST(options.settle_wait.count() == 0);
  parse_run json{{"--json", "--utc", "reconcile", "--provider", "p", "--from", "1d", "--to",
                  "2024-05-01T12:00:00Z", "--statement", path}};
  BOOST_REQUIRE_MESSAGE(json.ok(), json.err);
  BOOST_TEST((json.options().reconcile.format == report_format::json));
  BOOST_TEST(json.options().reconcile.utc_offset_minutes == 0);
  BOOST_TEST(json.options().reconcile.from_ms == noon_ms - 24 * 3600000);
  BOOST_TEST(json.options().reconcile.to_ms == noon_ms);

  auto refused = [&](std::vector<std::string> args, const std::string& said) {
    parse_run run{std::move(args)};
    BOOST_TEST(!run.ok(), said);
    BOOST_TEST(run.err.find(said) != std::string::npos, run.err);
  };
  refused({"reconcile", "--provider", "p", "--from", "2024-05-02", "--to", "2024-05-01",
           "--statement", path},
          "--to must be after --from");
  refused({"reconcile", "--provider", "p", "--from", "2024-05-01", "--to", "2024-05-02",
           "--utc-offset", "+25:00", "--statement", path},
          "--utc-offset '+25:00'");
  refused({"reconcile", "--provider", "p", "--from", "2024-02-30", "--to", "2024-05-02",
           "--statement", path},
          "no such date");
  refused({"reconcile", "--provider", "p", "--from", "2024-05-01", "--to", "2024-05-02",
           "--statement", path + ".missing"},
          "cannot read the file");
  refused({"--json", "reconcile", "--provider", "p", "--from", "2024-05-01", "--to",
           "2024-05-02", "--statement", path, "--format", "csv"},
          "ask for two outputs");
}

BOOST_AUTO_TEST_CASE(worse_picks_the_more_severe_code) {
  BOOST_TEST((worse(exit_code::ok, exit_code::rejected) == exit_code::rejected));
  BOOST_TEST((worse(exit_code::rejected, exit_code::ok) == exit_code::rejected));
  BOOST_TEST((worse(exit_code::rejected, exit_code::bad_input) == exit_code::bad_input));
  BOOST_TEST((worse(exit_code::unreachable, exit_code::bad_input) == exit_code::unreachable));
  BOOST_TEST((worse(exit_code::unreachable, exit_code::internal) == exit_code::internal));
  BOOST_TEST((worse(exit_code::interrupted, exit_code::internal) == exit_code::interrupted));
  BOOST_TEST((worse(exit_code::rejected, exit_code::retry_later) == exit_code::retry_later));
  BOOST_TEST((worse(exit_code::retry_later, exit_code::bad_input) == exit_code::retry_later));
  BOOST_TEST((worse(exit_code::retry_later, exit_code::unreachable) == exit_code::unreachable));
  BOOST_TEST(static_cast<int>(exit_code::ok) == 0);
  BOOST_TEST(static_cast<int>(exit_code::rejected) == 1);
  BOOST_TEST(static_cast<int>(exit_code::bad_input) == 2);
  BOOST_TEST(static_cast<int>(exit_code::unreachable) == 3);
  BOOST_TEST(static_cast<int>(exit_code::internal) == 4);
  BOOST_TEST(static_cast<int>(exit_code::retry_later) == 5);
  BOOST_TEST(static_cast<int>(exit_code::disagreements) == 6);
  BOOST_TEST((worse(exit_code::disagreements, exit_code::ok) == exit_code::disagreements));
  BOOST_TEST((worse(exit_code::disagreements, exit_code::rejected) == exit_code::rejected));
  BOOST_TEST(static_cast<int>(exit_code::interrupted) == 130);
}

BOOST_AUTO_TEST_CASE(exit_codes_are_documented_in_help) {
  auto help = exit_codes_help();
  for (auto line : {"  0 ", "  1 ", "  2 ", "  3 ", "  4 ", "  5 ", "  6 ", "  130 "})
    BOOST_TEST(help.find(line) != std::string::npos, line);
}

BOOST_AUTO_TEST_CASE(not_now_refusals_are_retry_later_not_rejected) {
  for (auto code : {errc::overloaded, errc::unavailable, errc::shutting_down}) {
    auto report = classify(topup::make_error(code, "try again"));
    BOOST_TEST((report.code == exit_code::retry_later), to_string(code));
    BOOST_TEST(report.kind == to_string(code));
    BOOST_TEST(is_refusal(report.code));
  }
  // The codes added at the end of errc travel and print by name like the others.
  BOOST_TEST(describe(topup::make_error(errc::invalid_text, "client_ref is not valid UTF-8"))
             == "invalid_text: client_ref is not valid UTF-8");
  BOOST_TEST(classify(topup::make_error(errc::invalid_amount)).kind == "invalid_amount");
  BOOST_TEST(is_refusal(exit_code::rejected));
  BOOST_TEST(!is_refusal(exit_code::unreachable));
  BOOST_TEST(!is_refusal(exit_code::internal));
}

BOOST_AUTO_TEST_CASE(topup_errors_are_rejections_except_node_faults) {
  auto invalid = classify(topup::make_error(errc::invalid_phone, "1380013800 has 10 digits"));
  BOOST_TEST((invalid.code == exit_code::rejected));
  BOOST_TEST(invalid.kind == "invalid_phone");
  BOOST_TEST(invalid.message == "invalid_phone: 1380013800 has 10 digits");
  for (auto code : {errc::unknown_carrier, errc::unsupported_amount, errc::field_too_long,
                    errc::missing_field, errc::duplicate_reference, errc::not_found,
                    errc::illegal_transition, errc::invalid_argument, errc::invalid_text,
                    errc::invalid_amount})
    BOOST_TEST((classify(topup::make_error(code)).code == exit_code::rejected), to_string(code));
  BOOST_TEST((classify(topup::make_error(errc::stale_owner)).code == exit_code::internal));
}

BOOST_AUTO_TEST_CASE(an_overloaded_refusal_carries_the_nodes_retry_hint) {
  auto report = classify(topup::make_error(
    failure{errc::overloaded, "the providers serving cmcc cannot start a new order within 108 s "
                              "of its acceptance (p-agg, the earliest, would in 115 s); retry in 7 s",
            7}));
  BOOST_TEST((report.code == exit_code::retry_later));
  BOOST_TEST(report.kind == "overloaded");
  BOOST_TEST(report.retry_after_s == 7);
  BOOST_TEST(report.message.find("retry in 7 s") != std::string::npos, report.message);
  BOOST_TEST(to_json(report)["error"]["retry_after_s"] == 7);
  // Without a hint there is no field.
  auto plain = classify(topup::make_error(errc::overloaded, "200000 orders are already waiting"));
  BOOST_TEST(plain.retry_after_s == 0);
  BOOST_TEST(to_json(plain)["error"].count("retry_after_s") == 0u);
}

BOOST_AUTO_TEST_CASE(lost_connections_and_timeouts_are_unreachable) {
  for (auto code : {caf::sec::request_timeout, caf::sec::cannot_connect_to_node,
                    caf::sec::disconnect_during_handshake, caf::sec::request_receiver_down,
                    caf::sec::connection_timeout, caf::sec::no_route_to_receiving_node}) {
    auto report = classify(caf::make_error(code));
    BOOST_TEST((report.code == exit_code::unreachable), to_string(code));
    BOOST_TEST(report.kind == to_string(code));
  }
  auto timeout = classify(caf::make_error(caf::sec::request_timeout));
  BOOST_TEST(timeout.message == "no answer within --timeout (system_error: request_timeout)");
  auto refused = classify(caf::make_error(caf::sec::cannot_connect_to_node, "ip_connect failed"));
  BOOST_TEST(refused.message.find("is topup-node running?") != std::string::npos, refused.message);
  auto gone = classify(caf::make_error(caf::exit_reason::remote_link_unreachable));
  BOOST_TEST((gone.code == exit_code::unreachable));
  BOOST_TEST(gone.kind == "remote_link_unreachable");
}

BOOST_AUTO_TEST_CASE(talking_to_something_else_is_internal) {
  for (auto code : {caf::sec::unexpected_actor_messaging_interface, caf::sec::unexpected_message,
                    caf::sec::unexpected_response, caf::sec::no_actor_published_at_port,
                    caf::sec::incompatible_application_ids})
    BOOST_TEST((classify(caf::make_error(code)).code == exit_code::internal), to_string(code));
  auto interface = classify(caf::make_error(caf::sec::unexpected_actor_messaging_interface));
  BOOST_TEST(interface.message.find("not a gateway") != std::string::npos, interface.message);
  BOOST_TEST((classify(caf::error{}).code == exit_code::internal));
}

BOOST_AUTO_TEST_CASE(node_down_names_the_node_and_reason) {
  auto report =
    node_down("127.0.0.1:4242", caf::make_error(caf::exit_reason::remote_link_unreachable));
  BOOST_TEST((report.code == exit_code::unreachable));
  BOOST_TEST(report.kind == "node_down");
  BOOST_TEST(report.message == "node 127.0.0.1:4242 went down (remote_link_unreachable)");
  BOOST_TEST(node_down("h:1", caf::error{}).message == "node h:1 went down");
}

// --- output ----------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(times_are_formatted_in_the_chosen_zone) {
  BOOST_TEST(format_clock(noon_ms + 3723000, time_zone::utc) == "13:02:03");
  BOOST_TEST(format_clock_ms(noon_ms + 45, time_zone::utc) == "12:00:00.045");
  BOOST_TEST(format_date_time(noon_ms, time_zone::utc) == "2024-05-01 12:00:00");
  BOOST_TEST(format_clock_ms(-1, time_zone::utc) == "23:59:59.999");
}

BOOST_AUTO_TEST_CASE(phones_are_masked_inside_free_text) {
  BOOST_TEST(mask_phone_in("13800138000 has no carrier; 13800138000 again", "13800138000")
             == "138****8000 has no carrier; 138****8000 again");
  BOOST_TEST(mask_phone_in("nothing to hide", "13800138000") == "nothing to hide");
  BOOST_TEST(mask_phone_in("text", "") == "text");
}

BOOST_AUTO_TEST_CASE(order_json_has_every_field_in_order) {
  BOOST_TEST(to_json(sample_order()).dump()
             == R"({"id":"o-1","merchant":"","client_ref":"r-1","phone":"13800138000",)"
                R"("carrier":"cmcc",)"
                R"("amount_fen":1000,"provider":"p-cmcc","status":"succeeded","attempts":1,)"
                R"("accepted_at_ms":1714564800000,"deadline_ms":1714564980000,)"
                R"("updated_at_ms":1714564801250,"last_error":"","wrong_carrier_at":[]})");
}

BOOST_AUTO_TEST_CASE(output_of_text_that_is_not_utf8_is_valid_json_and_printable) {
  // A reference stored before intake refused such bytes, or anything else a node sends:
  // every command's output stays valid JSON (and no exception ends the client).
  const std::string replacement = "\xEF\xBF\xBD";
  output_style human{false, time_zone::utc};
  output_style json{true, time_zone::utc};
  auto odd = sample_order();
  odd.client_ref = "r-\xFF\xFE";
  odd.phone = "1380013800\xC3";
  odd.last_error = "provider said \xE4";
  std::vector<std::string> lines{
    render(odd, json), render(std::vector<order>{odd, sample_order()}, json),
    render(order_update{odd, "succeed"}, json),
    render(submission{1, {odd.client_ref, odd.phone, 1000}, submit_outcome::accepted, odd, {}},
           json),
    render(submission{1, {odd.client_ref, odd.phone, 1000}, submit_outcome::rejected, {},
                      {exit_code::rejected, "invalid_text", "ref \xFF"}},
           json),
    render(failure_report{exit_code::internal, "odd\xFF", "message \xFF"}, json)};
  for (const auto& text : lines) {
    std::istringstream in{text};
    for (std::string line; std::getline(in, line);) {
      BOOST_TEST(nlohmann::json::accept(line), line);
      BOOST_TEST(!text::first_invalid_byte(line).has_value());
    }
  }
  BOOST_TEST(nlohmann::json::parse(render(odd, json))["client_ref"]
             == "r-" + replacement + replacement);
  // Human output: no invalid bytes, and no escape sequence reaches the terminal.
  odd.client_ref = "r-\x1B[2J\xFF";
  for (const auto& text : {render(odd, human), render(std::vector<order>{odd}, human),
                           render(order_update{odd, "succeed"}, human)}) {
    BOOST_TEST(!text::first_invalid_byte(text).has_value(), text);
    BOOST_TEST(text.find('\x1B') == std::string::npos, text);
  }
  BOOST_TEST(render(odd, human).find("ref=r-" + replacement + "[2J" + replacement)
             != std::string::npos);
}

BOOST_AUTO_TEST_CASE(human_order_line_masks_the_phone) {
  auto x = sample_order();
  x.last_error = "13800138000 was busy";
  output_style human{false, time_zone::utc};
  auto line = render(x, human);
  BOOST_TEST(line
             == "o-1 ref=r-1 138****8000 cmcc 1000 fen succeeded attempts=1 provider=p-cmcc "
                "accepted 2024-05-01 12:00:00 deadline 12:03:00 last_error: 138****8000 was "
                "busy\n");
  BOOST_TEST(line.find("13800138000") == std::string::npos);
  output_style json{true, time_zone::utc};
  BOOST_TEST(render(x, json) == to_json(x).dump() + "\n");
}

BOOST_AUTO_TEST_CASE(submissions_render_per_outcome) {
  output_style human{false, time_zone::utc};
  output_style json{true, time_zone::utc};
  order_request request{"r-1", "13800138000", 1000};

  submission accepted{7, request, submit_outcome::accepted, sample_order(), {}};
  accepted.stored.status = order_status::accepted;
  BOOST_TEST(render(accepted, human)
             == "accepted o-1 ref=r-1 138****8000 1000 fen deadline 12:03:00\n");
  BOOST_TEST(render(accepted, json)
             == R"({"outcome":"accepted","line":7,"client_ref":"r-1","order":)"
                  + to_json(accepted.stored).dump() + "}\n");

  submission existing{0, request, submit_outcome::existing, sample_order(), {}};
  BOOST_TEST(render(existing, human)
             == "existing o-1 ref=r-1 138****8000 1000 fen status=succeeded deadline 12:03:00\n");
  BOOST_TEST(to_json(existing).count("line") == 0u);

  submission rejected{3, {"r-2", "1380013800", 1000}, submit_outcome::rejected, {},
                      classify(topup::make_error(errc::invalid_phone,
                                                 "1380013800 has 10 digits, expected 11"))};
  BOOST_TEST(render(rejected, human)
             == "rejected line 3 ref=r-2 138***3800 1000 fen: invalid_phone: 138***3800 has 10 "
                "digits, expected 11\n");
  BOOST_TEST(render(rejected, json)
             == R"({"outcome":"rejected","line":3,"client_ref":"r-2",)"
                R"("error":{"code":"invalid_phone",)"
                R"("message":"invalid_phone: 1380013800 has 10 digits, expected 11"}})"
                "\n");

  submission unknown{0, request, submit_outcome::unknown, {},
                     classify(caf::make_error(caf::sec::request_timeout))};
  BOOST_TEST(render(unknown, human)
             == "unknown ref=r-1 138****8000 1000 fen: no answer within --timeout "
                "(system_error: request_timeout)\n");
  submission not_sent{9, request, submit_outcome::not_sent, {},
                      {exit_code::interrupted, "interrupted", "not sent: interrupted"}};
  BOOST_TEST(render(not_sent, human)
             == "not_sent line 9 ref=r-1 138****8000 1000 fen: not sent: interrupted\n");
  BOOST_TEST(to_json(not_sent)["error"]["code"] == "interrupted");
}

BOOST_AUTO_TEST_CASE(order_updates_render_with_time_and_event) {
  order_update update{sample_order(), "succeed"};
  BOOST_TEST(render(update, {false, time_zone::utc})
             == "12:00:01.250 succeed      o-1 ref=r-1 138****8000 cmcc 1000 fen succeeded "
                "attempts=1 provider=p-cmcc accepted 2024-05-01 12:00:00 deadline 12:03:00\n");
  BOOST_TEST(render(update, {true, time_zone::utc})
             == R"({"event":"succeed","order":)" + to_json(update.snapshot).dump() + "}\n");
}

BOOST_AUTO_TEST_CASE(an_order_history_renders_as_its_story_or_one_object) {
  order_history story;
  story.snapshot = sample_order();
  auto entry = [](int64_t at, std::string event, std::string status) {
    history_entry e;
    e.at_ms = noon_ms + at;
    e.event = std::move(event);
    e.status = std::move(status);
    return e;
  };
  story.entries.push_back(entry(0, "accept", "accepted"));
  auto dispatch = entry(12, "dispatch", "dispatched");
  dispatch.provider = "p-cmcc";
  dispatch.attempt_no = 1;
  dispatch.request_id = "o-1@p-cmcc";
  dispatch.node = "node-2";
  dispatch.epoch = 3;
  story.entries.push_back(dispatch);
  auto lost = entry(2012, "lose_outcome", "unknown");
  lost.provider = "p-cmcc";
  lost.attempt_no = 1;
  lost.via = "call";
  lost.latency_us = 2000250;
  lost.detail = "no answer for 13800138000";
  story.entries.push_back(lost);
  auto found = entry(3050, "succeed", "succeeded");
  found.provider = "p-cmcc";
  found.attempt_no = 1;
  found.via = "query";
  found.latency_us = 812;
  found.provider_txn = "T-9";
  story.entries.push_back(found);
  const output_style text{false, time_zone::utc};
  BOOST_TEST(render(story, text)
             == describe_order(story.snapshot, time_zone::utc) + "\n"
                "  TIME          EVENT         STATUS      PROVIDER  ATTEMPT  LATENCY_MS  DETAIL\n"
                "  12:00:00.000  accept        accepted\n"
                "  12:00:00.012  dispatch      dispatched  p-cmcc          1              request "
                "o-1@p-cmcc, node node-2 epoch 3\n"
                "  12:00:02.012  lose_outcome  unknown     p-cmcc          1      2000.2  by call, "
                "no answer for 138****8000\n"
                "  12:00:03.050  succeed       succeeded   p-cmcc          1         0.8  by query, "
                "txn T-9\n");
  auto object = to_json(story);
  BOOST_TEST(object["order"]["id"] == "o-1");
  BOOST_REQUIRE(object["history"].size() == 4u);
  BOOST_TEST(object["history"][0]["event"] == "accept");
  BOOST_TEST(object["history"][0]["latency_us"] == -1);
  BOOST_TEST(object["history"][1]["request_id"] == "o-1@p-cmcc");
  BOOST_TEST(object["history"][1]["node"] == "node-2");
  BOOST_TEST(object["history"][1]["epoch"] == 3);
  BOOST_TEST(object["history"][2]["detail"] == "no answer for 13800138000");
  BOOST_TEST(object["history"][3]["via"] == "query");
  BOOST_TEST(object["history"][3]["latency_us"] == 812);
  BOOST_TEST(object["history"][3]["provider_txn"] == "T-9");
  auto line = render(story, {true, time_zone::utc});
  BOOST_TEST(line == object.dump() + "\n");
}

BOOST_AUTO_TEST_CASE(order_lists_render_as_table_or_json_lines) {
  output_style human{false, time_zone::utc};
  output_style json{true, time_zone::utc};
  BOOST_TEST(render(std::vector<order>{}, human) == "no orders match\n");
  BOOST_TEST(render(std::vector<order>{}, json) == "");
  auto second = sample_order();
  second.id = "o-22";
  second.client_ref = "r-22";
  second.amount_fen = 20000;
  second.status = order_status::accepted;
  second.provider = "";
  second.attempts = 0;
  second.last_error = "13800138000 busy";
  std::vector<order> orders{sample_order(), second};
  BOOST_TEST(render(orders, human)
             == "ID    REF   PHONE        CARRIER  AMOUNT_FEN  STATUS     ATTEMPTS  PROVIDER  "
                "ACCEPTED             DEADLINE  LAST_ERROR\n"
                "o-1   r-1   138****8000  cmcc           1000  succeeded         1  p-cmcc    "
                "2024-05-01 12:00:00  12:03:00\n"
                "o-22  r-22  138****8000  cmcc          20000  accepted          0            "
                "2024-05-01 12:00:00  12:03:00  138****8000 busy\n");
  BOOST_TEST(render(orders, json)
             == to_json(orders[0]).dump() + "\n" + to_json(orders[1]).dump() + "\n");
}

BOOST_AUTO_TEST_CASE(node_stats_render_as_summary_and_table_or_one_object) {
  node_stats stats;
  stats.node = "demo-1";
  stats.protocol = 1;
  stats.restarts = 2;
  stats.started_at_ms = noon_ms;
  stats.intake = {100, 2, 3, 4, 5, 6};
  stats.store = {50, 200, 1, 7, true};
  stats.callbacks = {5, 2, 1, 1, 3};
  stats.orders = {{"accepted", 3}, {"succeeded", 90}};
  provider_stats p;
  p.provider = "p-cmcc";
  p.calls = 12;
  p.queries = 1;
  p.succeeded = 10;
  p.failed = 1;
  p.retries = 2;
  p.breaker = "closed";
  p.store_lag_ms = 1234.4;
  stats.providers = {p};
  BOOST_TEST(render(stats, {false, time_zone::utc})
             == "node demo-1 (protocol 1), 2 actor restarts\n"
                "since the node started at 2024-05-01 12:00:00:\n"
                "  intake: 100 accepted, 2 existing, 3 rejected, 4 overloaded, 5 unavailable, "
                "6 in flight\n"
                "  store: healthy, 50 commits, 200 rows written, 1 failed commits, 7 pending "
                "writes\n"
                "  callbacks: 5 delivered, 2 failed attempts (tried again), 1 abandoned, 1 in "
                "flight\n"
                "  providers:\n"
                "    PROVIDER  BREAKER  CALLS  QUERIES  SUCCEEDED  FAILED  EXPIRED  RETRIES  "
                "UNKNOWN  FAILED_OVER  QUEUED  IN_FLIGHT  STORE_LAG_MS\n"
                "    p-cmcc    closed      12        1         10       1        0        2        "
                "0            0       0          0          1234\n"
                "whole store (every node, every run):\n"
                "  orders: 3 accepted, 90 succeeded\n"
                "  callbacks pending: 3\n");
  // The keys say the scope: this node's counters since it started, the store's orders.
  auto object = to_json(stats);
  BOOST_TEST(object["node"] == "demo-1");
  const auto& since_start = object["since_start"];
  BOOST_TEST(since_start["started_at_ms"] == noon_ms);
  BOOST_TEST(since_start["intake"]["overloaded"] == 4);
  BOOST_TEST(since_start["store"]["pending_writes"] == 7);
  BOOST_TEST(since_start["store"]["healthy"] == true);
  BOOST_TEST(since_start["providers"][0]["store_lag_ms"] == 1234);
  BOOST_TEST(since_start["providers"][0]["provider"] == "p-cmcc");
  BOOST_TEST(since_start["providers"][0]["retries"] == 2);
  BOOST_TEST(since_start["providers"][0]["breaker"] == "closed");
  BOOST_TEST(object["store_wide"]["orders"]["succeeded"] == 90);
  BOOST_TEST(since_start["callbacks"]["failed_attempts"] == 2);
  BOOST_TEST(object["store_wide"]["callbacks_pending"] == 3);
  BOOST_TEST(!object.contains("orders"));
  BOOST_TEST(!object.contains("intake"));
  auto line = render(stats, {true, time_zone::utc});
  BOOST_TEST(line == object.dump() + "\n");
  BOOST_TEST(line.find('\n') == line.size() - 1);  // one line

  node_stats empty;
  empty.store.healthy = false;
  auto text = render(empty, {false, time_zone::utc});
  BOOST_TEST(text.find("store: UNHEALTHY") != std::string::npos);
  BOOST_TEST(text.find("orders: none\n") != std::string::npos);
  BOOST_TEST(text.find("providers: none\n") != std::string::npos);
  BOOST_TEST(text.find("since the node started:\n") != std::string::npos, "start unknown");
  BOOST_TEST(!to_json(empty)["since_start"].contains("started_at_ms"));
}

BOOST_AUTO_TEST_CASE(deliveries_render_as_a_table_or_one_object_each) {
  callback_record pending{"o-1:succeeded", "o-1", "shop", "http://shop.example/cb", "pending",
                          2, noon_ms, noon_ms + 60000, 503, "answered 503", noon_ms + 15000};
  callback_record delivered{"o-1:unknown", "o-1", "shop", "http://shop.example/cb", "delivered",
                            1, noon_ms - 1000, 0, 200, "", noon_ms - 900};
  const output_style text{false, time_zone::utc};
  BOOST_TEST(render(std::vector<callback_record>{delivered, pending}, text)
             == "DELIVERY_ID    STATE      ATTEMPTS  LAST_HTTP  LAST_ERROR    NEXT_TRY             "
                "URL\n"
                "o-1:unknown    delivered         1        200  -             -                    "
                "http://shop.example/cb\n"
                "o-1:succeeded  pending           2        503  answered 503  2024-05-01 12:01:00  "
                "http://shop.example/cb\n");
  BOOST_TEST(render(std::vector<callback_record>{}, text) == "no result callbacks\n");
  auto object = to_json(pending);
  BOOST_TEST(object["next_attempt_at_ms"] == noon_ms + 60000);
  BOOST_TEST(object["last_http_status"] == 503);
  BOOST_TEST(render(std::vector<callback_record>{pending}, {true, time_zone::utc})
             == object.dump() + "\n");
  BOOST_TEST(render(pending, text)
             == "callback o-1:succeeded (pending, 2 attempts so far) due again at 2024-05-01 "
                "12:01:00\n");
}

BOOST_AUTO_TEST_CASE(cluster_stats_render_totals_a_row_per_node_and_the_unreachable) {
  node_stats asked;
  asked.node = "node-1";
  asked.protocol = 2;
  asked.started_at_ms = noon_ms;
  asked.intake = {10, 1, 0, 0, 0, 0};
  asked.store = {3, 30, 0, 0, true};
  asked.callbacks = {4, 1, 0, 0, 2};
  asked.orders = {{"succeeded", 30}};
  provider_stats cmcc;
  cmcc.provider = "p-cmcc";
  cmcc.calls = 12;
  cmcc.succeeded = 12;
  cmcc.breaker = "closed";
  asked.providers = {cmcc};
  node_stats other = asked;
  other.node = "node-2";
  other.restarts = 1;
  other.started_at_ms = noon_ms + 60000;
  other.intake = {20, 0, 2, 0, 0, 3};
  other.store = {4, 40, 0, 5, true};
  other.callbacks = {1, 0, 1, 1, 2};  // the same outbox: its pending ones are the same
  other.orders = {};
  other.providers.front().provider = "p-agg";
  const output_style text{false, time_zone::utc};
  const output_style json{true, time_zone::utc};

  // A cluster of one shows exactly as one node always has.
  auto alone = make_cluster_stats(asked, {}, {});
  BOOST_TEST(render(alone, text) == render(asked, text));
  BOOST_TEST(render(alone, json) == render(asked, json));

  auto cluster =
    make_cluster_stats(asked, {other}, {{"node-3", "127.0.0.1:4253", "no answer within 3 s"}});
  BOOST_TEST(render(cluster, text)
             == "cluster: 2 of 3 nodes answered, asked node-1 (protocol 2), 1 actor restarts\n"
                "since each node started (STARTED below), all nodes together:\n"
                "  intake: 30 accepted, 1 existing, 2 rejected, 0 overloaded, 0 unavailable, "
                "3 in flight\n"
                "  store: healthy, 7 commits, 70 rows written, 0 failed commits, 5 pending "
                "writes\n"
                "  callbacks: 5 delivered, 1 failed attempts (tried again), 1 abandoned, 1 in "
                "flight\n"
                "whole store (every node, every run):\n"
                "  orders: 30 succeeded\n"
                "  callbacks pending: 2\n"
                "nodes:\n"
                "  NODE    STARTED              RESTARTS  ACCEPTED  EXISTING  REJECTED  "
                "OVERLOADED  UNAVAILABLE  IN_FLIGHT  STORE    COMMITS  ROWS_WRITTEN  "
                "FAILED_COMMITS  PENDING_WRITES\n"
                "  node-1  2024-05-01 12:00:00         0        10         1         0  "
                "         0            0          0  healthy        3            30  "
                "             0               0\n"
                "  node-2  2024-05-01 12:01:00         1        20         0         2  "
                "         0            0          3  healthy        4            40  "
                "             0               5\n"
                "unreachable: node-3 at 127.0.0.1:4253: no answer within 3 s\n"
                "providers (since each node started):\n"
                "  PROVIDER  NODE    BREAKER  CALLS  QUERIES  SUCCEEDED  FAILED  EXPIRED  RETRIES  "
                "UNKNOWN  FAILED_OVER  QUEUED  IN_FLIGHT  STORE_LAG_MS\n"
                "  p-cmcc    node-1  closed      12        0         12       0        0        0  "
                "      0            0       0          0             0\n"
                "  p-agg     node-2  closed      12        0         12       0        0        0  "
                "      0            0       0          0             0\n");

  // The keys scripts read of one node carry the cluster's totals; then the nodes.
  auto object = to_json(cluster);
  BOOST_TEST(object["node"] == "node-1");
  BOOST_TEST(object["protocol"] == 2);
  BOOST_TEST(object["restarts"] == 1);
  BOOST_TEST(object["since_start"]["intake"]["accepted"] == 30);
  BOOST_TEST(object["since_start"]["store"]["commits"] == 7);
  BOOST_TEST(!object["since_start"].contains("started_at_ms"), "each node has its own");
  BOOST_TEST(object["store_wide"]["orders"]["succeeded"] == 30);
  BOOST_TEST(object["since_start"]["providers"].size() == 2u);
  BOOST_REQUIRE(object["nodes"].size() == 2u);
  BOOST_TEST(object["nodes"][1]["node"] == "node-2");
  BOOST_TEST(object["nodes"][1]["since_start"]["started_at_ms"] == noon_ms + 60000);
  BOOST_TEST(object["nodes"][1]["since_start"]["intake"]["accepted"] == 20);
  BOOST_TEST(!object["nodes"][0].contains("store_wide"));
  BOOST_REQUIRE(object["unreachable"].size() == 1u);
  BOOST_TEST(object["unreachable"][0]["node"] == "node-3");
  BOOST_TEST(object["unreachable"][0]["address"] == "127.0.0.1:4253");
  BOOST_TEST(object["unreachable"][0]["reason"] == "no answer within 3 s");
  auto line = render(cluster, json);
  BOOST_TEST(line == object.dump() + "\n");
}

BOOST_AUTO_TEST_CASE(failures_render_as_message_or_error_object) {
  failure_report f{exit_code::rejected, "not_found", "not_found: no order o-9"};
  BOOST_TEST(render(f, {false, time_zone::utc}) == "not_found: no order o-9\n");
  BOOST_TEST(render(f, {true, time_zone::utc})
             == R"({"error":{"code":"not_found","message":"not_found: no order o-9"}})"
                "\n");
}

BOOST_AUTO_TEST_CASE(text_table_aligns_numbers_right_and_trims_lines) {
  text_table table{{"NAME", "COUNT", "NOTE"}};
  table.add_row({"a", "5", ""});
  table.add_row({"long-name", "12345", "x"});
  table.add_row({"short"});  // missing cells are empty
  BOOST_TEST(table.render("> ")
             == "> NAME       COUNT  NOTE\n"
                "> a              5\n"
                "> long-name  12345  x\n"
                "> short\n");
  text_table decimals{{"MS", "TEXT"}};
  decimals.add_row({"0.8", "1.2.3"});
  decimals.add_row({"2000.2", ".5"});
  BOOST_TEST(decimals.render() == "    MS  TEXT\n"
                                  "   0.8  1.2.3\n"
                                  "2000.2  .5\n");
}

// --- the submission bookkeeping --------------------------------------------------------------

BOOST_AUTO_TEST_CASE(pipeline_sends_batches_within_the_window) {
  submit_pipeline pipeline{numbered(12), 5, 2};
  auto first = pipeline.next_batch();
  auto second = pipeline.next_batch();
  BOOST_REQUIRE(first);
  BOOST_REQUIRE(second);
  BOOST_TEST(!pipeline.next_batch());  // window full
  BOOST_TEST(first->first == 0u);
  BOOST_TEST(first->requests.size() == 5u);
  BOOST_TEST(second->first == 5u);
  BOOST_TEST(second->requests[0].client_ref == "r-5");
  BOOST_TEST(pipeline.batches_in_flight() == 2u);
  // The second answer comes first: nothing may be printed before the first batch's.
  pipeline.answered(second->first, accept_all(*second));
  BOOST_TEST(pipeline.take_ready().empty());
  auto third = pipeline.next_batch();
  BOOST_REQUIRE(third);
  BOOST_TEST(third->first == 10u);
  BOOST_TEST(third->requests.size() == 2u);  // the remainder
  pipeline.answered(first->first, accept_all(*first));
  auto ready = pipeline.take_ready();
  BOOST_TEST(ready.size() == 10u);
  BOOST_TEST(ready[0].request.client_ref == "r-0");
  BOOST_TEST(ready[9].request.client_ref == "r-9");
  BOOST_TEST(ready[0].line == 2u);
  BOOST_TEST(ready[0].stored.id == "o-0");
  BOOST_TEST(!pipeline.finished());
  pipeline.answered(third->first, accept_all(*third));
  BOOST_TEST(pipeline.take_ready().size() == 2u);
  BOOST_TEST(pipeline.finished());
  BOOST_TEST(!pipeline.next_batch());
  BOOST_TEST(pipeline.tally().accepted == 12u);
  BOOST_TEST((pipeline.tally().code == exit_code::ok));
}

BOOST_AUTO_TEST_CASE(pipeline_maps_each_result_to_its_order) {
  submit_pipeline pipeline{numbered(3), 10, 1};
  auto b = pipeline.next_batch();
  auto results = accept_all(*b);
  results[1].existing = true;
  results[2].error = topup::make_error(errc::unsupported_amount, "1234 fen");
  pipeline.answered(b->first, results);
  auto ready = pipeline.take_ready();
  BOOST_REQUIRE(ready.size() == 3u);
  BOOST_TEST((ready[0].outcome == submit_outcome::accepted));
  BOOST_TEST((ready[1].outcome == submit_outcome::existing));
  BOOST_TEST((ready[2].outcome == submit_outcome::rejected));
  BOOST_TEST(ready[2].failure.kind == "unsupported_amount");
  BOOST_TEST((pipeline.tally().code == exit_code::rejected));
  BOOST_TEST(pipeline.tally().existing == 1u);
  BOOST_TEST(pipeline.tally().rejected == 1u);
}

BOOST_AUTO_TEST_CASE(pipeline_keeps_sending_after_a_refused_batch) {
  submit_pipeline pipeline{numbered(4), 2, 1};
  auto b = pipeline.next_batch();
  pipeline.failed(b->first, classify(topup::make_error(errc::overloaded, "queues full")));
  auto next = pipeline.next_batch();
  BOOST_REQUIRE(next);  // the node answered: it is there, so the rest is still sent
  pipeline.answered(next->first, accept_all(*next));
  auto ready = pipeline.take_ready();
  BOOST_REQUIRE(ready.size() == 4u);
  BOOST_TEST((ready[0].outcome == submit_outcome::rejected));
  BOOST_TEST((ready[1].outcome == submit_outcome::rejected));
  BOOST_TEST((ready[2].outcome == submit_outcome::accepted));
  BOOST_TEST((pipeline.tally().code == exit_code::retry_later));
  BOOST_TEST(pipeline.finished());
}

BOOST_AUTO_TEST_CASE(retry_later_outranks_rejections_in_a_run) {
  submit_pipeline pipeline{numbered(3), 3, 1};
  auto a = pipeline.next_batch();
  std::vector<submit_result> results(3);
  results[0].error = topup::make_error(errc::invalid_phone, "bad");
  results[1].error = topup::make_error(errc::overloaded, "later");
  results[2].accepted.id = "o-2";
  pipeline.answered(a->first, results);
  BOOST_TEST(pipeline.tally().rejected == 2u);
  BOOST_TEST((pipeline.tally().code == exit_code::retry_later));
}

BOOST_AUTO_TEST_CASE(pipeline_stops_sending_when_a_batch_gets_no_answer) {
  submit_pipeline pipeline{numbered(10), 2, 2};
  auto a = pipeline.next_batch();
  auto b = pipeline.next_batch();
  pipeline.failed(a->first, classify(caf::make_error(caf::sec::request_timeout)));
  BOOST_TEST(!pipeline.next_batch());
  BOOST_TEST(!pipeline.finished());  // b is still in flight
  pipeline.answered(b->first, accept_all(*b));
  BOOST_TEST(pipeline.finished());
  auto ready = pipeline.take_ready();
  BOOST_REQUIRE(ready.size() == 10u);
  BOOST_TEST((ready[0].outcome == submit_outcome::unknown));
  BOOST_TEST((ready[2].outcome == submit_outcome::accepted));
  BOOST_TEST((ready[4].outcome == submit_outcome::not_sent));
  BOOST_TEST(ready[4].failure.message == "not sent: an earlier batch got no answer");
  BOOST_TEST(pipeline.tally().unknown == 2u);
  BOOST_TEST(pipeline.tally().not_sent == 6u);
  BOOST_TEST((pipeline.tally().code == exit_code::unreachable));
}

BOOST_AUTO_TEST_CASE(pipeline_abandons_batches_in_flight_when_the_node_goes_down) {
  submit_pipeline pipeline{numbered(7), 2, 2};
  auto a = pipeline.next_batch();
  auto b = pipeline.next_batch();
  pipeline.answered(a->first, accept_all(*a));
  pipeline.abandon(node_down("h:1", caf::error{}));
  BOOST_TEST(pipeline.finished());
  BOOST_TEST(!pipeline.next_batch());
  pipeline.answered(b->first, accept_all(*b));  // too late: ignored
  auto ready = pipeline.take_ready();
  BOOST_REQUIRE(ready.size() == 7u);
  BOOST_TEST((ready[1].outcome == submit_outcome::accepted));
  BOOST_TEST((ready[2].outcome == submit_outcome::unknown));
  BOOST_TEST(ready[2].failure.kind == "node_down");
  BOOST_TEST((ready[4].outcome == submit_outcome::not_sent));
  BOOST_TEST(ready[4].failure.message == "not sent: node h:1 went down");
  BOOST_TEST((pipeline.tally().code == exit_code::unreachable));
}

BOOST_AUTO_TEST_CASE(no_connection_gives_every_order_a_not_sent_line) {
  failure_report no_node{exit_code::unreachable, "cannot_connect_to_node", "nothing listens"};
  auto unsent = unsent_submissions(numbered(3), no_node);
  BOOST_REQUIRE(unsent.size() == 3u);
  for (size_t i = 0; i < unsent.size(); ++i) {
    BOOST_TEST((unsent[i].outcome == submit_outcome::not_sent));
    BOOST_TEST(unsent[i].line == numbered(3)[i].line);
    BOOST_TEST(unsent[i].failure.kind == "cannot_connect_to_node");
    BOOST_TEST(unsent[i].failure.message == "not sent: nothing listens");
    BOOST_TEST((exit_code_of(unsent[i]) == exit_code::unreachable));
  }
}

BOOST_AUTO_TEST_CASE(pipeline_stop_waits_for_batches_in_flight) {
  submit_pipeline pipeline{numbered(5), 2, 1};
  auto a = pipeline.next_batch();
  pipeline.stop({exit_code::interrupted, "interrupted", "not sent: interrupted"});
  BOOST_TEST(!pipeline.finished());
  BOOST_TEST(!pipeline.next_batch());
  pipeline.answered(a->first, accept_all(*a));
  BOOST_TEST(pipeline.finished());
  BOOST_TEST(pipeline.take_ready().size() == 5u);
  BOOST_TEST((pipeline.tally().code == exit_code::interrupted));
  BOOST_TEST(pipeline.tally().accepted == 2u);
  BOOST_TEST(pipeline.tally().not_sent == 3u);
}

BOOST_AUTO_TEST_CASE(pipeline_treats_a_short_answer_as_internal_error) {
  submit_pipeline pipeline{numbered(3), 3, 1};
  auto a = pipeline.next_batch();
  auto results = accept_all(*a);
  results.pop_back();
  pipeline.answered(a->first, results);
  auto ready = pipeline.take_ready();
  BOOST_REQUIRE(ready.size() == 3u);
  BOOST_TEST((ready[0].outcome == submit_outcome::unknown));
  BOOST_TEST(ready[0].failure.message == "the node answered a batch of 3 orders with 2 results");
  BOOST_TEST((pipeline.tally().code == exit_code::internal));
}

BOOST_AUTO_TEST_CASE(summary_line_counts_outcomes_and_rate) {
  submit_tally tally;
  tally.accepted = 990;
  tally.existing = 5;
  tally.rejected = 5;
  BOOST_TEST(summary_line(tally, 0.5)
             == "1000 orders in 0.50 s (2000/s): 990 accepted, 5 existing, 5 rejected");
  tally.unknown = 3;
  tally.not_sent = 7;
  BOOST_TEST(summary_line(tally, 0)
             == "1010 orders in 0.00 s (0/s): 990 accepted, 5 existing, 5 rejected, 3 unknown "
                "(no answer; resubmit them), 7 not sent");
}

// --- progress bar ----------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(progress_renders_bar_percent_and_rate) {
  BOOST_TEST(render_progress(0, 100, 0, 10) == "[----------]   0% 0/100 orders, 0/s");
  BOOST_TEST(render_progress(50, 100, 2, 10) == "[#####-----]  50% 50/100 orders, 25/s");
  BOOST_TEST(render_progress(100, 100, 1, 10) == "[##########] 100% 100/100 orders, 100/s");
  BOOST_TEST(render_progress(120, 100, 1, 4) == "[####] 100% 100/100 orders, 100/s");
  BOOST_TEST(render_progress(0, 0, 1, 4) == "[####] 100% 0/0 orders, 0/s");
}

BOOST_AUTO_TEST_CASE(progress_bar_draws_only_when_enabled) {
  std::ostringstream off;
  progress_bar hidden{off, 10, false};
  hidden.update(5);
  hidden.clear();
  BOOST_TEST(off.str().empty());

  std::ostringstream on;
  progress_bar shown{on, 10, true};
  shown.update(1);
  shown.update(2);  // within 100 ms of the last draw: skipped
  shown.update(10);  // the final count is always drawn
  auto text = on.str();
  BOOST_TEST(text.find("1/10 orders") != std::string::npos);
  BOOST_TEST(text.find("2/10 orders") == std::string::npos);
  BOOST_TEST(text.find("10/10 orders") != std::string::npos);
  on.str("");
  shown.clear();
  BOOST_TEST(on.str() == "\r\033[K");
  on.str("");
  shown.clear();  // nothing visible: nothing to erase
  BOOST_TEST(on.str().empty());
}

// --- the command line ------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(defaults_and_global_options) {
  parse_run stats{{"stats"}};
  BOOST_REQUIRE(stats.ok());
  BOOST_TEST((stats.options().command == command_kind::stats));
  BOOST_TEST(stats.options().node.to_string() == "127.0.0.1:4242");
  BOOST_TEST(!stats.options().json);
  BOOST_TEST(stats.options().timeout.count() == 10000);
  BOOST_TEST(stats.options().connection_timeout.count() == 5000);
  BOOST_TEST((stats.options().zone == time_zone::local));
  BOOST_TEST(!stats.options().tls.enabled);

  parse_run custom{{"--node", "[::1]:7000", "--timeout", "1.5s", "--utc", "-q", "stats",
                    "--json"}};  // global options may follow the subcommand
  BOOST_REQUIRE(custom.ok());
  BOOST_TEST(custom.options().node.host == "::1");
  BOOST_TEST(custom.options().node.port == 7000);
  BOOST_TEST(custom.options().timeout.count() == 1500);
  BOOST_TEST(custom.options().json);
  BOOST_TEST((custom.options().zone == time_zone::utc));
  BOOST_TEST((custom.options().level == verbosity::quiet));
}

BOOST_AUTO_TEST_CASE(node_comes_from_the_environment_unless_given) {
  ::setenv("TOPUP_NODE", "10.0.0.5:5000", 1);
  std::vector<const char*> argv{"topup-cli", "stats"};
  std::ostringstream out, err;
  auto from_env = parse_command_line(2, argv.data(), noon_ms, out, err);
  ::unsetenv("TOPUP_NODE");
  BOOST_REQUIRE(from_env.options);
  BOOST_TEST(from_env.options->node.to_string() == "10.0.0.5:5000");
}

BOOST_AUTO_TEST_CASE(submit_one_order_or_a_file) {
  parse_run one{{"submit", "--ref", "r-1", "--phone", "13800138000", "--amount", "1000"}};
  BOOST_REQUIRE(one.ok());
  BOOST_TEST((one.options().command == command_kind::submit));
  BOOST_REQUIRE(one.options().single_order);
  BOOST_TEST(one.options().single_order->client_ref == "r-1");
  BOOST_TEST(one.options().single_order->phone == "13800138000");
  BOOST_TEST(one.options().single_order->amount_fen == 1000);
  BOOST_TEST(one.options().single_order->merchant.empty());

  parse_run for_merchant{{"submit", "--merchant", "shop-2", "--ref", "r-1", "--phone",
                          "13800138000", "--amount", "1000"}};
  BOOST_REQUIRE(for_merchant.ok());
  BOOST_TEST(for_merchant.options().single_order->merchant == "shop-2");

  parse_run ported{{"submit", "--ref", "r-1", "--phone", "13800138000", "--amount", "1000",
                    "--carrier", "ctcc"}};
  BOOST_REQUIRE(ported.ok());
  BOOST_TEST(ported.options().single_order->carrier == "ctcc");

  temp_file orders{"r-1,13800138000,1000\n"};
  parse_run file{{"submit", "--file", orders.path.string(), "--format", "csv", "--batch", "100",
                  "--in-flight", "8", "--skip-malformed"}};
  BOOST_REQUIRE(file.ok());
  BOOST_TEST(!file.options().single_order);
  BOOST_TEST(file.options().order_file == orders.path.string());
  BOOST_TEST((file.options().format == input_format::csv));
  BOOST_TEST(file.options().batch_size == 100u);
  BOOST_TEST(file.options().batches_in_flight == 8u);
  BOOST_TEST(file.options().skip_malformed);

  parse_run stdin_file{{"submit", "--file", "-", "--merchant", "shop-2"}};
  BOOST_REQUIRE(stdin_file.ok());
  BOOST_TEST(stdin_file.options().merchant == "shop-2");
  BOOST_TEST(stdin_file.options().order_file == "-");
  BOOST_TEST(stdin_file.options().batch_size == 500u);
  BOOST_TEST(stdin_file.options().batches_in_flight == 4u);
}

BOOST_AUTO_TEST_CASE(status_list_watch_cancel_arguments) {
  parse_run by_id{{"status", "o-1"}};
  BOOST_REQUIRE(by_id.ok());
  BOOST_TEST((by_id.options().command == command_kind::status));
  BOOST_TEST(by_id.options().order_id == "o-1");
  parse_run by_ref{{"status", "--ref", "r-1"}};
  BOOST_REQUIRE(by_ref.ok());
  BOOST_TEST(by_ref.options().client_ref == "r-1");
  BOOST_TEST(!by_ref.options().history);
  parse_run story{{"status", "o-1", "--history"}};
  BOOST_REQUIRE(story.ok());
  BOOST_TEST(story.options().history);
  BOOST_TEST(story.options().order_id == "o-1");
  parse_run by_order{{"redeliver", "o-1"}};
  BOOST_REQUIRE(by_order.ok());
  BOOST_TEST((by_order.options().command == command_kind::redeliver));
  BOOST_TEST(by_order.options().order_id == "o-1");
  BOOST_TEST(by_order.options().delivery_id.empty());
  parse_run by_delivery{{"redeliver", "--delivery", "o-1:unknown"}};
  BOOST_REQUIRE(by_delivery.ok());
  BOOST_TEST(by_delivery.options().order_id.empty());
  BOOST_TEST(by_delivery.options().delivery_id == "o-1:unknown");

  parse_run list{{"--utc", "list", "--status", "failed", "--carrier", "cmcc", "--provider",
                  "p-agg", "--since", "15m", "--limit", "20"}};
  BOOST_REQUIRE(list.ok());
  const auto& filter = list.options().filter;
  BOOST_TEST(filter.status == "failed");
  BOOST_TEST(filter.carrier == "cmcc");
  BOOST_TEST(filter.provider == "p-agg");
  BOOST_TEST(filter.since_ms == noon_ms - 15 * 60000);
  BOOST_TEST(filter.limit == 20u);
  parse_run plain_list{{"list"}};
  BOOST_REQUIRE(plain_list.ok());
  BOOST_TEST(plain_list.options().filter.limit == 100u);
  BOOST_TEST(plain_list.options().filter.since_ms == 0);

  parse_run watch_all{{"watch", "--count", "3"}};
  BOOST_REQUIRE(watch_all.ok());
  BOOST_TEST((watch_all.options().command == command_kind::watch));
  BOOST_TEST(watch_all.options().order_id.empty());
  BOOST_TEST(watch_all.options().event_count == 3u);
  parse_run watch_one{{"watch", "o-7"}};
  BOOST_REQUIRE(watch_one.ok());
  BOOST_TEST(watch_one.options().order_id == "o-7");
  BOOST_TEST(watch_one.options().event_count == 0u);

  parse_run cancel{{"cancel", "o-9"}};
  BOOST_REQUIRE(cancel.ok());
  BOOST_TEST((cancel.options().command == command_kind::cancel));
  BOOST_TEST(cancel.options().order_id == "o-9");
}

BOOST_AUTO_TEST_CASE(tls_needs_all_three_readable_files) {
  temp_file ca{"ca"}, cert{"cert"}, key{"key"};
  parse_run full{{"--tls", "--ca", ca.path.string(), "--cert", cert.path.string(), "--key",
                  key.path.string(), "stats"}};
  BOOST_REQUIRE(full.ok());
  BOOST_TEST(full.options().tls.enabled);
  BOOST_TEST(full.options().tls.ca_file == ca.path.string());
  BOOST_TEST(full.options().tls.certificate == cert.path.string());
  BOOST_TEST(full.options().tls.key == key.path.string());

  // A CA without a certificate would make CAF 0.17 terminate the process: refused up front.
  parse_run no_cert{{"--tls", "--ca", ca.path.string(), "stats"}};
  BOOST_TEST(!no_cert.ok());
  BOOST_TEST((no_cert.result.code == exit_code::bad_input));
  BOOST_TEST(no_cert.err.find("--tls needs --ca, --cert and --key; --cert is missing")
               != std::string::npos,
             no_cert.err);
  parse_run unreadable{{"--tls", "--ca", ca.path.string(), "--cert", "/nonexistent/cert.pem",
                        "--key", key.path.string(), "stats"}};
  BOOST_TEST(!unreadable.ok());
  BOOST_TEST(unreadable.err.find("--cert /nonexistent/cert.pem: cannot read the file")
               != std::string::npos,
             unreadable.err);
  parse_run without_tls{{"--ca", ca.path.string(), "stats"}};
  BOOST_TEST(!without_tls.ok());
  BOOST_TEST(without_tls.err.find("--ca requires --tls") != std::string::npos, without_tls.err);
}

BOOST_AUTO_TEST_CASE(bad_arguments_exit_with_bad_input_and_say_why) {
  const std::pair<std::vector<std::string>, std::string> cases[] = {
    {{}, "A subcommand is required"},
    {{"stats", "extra"}, "extra"},
    {{"frobnicate"}, "A subcommand is required"},
    {{"--bogus", "stats"}, "--bogus"},
    {{"--node", "localhost", "stats"}, "expected HOST:PORT"},
    {{"--node", "h:99999", "stats"}, "port must be"},
    {{"--timeout", "soon", "stats"}, "not a duration"},
    {{"--timeout", "0", "stats"}, "--timeout must be longer than 0"},
    {{"--connection-timeout", "500ms", "stats"}, "longer than the heartbeat interval"},
    {{"-q", "-v", "stats"}, "excludes"},
    {{"submit"}, "submit needs --ref, --phone and --amount (one order) or --file"},
    {{"submit", "--ref", "r"}, "needs all of --ref, --phone and --amount"},
    {{"submit", "--file", "-", "--carrier", "ctcc"}, "name theirs in JSON lines"},
    {{"submit", "--ref", "r", "--phone", "1", "--amount", "ten"}, "--amount"},
    {{"submit", "--ref", "r", "--phone", "1", "--amount", "01750"},
     "--amount: invalid_amount: '01750' has a leading zero"},
    {{"submit", "--ref", "r", "--phone", "1", "--amount", "0x1388"},
     "--amount: invalid_amount: '0x1388' is not a whole number of fen"},
    {{"submit", "--ref", "r", "--phone", "1", "--amount", ""},
     "--amount: invalid_amount: the amount is empty"},
    {{"submit", "--ref", "r", "--phone", "1", "--amount", "+5000"}, "has a sign"},
    {{"submit", "--ref", "r", "--phone", "1", "--amount", " 5000"}, "contains white space"},
    {{"submit", "--ref", "r", "--phone", "1", "--amount", "18446744073709551616"}, "too large"},
    {{"submit", "--ref", "r", "--phone", "1", "--amount", "1", "--file", "-"}, "not both"},
    {{"submit", "--file", "/nonexistent/orders.csv"}, "cannot read the file"},
    {{"submit", "--file", "-", "--format", "xml"}, "--format"},
    {{"submit", "--file", "-", "--batch", "0"}, "--batch"},
    {{"status"}, "status takes an order ID or --ref REF"},
    {{"status", "o-1", "--ref", "r"}, "status takes an order ID or --ref REF"},
    {{"redeliver"}, "redeliver takes an order ID or --delivery DELIVERY_ID"},
    {{"redeliver", "o-1", "--delivery", "o-1:failed"}, "redeliver takes an order ID or"},
    {{"list", "--status", "lost"}, "--status"},
    {{"list", "--limit", "0"}, "--limit"},
    {{"list", "--limit", "10001"}, "--limit"},
    {{"list", "--since", "tomorrow"}, "--since 'tomorrow'"},
    {{"cancel"}, "id is required"},
  };
  for (const auto& [args, message] : cases) {
    parse_run run{args};
    std::string joined;
    for (const auto& arg : args)
      joined += arg + " ";
    BOOST_TEST_CONTEXT("topup-cli " << joined) {
      BOOST_TEST(!run.ok());
      BOOST_TEST((run.result.code == exit_code::bad_input));
      BOOST_TEST(run.err.find(message) != std::string::npos, run.err);
    }
  }
}

BOOST_AUTO_TEST_CASE(help_prints_usage_and_exit_codes_and_succeeds) {
  parse_run help{{"--help"}};
  BOOST_TEST(!help.ok());
  BOOST_TEST((help.result.code == exit_code::ok));
  BOOST_TEST(help.out.find("Usage: topup-cli") != std::string::npos);
  BOOST_TEST(help.out.find("Exit codes:") != std::string::npos);
  BOOST_TEST(help.out.find("--skip-malformed") != std::string::npos);
  parse_run submit_help{{"submit", "--help"}};
  BOOST_TEST((submit_help.result.code == exit_code::ok));
  BOOST_TEST(submit_help.out.find("--file") != std::string::npos);
}
