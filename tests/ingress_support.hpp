#pragma once

// What the queue-ingress tests (Redis list, RabbitMQ queue) share: running the shop's PHP
// scripts of tests/php, and the audit of a run against the providers' ledgers.

#include "apps/bench/order_audit.hpp"
#include "apps/bench/store_reader.hpp"
#include "providers/ledger.hpp"
#include "tests/process_support.hpp"
#include "tests/test_support.hpp"

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cstdlib>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace topup::testing {

inline std::string source_path(const std::string& relative) {
  return std::string{std::getenv("TOPUP_SOURCE_DIR")} + "/" + relative;
}

/// Runs a PHP script of tests/php to its end (it must exit 0); its stdout lines.
inline std::vector<std::string> run_php(const std::string& script, std::vector<std::string> args,
                                        const temp_dir& dir) {
  using steady = std::chrono::steady_clock;
  args.insert(args.begin(), {"/usr/bin/php", source_path("tests/php/" + script)});
  child_process php{args, dir.file("php.log")};
  line_reader out{php.stdout_fd()};
  out.read_to_end(steady::now() + std::chrono::seconds{60});
  BOOST_REQUIRE_MESSAGE(php.wait_for_exit(steady::now() + std::chrono::seconds{10}),
                        script << " did not end");
  BOOST_REQUIRE_MESSAGE(php.exit_code().value_or(-1) == 0,
                        script << " " << php.ended() << ": " << tail_of(dir.file("php.log")));
  return out.lines();
}

/// The store of a test node in `dir` against its providers' ledgers: every order of each
/// run (client_ref prefix, count) stored once and succeeded, and recharged exactly once.
inline void audit_store(const temp_dir& dir,
                        const std::vector<std::pair<std::string, size_t>>& runs) {
  store_config store;
  store.sqlite_path = dir.file("orders.db");
  std::vector<bench::audited_order> audited;
  size_t expected = 0;
  for (const auto& [prefix, count] : runs) {
    auto rows = bench::store_reader{store}.orders(prefix + "-");
    std::set<std::string> refs;
    for (const auto& [ref, row] : rows) {
      BOOST_TEST(refs.insert(ref).second, ref << " is stored twice");
      BOOST_TEST(row.status == "succeeded", ref << " ended " << row.status);
      audited.push_back(bench::audited(row));
    }
    BOOST_TEST(refs.size() == count);
    expected += count;
  }
  auto audit = bench::audit_ledgers(audited, ledger::records(ledger_paths(dir.path())));
  BOOST_TEST(audit.agrees(), bench::describe(audit));
  BOOST_TEST(audit.succeeded == expected);
  BOOST_TEST(audit.duplicates == 0u);
}

} // namespace topup::testing
