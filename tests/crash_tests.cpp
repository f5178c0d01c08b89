// Guarantee 1 of README.md, "durable before ack", tested the hard way: a child process
// (intake_crash_child) submits orders through the real store and intake and prints each ack;
// we SIGKILL it at several points and check that every order it acknowledged is in the file,
// with the deadline promised at the ack: a restarted engine closes each order by the stored
// deadline, so one later than the client's ack + limit would be a promise broken by the crash.

#define BOOST_TEST_MODULE crash_tests
#include <boost/test/unit_test.hpp>

#include "actors/intake.hpp"
#include "persistence/order_store.hpp"
#include "tests/process_support.hpp"
#include "tests/test_support.hpp"

#include <soci/soci.h>
#include <soci/sqlite3/soci-sqlite3.h>

#include <chrono>
#include <set>
#include <sstream>
#include <string>
#include <vector>

using namespace topup;
using namespace topup::testing;

namespace {

using steady = std::chrono::steady_clock;

/// Every wait on the child ends by then: a hung child fails the test instead of ctest's timeout.
constexpr auto wait_limit = std::chrono::seconds(60);

/// The child's intake gives every order the default limit.
const int64_t deadline_limit_ms = intake_options{}.deadline_limit_ms;

struct acknowledgement {
  std::string id;
  std::string client_ref;
  int64_t acked_at_ms = 0;  ///< the child's wall clock when the ack arrived
};

std::vector<acknowledgement> parse_acks(const std::vector<std::string>& lines) {
  std::vector<acknowledgement> acks;
  for (const auto& line : lines) {
    std::istringstream words{line};
    acknowledgement ack;
    std::string rest;
    BOOST_REQUIRE_MESSAGE((words >> ack.id >> ack.client_ref >> ack.acked_at_ms)
                            && !(words >> rest),
                          "malformed ack line '" << line << "'");
    acks.push_back(std::move(ack));
  }
  return acks;
}

/// What the database says about each acknowledged order; empty when all are there intact.
std::vector<std::string> missing_or_wrong(order_store& db,
                                          const std::vector<acknowledgement>& acks) {
  std::vector<std::string> problems;
  for (const auto& ack : acks) {
    auto stored = db.find_by_id(ack.id);
    if (!stored)
      problems.push_back(ack.id + " (" + ack.client_ref + ") is missing");
    else if (stored->client_ref != ack.client_ref)
      problems.push_back(ack.id + " has client ref " + stored->client_ref + ", acked as "
                         + ack.client_ref);
    else if (stored->deadline_ms > ack.acked_at_ms + deadline_limit_ms)
      problems.push_back(ack.id + " is due at " + std::to_string(stored->deadline_ms) + ", "
                         + std::to_string(stored->deadline_ms - ack.acked_at_ms - deadline_limit_ms)
                         + " ms after its ack + " + std::to_string(deadline_limit_ms) + " ms");
  }
  return problems;
}

std::string first_few(const std::vector<std::string>& problems) {
  std::string text;
  for (size_t i = 0; i < problems.size() && i < 5; ++i)
    text += "\n  " + problems[i];
  return text;
}

void check_sigkill_after(size_t acks_before_kill, const std::string& synchronous) {
  temp_dir dir;
  auto db_path = dir.file("orders.db");
  std::vector<acknowledgement> acks;
  {
    child_process child{{INTAKE_CRASH_CHILD, db_path, synchronous}};
    line_reader reader{child.stdout_fd()};
    auto reached = reader.read_until(acks_before_kill, steady::now() + wait_limit);
    auto ended = child.kill_and_reap();
    BOOST_REQUIRE_MESSAGE(reached, "the child acknowledged only " << reader.lines().size()
                                     << " of " << acks_before_kill << " orders, then "
                                     << ended);
    // Lines still in the pipe were acknowledged before the kill too.
    BOOST_REQUIRE_MESSAGE(reader.read_to_end(steady::now() + wait_limit),
                          "no end of file on the child's stdout after its death");
    acks = parse_acks(reader.lines());
  }
  BOOST_TEST_MESSAGE("killed after " << acks_before_kill << " acks seen; " << acks.size()
                                     << " acks in total (synchronous=" << synchronous << ")");

  std::set<std::string> acked_ids, acked_refs;
  for (const auto& ack : acks) {
    acked_ids.insert(ack.id);
    acked_refs.insert(ack.client_ref);
  }
  BOOST_TEST(acked_ids.size() == acks.size(), "an order id was acknowledged twice");
  BOOST_TEST(acked_refs.size() == acks.size(), "a client ref was acknowledged twice");

  store_config cfg;
  cfg.sqlite_path = db_path;
  cfg.synchronous = synchronous == "full" ? sqlite_synchronous::full : sqlite_synchronous::normal;
  {
    order_store reopened{cfg};
    auto problems = missing_or_wrong(reopened, acks);
    BOOST_TEST(problems.empty(), problems.size() << " of " << acks.size()
                                   << " acknowledged orders lost, changed or due too late:"
                                   << first_few(problems));
  }
  soci::session sql{soci::sqlite3, "db=" + db_path + " timeout=5"};
  long long rows = 0, distinct_refs = 0;
  sql << "SELECT COUNT(*), COUNT(DISTINCT client_ref) FROM orders", soci::into(rows),
    soci::into(distinct_refs);
  BOOST_TEST(rows == distinct_refs, "a client ref is stored under two ids");
  BOOST_TEST(rows >= static_cast<long long>(acks.size()));
}

} // namespace

// A kill only exposes an early ack when it lands between the ack and the commit, a window of
// microseconds to a millisecond; each case therefore kills at many points.
BOOST_AUTO_TEST_SUITE(sigkill_loses_no_acknowledged_order)

BOOST_AUTO_TEST_CASE(right_after_start_up) {
  for (size_t acks : {1, 50, 300})
    check_sigkill_after(acks, "normal");
}

BOOST_AUTO_TEST_CASE(under_sustained_load) {
  for (size_t acks : {1000, 2000, 3000, 5000, 8000, 12000, 16000, 20000})
    check_sigkill_after(acks, "normal");
}

BOOST_AUTO_TEST_CASE(with_synchronous_full) {
  for (size_t acks : {500, 2000, 3500, 5000})
    check_sigkill_after(acks, "full");
}

BOOST_AUTO_TEST_SUITE_END()
