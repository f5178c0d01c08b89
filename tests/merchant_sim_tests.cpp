#define BOOST_TEST_MODULE merchant_sim_tests
#include <boost/test/unit_test.hpp>

// topup-merchant-sim's pure pieces: the answer plan (fail, hang, wrong for a while) and the
// ledger's report (duplicates, bad signatures, gaps); and its ledger file. The process itself
// serves a real node in tests/callback_tests.cpp.

#include "apps/merchant_sim/receipt_ledger.hpp"
#include "apps/merchant_sim/receipts.hpp"
#include "tests/test_support.hpp"

using namespace topup;
using namespace topup::merchant_sim;

BOOST_AUTO_TEST_CASE(a_mode_lasts_its_period_then_the_endpoint_acknowledges_again) {
  answer_plan plan;
  BOOST_TEST((plan.mode_at(0) == answer_mode::ack));
  plan.set(answer_mode::hang, 1000, 500);
  BOOST_TEST((plan.mode_at(1000) == answer_mode::hang));
  BOOST_TEST((plan.mode_at(1499) == answer_mode::hang));
  BOOST_TEST((plan.mode_at(1500) == answer_mode::ack));
  BOOST_TEST(plan.until_ms() == 1500);
  plan.set(answer_mode::fail, 2000, 0);  // until told otherwise
  BOOST_TEST((plan.mode_at(1'000'000) == answer_mode::fail));
  BOOST_TEST(plan.until_ms() == 0);
  BOOST_TEST((answer_mode_from("wrong") == answer_mode::wrong));
  BOOST_TEST(!answer_mode_from("WRONG").has_value());
  BOOST_TEST(to_string(answer_mode::hang) == "hang");
}

BOOST_AUTO_TEST_CASE(the_report_counts_duplicates_bad_signatures_and_gaps) {
  std::vector<receipt> receipts{
    {"o-1:unknown", "o-1", "unknown", 1, true, "ack"},
    {"o-1:succeeded", "o-1", "succeeded", 2, true, "fail"},
    {"o-1:succeeded", "o-1", "succeeded", 3, true, "ack"},
    {"o-2:failed", "o-2", "failed", 4, true, "wrong"},
    {"o-3:succeeded", "o-3", "succeeded", 5, false, "refused"},
  };
  auto report = report_of(receipts, {"o-1", "o-2", "o-4"});
  BOOST_TEST(report.deliveries == 5u);
  BOOST_TEST(report.distinct == 4u);
  BOOST_TEST(report.duplicates == 1u);
  BOOST_TEST(report.bad_signatures == 1u);
  BOOST_TEST(report.acknowledged == 2u);  // o-1's two; o-2 answered wrongly, o-3 refused
  BOOST_TEST(report.orders == 3u);
  BOOST_TEST(report.final_orders == 3u);
  BOOST_TEST(report.missing_orders == std::vector<std::string>{"o-4"});
  auto json = to_json(report);
  BOOST_TEST(json.at("duplicates") == 1);
  BOOST_TEST((json.at("missing_orders") == nlohmann::ordered_json::array({"o-4"})));
}

BOOST_AUTO_TEST_CASE(a_body_is_read_for_its_ids_and_a_malformed_one_recorded_empty) {
  auto got = receipt_of_body(R"({"delivery_id":"o-1:failed","order_id":"o-1","status":"failed",
                                 "amount_fen":1000})");
  BOOST_TEST(got.delivery_id == "o-1:failed");
  BOOST_TEST(got.order_id == "o-1");
  BOOST_TEST(got.status == "failed");
  BOOST_TEST(receipt_of_body("not json").delivery_id.empty());
  BOOST_TEST(receipt_of_body(R"({"order_id":7})").order_id.empty());
}

BOOST_AUTO_TEST_CASE(the_ledger_file_keeps_every_receipt_in_order_across_opens) {
  testing::temp_dir dir;
  auto path = dir.file("merchant-ledger.db");
  {
    receipt_ledger ledger{path};
    ledger.add({"o-1:succeeded", "o-1", "succeeded", 10, true, "fail"});
    ledger.add({"o-1:succeeded", "o-1", "succeeded", 20, true, "ack"});
  }
  receipt_ledger again{path};
  again.add({"o-2:failed", "o-2", "failed", 30, false, "refused"});
  auto all = again.all();
  BOOST_REQUIRE_EQUAL(all.size(), 3u);
  BOOST_TEST(all[0].answered == "fail");
  BOOST_TEST(all[1].received_at_ms == 20);
  BOOST_TEST(!all[2].signature_ok);
  BOOST_TEST(report_of(all, {}).duplicates == 1u);
}
