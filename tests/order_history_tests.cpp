#include <boost/test/unit_test.hpp>

#include "domain/order_history.hpp"

#include <nlohmann/json.hpp>

#include <random>
#include <string>
#include <vector>

using namespace topup;

namespace {

order accepted_order() {
  order o;
  o.id = "n1-x-1";
  o.accepted_at_ms = 1'714'564'800'000;
  o.deadline_ms = o.accepted_at_ms + 180'000;
  return o;
}

history_entry event(int64_t at_ms, order_event e) {
  history_entry entry;
  entry.at_ms = at_ms;
  entry.event = std::string{to_string(e)};
  return entry;
}

std::string encoded(const std::vector<history_entry>& entries) {
  std::string text;
  for (const auto& entry : entries)
    text += encode_history_entry(entry);
  return text;
}

std::vector<std::string> statuses(const std::vector<history_entry>& entries) {
  std::vector<std::string> out;
  for (const auto& entry : entries)
    out.push_back(entry.event + ":" + entry.status);
  return out;
}

} // namespace

BOOST_AUTO_TEST_SUITE(order_history)

BOOST_AUTO_TEST_CASE(an_entry_is_one_compact_json_line_without_empty_fields) {
  auto dispatch = event(1'714'564'800'123, order_event::dispatch);
  dispatch.provider = "p-cmcc";
  dispatch.attempt_no = 1;
  dispatch.request_id = "n1-x-1@p-cmcc";
  BOOST_TEST(encode_history_entry(dispatch)
             == "{\"t\":1714564800123,\"e\":\"dispatch\",\"p\":\"p-cmcc\",\"n\":1,"
                "\"r\":\"n1-x-1@p-cmcc\"}\n");
  auto succeed = event(1'714'564'800'170, order_event::succeed);
  succeed.provider = "p-cmcc";
  succeed.attempt_no = 1;
  succeed.via = "call";
  succeed.latency_us = 46'812;
  succeed.provider_txn = "T-9";
  BOOST_TEST(encode_history_entry(succeed)
             == "{\"t\":1714564800170,\"e\":\"succeed\",\"p\":\"p-cmcc\",\"n\":1,\"via\":\"call\","
                "\"us\":46812,\"txn\":\"T-9\"}\n");
  auto fenced = dispatch;
  fenced.node = "node-2";
  fenced.epoch = 7;
  BOOST_TEST(encode_history_entry(fenced).find(",\"node\":\"node-2\",\"epoch\":7")
             != std::string::npos);
}

BOOST_AUTO_TEST_CASE(every_field_survives_the_round_trip) {
  history_entry full = event(5, order_event::succeed);
  full.provider = "p-agg";
  full.attempt_no = 3;
  full.request_id = "r";
  full.node = "node-1";
  full.epoch = 12;
  full.via = "query";
  full.latency_us = 0;
  full.provider_txn = "txn";
  full.detail = "d";
  auto back = decode_history(accepted_order(), encode_history_entry(full));
  BOOST_TEST_REQUIRE(back.size() == 2u);
  const auto& x = back[1];
  BOOST_TEST(x.at_ms == 5);
  BOOST_TEST(x.event == "succeed");
  BOOST_TEST(x.status == "succeeded");
  BOOST_TEST(x.provider == "p-agg");
  BOOST_TEST(x.attempt_no == 3);
  BOOST_TEST(x.request_id == "r");
  BOOST_TEST(x.node == "node-1");
  BOOST_TEST(x.epoch == 12);
  BOOST_TEST(x.via == "query");
  BOOST_TEST(x.latency_us == 0);
  BOOST_TEST(x.provider_txn == "txn");
  BOOST_TEST(x.detail == "d");
  auto bare = decode_history(accepted_order(), encode_history_entry(event(6, order_event::expire)));
  BOOST_TEST(bare[1].latency_us == -1, "not measured stays distinguishable from 0 us");
}

BOOST_AUTO_TEST_CASE(any_text_survives_the_round_trip) {
  // Details come from providers: quotes, backslashes, control characters, newlines (which
  // would end the line), any UTF-8.
  std::vector<std::string> texts{"", "say \"no\"", "back\\slash", "line\nbreak\r\ttab",
                                 std::string("nul\0byte", 8), "\x01\x1f\x7f", "号码不存在 ünï",
                                 "{\"t\":1}\n{\"e\":\"x\"}"};
  std::mt19937 random{20261204};
  for (int i = 0; i < 200; ++i) {
    std::string ascii;
    for (int k = 0; k < 20; ++k)
      ascii += static_cast<char>(random() % 128);
    texts.push_back(ascii);
  }
  for (const auto& text : texts) {
    auto entry = event(1, order_event::fail_final);
    entry.detail = text;
    entry.provider_txn = text;
    auto line = encode_history_entry(entry);
    BOOST_TEST(line.find('\n') == line.size() - 1, "one line");
    BOOST_TEST(nlohmann::json::accept(line), "valid JSON");
    auto back = decode_history(accepted_order(), line);
    BOOST_TEST_REQUIRE(back.size() == 2u);
    BOOST_TEST(back[1].detail == text);
    BOOST_TEST(back[1].provider_txn == text);
  }
}

