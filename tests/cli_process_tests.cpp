#define BOOST_TEST_MODULE cli_process_tests
#include <boost/test/unit_test.hpp>

// The real topup-cli against a real topup-node: what a hostile user can type or put in a
// file (amounts in other notations, text that is not UTF-8, blanks, full-width digits), what
// a node can send back (a reference stored before intake refused such text), and the exit
// code of each outcome, retryable refusals included.

#include "domain/order.hpp"
#include "persistence/order_store.hpp"
#include "tests/process_support.hpp"
#include "tests/test_support.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <thread>
#include <optional>
#include <string>
#include <vector>

using namespace topup;
using namespace topup::testing;
using namespace std::chrono_literals;

namespace {

using steady = std::chrono::steady_clock;

/// How one topup-cli run ended.
using cli_result = program_run;

const std::string replacement_character = "\xEF\xBF\xBD";

struct cli_fixture {
  temp_dir dir;
  nlohmann::json node_cfg = test_node_config(dir.path());
  std::optional<node_process> node;

  /// Writes node_cfg and starts the node.
  void start() {
    write_json(dir.file("node.json"), node_cfg);
    node.emplace(TOPUP_NODE, dir.file("node.json"), dir.file("node.log"));
  }

  /// Runs topup-cli against the node with `args` (after --node and --timeout).
  cli_result cli(const std::vector<std::string>& args) {
    std::vector<std::string> command{TOPUP_CLI, "--node",
                                     "127.0.0.1:" + std::to_string(node->port()), "--timeout",
                                     "10s"};
    command.insert(command.end(), args.begin(), args.end());
    return run_program(command, dir.file("cli.err"));
  }

  /// A file in the test's directory with `content`; its path.
  std::string file(const std::string& name, const std::string& content) {
    auto path = dir.file(name);
    std::ofstream{path, std::ios::binary | std::ios::trunc} << content;
    return path;
  }