BOOST_AUTO_TEST_CASE(the_story_starts_at_acceptance_and_follows_the_state_machine) {
  auto o = accepted_order();
  auto text = encoded({event(1, order_event::dispatch), event(2, order_event::lose_outcome),
                       event(3, order_event::query_unanswered),
                       event(4, order_event::fail_retryable), event(5, order_event::resend),
                       event(6, order_event::dispatch), event(7, order_event::succeed)});
  auto story = decode_history(o, text);
  BOOST_TEST(statuses(story)
               == (std::vector<std::string>{"accept:accepted", "dispatch:dispatched",
                                            "lose_outcome:unknown", "query_unanswered:unknown",
                                            "fail_retryable:accepted", "resend:accepted",
                                            "dispatch:dispatched", "succeed:succeeded"}),
             boost::test_tools::per_element());
  BOOST_TEST(story.front().at_ms == o.accepted_at_ms);
  BOOST_TEST(decode_history(o, "").size() == 1u, "a new order: its acceptance alone");
}

BOOST_AUTO_TEST_CASE(a_step_missing_from_older_records_still_gives_each_entry_its_status) {
  // A history rebuilt from the attempt rows of an older schema keeps an attempt's last
  // outcome only: "succeed" right after "accept" still says succeeded.
  auto story = decode_history(accepted_order(), encoded({event(1, order_event::succeed)}));
  BOOST_TEST(story[1].status == "succeeded");
}

BOOST_AUTO_TEST_CASE(an_unreadable_line_is_shown_not_refused) {
  auto text = encoded({event(1, order_event::dispatch)}) + "garbage\n"
              + encoded({event(2, order_event::succeed)});
  auto story = decode_history(accepted_order(), text);
  BOOST_TEST_REQUIRE(story.size() == 4u);
  BOOST_TEST(story[2].event == "unreadable");
  BOOST_TEST(story[2].detail == "garbage");
  BOOST_TEST(story[3].status == "succeeded");
}

BOOST_AUTO_TEST_CASE(an_attempt_ends_with_its_last_state_change_after_the_dispatch) {
  auto of_attempt = [](int64_t at_ms, order_event e, int32_t attempt_no, std::string txn = {}) {
    auto entry = event(at_ms, e);
    entry.attempt_no = attempt_no;
    entry.provider_txn = std::move(txn);
    return entry;
  };
  // Attempt 1: outcome lost, queried in vain (a note), then answered by a query. Attempt 2
  // (another provider): dispatched, still in flight.
  auto story = decode_history(
    accepted_order(),
    encoded({of_attempt(1, order_event::dispatch, 1), of_attempt(2, order_event::lose_outcome, 1),
             of_attempt(3, order_event::query_unanswered, 1),
             of_attempt(4, order_event::succeed, 1, "T-1"), of_attempt(5, order_event::dispatch, 2)}));
  const auto* first = attempt_end(story, 1);
  BOOST_TEST_REQUIRE(first != nullptr);
  BOOST_TEST(first->event == "succeed");
  BOOST_TEST(first->at_ms == 4);
  BOOST_TEST(first->provider_txn == "T-1");
  BOOST_TEST(attempt_end(story, 2) == nullptr, "in flight: nothing ended it yet");
  BOOST_TEST(attempt_end(story, 3) == nullptr, "not in the history");
  BOOST_TEST(attempt_end(story, 0) == nullptr, "the acceptance is no attempt");
}

BOOST_AUTO_TEST_CASE(unanswered_queries_are_recorded_at_powers_of_two) {
  std::vector<uint64_t> recorded;
  for (uint64_t nth = 0; nth <= 100; ++nth)
    if (record_unanswered_query(nth))
      recorded.push_back(nth);
  BOOST_TEST(recorded == (std::vector<uint64_t>{1, 2, 4, 8, 16, 32, 64}),
             boost::test_tools::per_element());
  // An hour of silence queried every second: 12 entries, not 3,600.
  size_t hour = 0;
  for (uint64_t nth = 1; nth <= 3600; ++nth)
    hour += record_unanswered_query(nth);
  BOOST_TEST(hour == 12u);
}

BOOST_AUTO_TEST_SUITE_END()