  /// Every order the node lists (JSON lines parsed).
  std::vector<nlohmann::json> listed() {
    auto list = cli({"--json", "list"});
    BOOST_TEST_REQUIRE((list.code == 0), list.describe());
    std::vector<nlohmann::json> orders;
    for (const auto& line : list.out)
      orders.push_back(nlohmann::json::parse(line));
    return orders;
  }
};

/// Each line is one JSON object, as --json promises, and text a JSON reader takes.
void check_json_lines(const cli_result& run) {
  BOOST_TEST(!run.out.empty(), run.describe());
  for (const auto& line : run.out)
    BOOST_TEST((nlohmann::json::accept(line) && nlohmann::json::parse(line).is_object()),
               "not a JSON object: " << line << "\n" << run.describe());
}

/// The "code" of the error object on a --json line of a rejected submission.
std::string error_code_of(const std::string& line) {
  auto object = nlohmann::json::parse(line, nullptr, false);
  if (!object.is_object() || !object.contains("error"))
    return "(no error in " + line + ")";
  return object["error"].value("code", "(no code)");
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(cli_against_a_node, cli_fixture)

BOOST_AUTO_TEST_CASE(an_amount_that_is_not_a_plain_decimal_exits_2_and_sends_nothing) {
  start();
  // A lenient reader (strtol, base 0) takes 01750 for 1000 fen (octal), 0x1388 for 5000 and
  // "" for 0: each is refused here.
  for (std::string amount : {"01750", "0x1388", "05000", "", "+5000", " 5000", "5000 ",
                             "18446744073709551616", "1e3", "\xEF\xBC\x95\xEF\xBC\x90\xEF\xBC\x90"
                                                           "\xEF\xBC\x90"}) {
    BOOST_TEST_CONTEXT("--amount '" << amount << "'") {
      auto run = cli({"submit", "--ref", "r-amount", "--phone", "13800138000", "--amount", amount});
      BOOST_TEST((run.code == 2), run.describe());
      BOOST_TEST(run.err.find("--amount: invalid_amount: ") != std::string::npos, run.describe());
    }
  }
  // The same texts in a file: reported with their lines, nothing sent.
  auto csv = file("orders.csv", "client_ref,phone,amount_fen\n"
                                "r-1,13800138000,01750\n"
                                "r-2,13800138000,0x1388\n"
                                "r-3,13800138000, 5000\n"
                                "r-4,13800138000,\n");
  auto from_csv = cli({"submit", "--file", csv});
  BOOST_TEST((from_csv.code == 2), from_csv.describe());
  for (auto line : {":2: amount_fen: invalid_amount", ":3: amount_fen: invalid_amount",
                    ":4: amount_fen: invalid_amount", ":5: amount_fen: invalid_amount"})
    BOOST_TEST(from_csv.err.find(line) != std::string::npos, line << "\n" << from_csv.describe());
  auto jsonl = file("orders.jsonl",
                    "{\"client_ref\":\"r-5\",\"phone\":\"13800138000\",\"amount_fen\":-5000}\n"
                    "{\"client_ref\":\"r-6\",\"phone\":\"13800138000\",\"amount_fen\":1e3}\n");
  auto from_jsonl = cli({"submit", "--file", jsonl});
  BOOST_TEST((from_jsonl.code == 2), from_jsonl.describe());
  BOOST_TEST(listed().empty());
  // A plain decimal is read as written.
  auto plain = cli({"--json", "submit", "--ref", "r-plain", "--phone", "13800138000", "--amount",
                    "5000"});
  BOOST_TEST_REQUIRE((plain.code == 0), plain.describe());
  BOOST_TEST(nlohmann::json::parse(plain.out.at(0))["order"]["amount_fen"] == 5000);
}

BOOST_AUTO_TEST_CASE(text_that_is_not_utf8_is_refused_as_invalid_text_and_not_stored) {
  start();
  for (std::string ref : {"r-\xFF\xFE", "caf\xE9", "r\x1B[2J"}) {
    auto run = cli({"--json", "submit", "--ref", ref, "--phone", "13800138000", "--amount",
                    "1000"});
    BOOST_TEST((run.code == 1), run.describe());
    check_json_lines(run);
    if (!run.out.empty())
      BOOST_TEST(error_code_of(run.out.front()) == "invalid_text", run.describe());
    BOOST_TEST(run.out.size() == 1u, run.describe());
  }
  BOOST_TEST(listed().empty());
}

BOOST_AUTO_TEST_CASE(a_reference_means_the_same_on_the_command_line_and_in_files) {
  start();
  const std::pair<std::string, std::string> refs[] = {
    {" r-1", "invalid_text"}, {"r-2 ", "invalid_text"}, {"   ", "missing_field"},
    {"\xE3\x80\x80", "missing_field"},  // an ideographic space alone
  };
  std::string csv = "client_ref,phone,amount_fen\n";
  std::string jsonl;
  for (const auto& [ref, code] : refs) {
    auto run = cli({"--json", "submit", "--ref", ref, "--phone", "13800138000", "--amount",
                    "1000"});
    BOOST_TEST((run.code == 1), run.describe());
    check_json_lines(run);
    BOOST_TEST(error_code_of(run.out.at(0)) == code, run.describe());
    csv += "\"" + ref + "\",13800138000,1000\n";
    jsonl += nlohmann::json{{"client_ref", ref}, {"phone", "13800138000"}, {"amount_fen", 1000}}
               .dump()
             + "\n";
  }
  // Unquoted in CSV, blanks are part of the field just the same.
  csv += " r-5,13800138000,1000\n";
  for (const auto& path : {file("refs.csv", csv), file("refs.jsonl", jsonl)}) {
    auto run = cli({"--json", "submit", "--file", path});
    BOOST_TEST((run.code == 1), run.describe());
    check_json_lines(run);
    for (size_t i = 0; i < std::size(refs) && i < run.out.size(); ++i)
      BOOST_TEST(error_code_of(run.out[i]) == refs[i].second, run.out[i]);
  }
  BOOST_TEST(listed().empty());
}

// A number ported to another carrier keeps its prefix: the order that names its carrier goes
// to that carrier's providers, from the command line and from a file alike.
BOOST_AUTO_TEST_CASE(an_order_naming_its_carrier_is_recharged_by_that_carriers_providers) {
  start();
  auto one = cli({"--json", "submit", "--ref", "ported-1", "--phone", "13800138000", "--amount",
                  "1000", "--carrier", "ctcc"});
  BOOST_TEST((one.code == 0), one.describe());
  auto lines = file("ported.jsonl", R"({"client_ref":"ported-2","phone":"13000000001",)"
                                    R"("amount_fen":1000,"carrier":"cmcc"})"
                                    "\n");
  auto from_file = cli({"--json", "submit", "--file", lines});
  BOOST_TEST((from_file.code == 0), from_file.describe());
  auto unknown = cli({"--json", "submit", "--ref", "ported-3", "--phone", "13800138000",
                      "--amount", "1000", "--carrier", "mars"});
  BOOST_TEST((unknown.code == 1), unknown.describe());
  BOOST_TEST(error_code_of(unknown.out.at(0)) == "unknown_carrier", unknown.describe());

  const std::map<std::string, std::pair<std::string, std::set<std::string>>> expected{
    {"ported-1", {"ctcc", {"p-ctcc", "p-agg"}}}, {"ported-2", {"cmcc", {"p-cmcc", "p-agg"}}}};
  std::vector<nlohmann::json> orders;
  for (auto until = steady::now() + 30s; steady::now() < until;) {
    orders = listed();
    auto final = std::count_if(orders.begin(), orders.end(), [](const nlohmann::json& o) {
      return o["status"] == "succeeded" || o["status"] == "failed";
    });
    if (orders.size() == expected.size() && static_cast<size_t>(final) == orders.size())
      break;
    std::this_thread::sleep_for(50ms);
  }
  BOOST_TEST_REQUIRE(orders.size() == expected.size());
  for (const auto& o : orders) {
    const auto& [carrier, providers] = expected.at(o["client_ref"].get<std::string>());
    BOOST_TEST(o["carrier"] == carrier, o.dump());
    BOOST_TEST(o["status"] == "succeeded", o.dump());
    BOOST_TEST(providers.count(o["provider"].get<std::string>()) == 1u, o.dump());
  }
}

BOOST_AUTO_TEST_CASE(limits_count_characters_and_full_width_digits_are_an_invalid_phone) {
  start();
  std::string thirty_characters;
  for (int i = 0; i < 30; ++i)
    thirty_characters += "\xE8\xAE\xA2";  // 订: 90 bytes in all
  auto chinese = cli({"--json", "submit", "--ref", thirty_characters, "--phone", "13800138000",
                      "--amount", "1000"});
  BOOST_TEST((chinese.code == 0), chinese.describe());
  std::string full_width;
  for (char digit : std::string{"13800138000"})
    full_width += std::string{"\xEF\xBC"} + static_cast<char>(0x90 + (digit - '0'));
  auto phone = cli({"--json", "submit", "--ref", "r-wide", "--phone", full_width, "--amount",
                    "1000"});
  BOOST_TEST((phone.code == 1), phone.describe());
  BOOST_TEST(error_code_of(phone.out.at(0)) == "invalid_phone", phone.describe());
  // Human output masks the number without cutting a character.
  auto human = cli({"submit", "--ref", "r-wide", "--phone", full_width, "--amount", "1000"});
  BOOST_TEST((human.code == 1), human.describe());
  BOOST_TEST(human.out.at(0).find("\xEF\xBC\x91\xEF\xBC\x93\xEF\xBC\x98****") != std::string::npos,
             human.describe());
}

BOOST_AUTO_TEST_CASE(odd_text_a_node_sends_is_printed_as_valid_json_with_exit_0) {
  // A reference stored before intake refused such bytes (written here straight into the
  // node's store): once, every --json command that printed it wrote "unhandled exception
  // ... type_error.316" on stdout and exited 0.
  {
    store_config cfg;
    cfg.sqlite_path = dir.file("orders.db");
    order_store seeded{cfg};
    auto odd = stored_order("o-odd", "r-\xFF\xFE\x1B[2J", 1, order_status::succeeded);
    odd.last_error = "provider said \xE4";
    seeded.insert({odd});
  }
  start();
  const std::vector<std::vector<std::string>> commands{
    {"--json", "status", "o-odd"},
    {"--json", "status", "--ref", "r-\xFF\xFE\x1B[2J"},
    {"--json", "list"},
    {"--json", "watch", "o-odd"},  // final already: prints the current state and ends
  };
  for (const auto& args : commands) {
    BOOST_TEST_CONTEXT(args.at(1)) {
      auto run = cli(args);
      BOOST_TEST((run.code == 0), run.describe());
      check_json_lines(run);
      BOOST_TEST(run.out.at(0).find("unhandled exception") == std::string::npos);
      BOOST_TEST(run.out.at(0).find(replacement_character) != std::string::npos, run.describe());
    }
  }
  // Human output: no escape sequence reaches the terminal.
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"status", "o-odd"}, std::vector<std::string>{"list"}}) {
    auto run = cli(args);
    BOOST_TEST((run.code == 0), run.describe());
    for (const auto& line : run.out)
      BOOST_TEST(line.find('\x1B') == std::string::npos, line);
  }
}

BOOST_AUTO_TEST_CASE(a_retryable_refusal_exits_5_not_like_invalid_input) {
  // One order may wait for the store: of a batch of two, the second is refused overloaded.
  node_cfg["store"]["max_pending_writes"] = 1;
  start();
  auto orders = file("two.csv", "r-1,13800138000,1000\nr-2,13800138000,1000\n");
  auto run = cli({"--json", "submit", "--file", orders});
  BOOST_TEST((run.code == 5), run.describe());
  BOOST_REQUIRE(run.out.size() == 2u);
  BOOST_TEST(nlohmann::json::parse(run.out[0])["outcome"] == "accepted");
  BOOST_TEST(error_code_of(run.out[1]) == "overloaded");
  // Invalid input stays 1: "do not retry".
  auto invalid = cli({"submit", "--ref", "r-3", "--phone", "1380013800", "--amount", "1000"});
  BOOST_TEST((invalid.code == 1), invalid.describe());
}

BOOST_AUTO_TEST_SUITE_END()
