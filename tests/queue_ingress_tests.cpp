// The queue ingresses' decisions (domain/queue_ingress): each message's fate from intake's
// answer, dead letters, results, name templates, backoff and the result writer's resume point.

#include "domain/queue_ingress.hpp"

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

using namespace topup;
using std::chrono::milliseconds;

namespace {

const std::string good_1 = R"({"client_ref":"r-1","phone":"13800138000","amount_fen":1000})";
const std::string good_2 = R"({"client_ref":"r-2","phone":"13000130000","amount_fen":2000})";
const std::string broken = R"({"client_ref":"r-3")";

order final_order(order_status status, std::string ingress) {
  order o;
  o.id = "node-1-7";
  o.client_ref = "r-1";
  o.phone = "13800138000";
  o.carrier = "cmcc";
  o.amount_fen = 1000;
  o.provider = "p-cmcc";
  o.status = status;
  o.accepted_at_ms = 1000;
  o.updated_at_ms = 1500;
  o.ingress = std::move(ingress);
  return o;
}

} // namespace

BOOST_AUTO_TEST_SUITE(queue_ingress)

BOOST_AUTO_TEST_CASE(only_not_now_refusals_keep_a_message) {
  BOOST_TEST((fate_of(std::nullopt) == message_fate::done));
  for (auto code : {errc::overloaded, errc::unavailable, errc::shutting_down})
    BOOST_TEST((fate_of(failure{code, ""}) == message_fate::retry), to_string(code));
  for (auto code : {errc::invalid_phone, errc::unknown_carrier, errc::unsupported_amount,
                    errc::field_too_long, errc::missing_field, errc::duplicate_reference,
                    errc::invalid_text, errc::invalid_amount, errc::malformed_message,
                    errc::unsupported_field, errc::invalid_argument, errc::unknown_merchant,
                    errc::invalid_notify_url})
    BOOST_TEST((fate_of(failure{code, ""}) == message_fate::dead_letter), to_string(code));
}

BOOST_AUTO_TEST_CASE(a_message_names_its_merchant_and_intake_judges_it) {
  ingress_batch batch{{R"({"merchant":"shop-2","client_ref":"r-9","phone":"13800138000",)"
                       R"("amount_fen":1000,"notify_url":"https://shop-2.example/cb"})"}};
  BOOST_REQUIRE(batch.requests().size() == 1u);
  BOOST_TEST(batch.requests()[0].merchant == "shop-2");
  BOOST_TEST(batch.requests()[0].notify_url == "https://shop-2.example/cb");
  auto outcomes = batch.settle({failure{errc::unknown_merchant, "no merchant 'shop-2'"}});
  BOOST_TEST((outcomes[0].fate == message_fate::dead_letter));
  BOOST_TEST((outcomes[0].why.code == errc::unknown_merchant));
}

BOOST_AUTO_TEST_CASE(a_batch_submits_what_parses_and_settles_every_message) {
  ingress_batch batch{{good_1, broken, good_2}};
  BOOST_REQUIRE(batch.requests().size() == 2u);
  BOOST_TEST(batch.requests()[0].client_ref == "r-1");
  BOOST_TEST(batch.requests()[1].client_ref == "r-2");

  auto outcomes = batch.settle({std::nullopt, failure{errc::overloaded, "busy"}});
  BOOST_REQUIRE(outcomes.size() == 3u);
  BOOST_TEST((outcomes[0].fate == message_fate::done));
  BOOST_TEST((outcomes[1].fate == message_fate::dead_letter));
  BOOST_TEST((outcomes[1].why.code == errc::malformed_message));
  BOOST_TEST((outcomes[2].fate == message_fate::retry));
  BOOST_TEST(outcomes[2].why.reason == "busy");

  auto invalid = batch.settle({failure{errc::invalid_phone, "138 has 3 digits"}, std::nullopt});
  BOOST_TEST((invalid[0].fate == message_fate::dead_letter));
  BOOST_TEST((invalid[0].why.code == errc::invalid_phone));
  BOOST_TEST((invalid[2].fate == message_fate::done));
  auto counts = count_fates(invalid);
  BOOST_TEST(counts.done == 1u);
  BOOST_TEST(counts.dead_letters == 2u);
  BOOST_TEST(counts.retries == 0u);
}

BOOST_AUTO_TEST_CASE(no_answer_retries_the_orders_but_not_the_malformed) {
  ingress_batch batch{{good_1, broken}};
  auto outcomes = batch.unanswered({errc::unavailable, "intake did not answer"});
  BOOST_TEST((outcomes[0].fate == message_fate::retry));
  BOOST_TEST((outcomes[1].fate == message_fate::dead_letter));
  // An answer that does not match the requests one to one is no answer: a miscount must
  // never acknowledge a message for another's result.
  auto miscounted = batch.settle({std::nullopt, std::nullopt});
  BOOST_TEST((miscounted[0].fate == message_fate::retry));
  BOOST_TEST((miscounted[1].fate == message_fate::dead_letter));
  ingress_batch only_broken{{broken}};
  BOOST_TEST(only_broken.requests().empty());
  BOOST_TEST((only_broken.settle({})[0].fate == message_fate::dead_letter));
}

BOOST_AUTO_TEST_CASE(a_dead_letter_keeps_the_message_its_error_and_reason) {
  auto entry = nlohmann::json::parse(
    dead_letter_json(good_1, {errc::invalid_phone, "has 3 digits"}, "node-1", 42));
  BOOST_TEST(entry["message"].get<std::string>() == good_1);
  BOOST_TEST(entry["error"].get<std::string>() == "invalid_phone");
  BOOST_TEST(entry["reason"].get<std::string>() == "has 3 digits");
  BOOST_TEST(entry["node"].get<std::string>() == "node-1");
  BOOST_TEST(entry["at_ms"].get<int64_t>() == 42);
  BOOST_TEST(!entry.contains("message_base64"));
  // Bytes that are not UTF-8 cannot be a JSON string: they travel in base64, all of them.
  for (auto [bytes, encoded] : {std::pair{std::string{"\xFF"}, "/w=="},
                                std::pair{std::string{"a\xFF"}, "Yf8="},
                                std::pair{std::string{"ab\xFF"}, "YWL/"},
                                std::pair{std::string{"abc\xFF"}, "YWJj/w=="}}) {
    auto binary = nlohmann::json::parse(
      dead_letter_json(bytes, {errc::malformed_message, "not JSON"}, "n", 1));
    BOOST_TEST(!binary.contains("message"));
    BOOST_TEST(binary["message_base64"].get<std::string>() == encoded);
  }
}

BOOST_AUTO_TEST_CASE(a_rabbitmq_dead_letter_carries_its_error_and_reason_in_headers) {
  auto headers =
    dead_letter_headers({errc::invalid_phone, "has 3 digits\n\x01"}, "node-1", 42);
  std::map<std::string, std::string> by_name(headers.begin(), headers.end());
  BOOST_TEST(headers.size() == 4u);
  BOOST_TEST(by_name["x-topup-error"] == "invalid_phone");
  // A reason is printable text whatever a refusal put into it.
  BOOST_TEST(by_name["x-topup-reason"].find("has 3 digits") == 0u);
  BOOST_TEST(by_name["x-topup-reason"].find('\x01') == std::string::npos);
  BOOST_TEST(by_name["x-topup-node"] == "node-1");
  BOOST_TEST(by_name["x-topup-at-ms"] == "42");
}

BOOST_AUTO_TEST_CASE(a_result_names_the_order_and_its_outcome_but_not_the_phone) {
  auto o = final_order(order_status::failed, "redis");
  o.last_error = "deadline reached";
  auto fields = result_fields(o);
  std::vector<std::string> names;
  for (const auto& [name, value] : fields) {
    names.push_back(name);
    BOOST_TEST(value.find("13800138000") == std::string::npos);
  }
  BOOST_TEST(names == (std::vector<std::string>{"client_ref", "order_id", "status", "amount_fen",
                                                "carrier", "provider", "error",
                                                "accepted_at_ms", "finished_at_ms"}),
             boost::test_tools::per_element());
  BOOST_TEST(fields[2].second == "failed");
  BOOST_TEST(fields[8].second == "1500");
  auto json = nlohmann::json::parse(result_json(o));
  BOOST_TEST(json["status"].get<std::string>() == "failed");
  BOOST_TEST(json["amount_fen"].get<int64_t>() == 1000);
  BOOST_TEST(json["error"].get<std::string>() == "deadline reached");
  BOOST_TEST(!json.contains("phone"));
  BOOST_TEST(result_json(o).find("13800138000") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(results_are_written_for_final_orders_of_the_ingress_only) {
  BOOST_TEST(wants_result(final_order(order_status::succeeded, "redis"), redis_ingress_name));
  BOOST_TEST(wants_result(final_order(order_status::failed, "redis"), redis_ingress_name));
  BOOST_TEST(!wants_result(final_order(order_status::unknown, "redis"), redis_ingress_name));
  BOOST_TEST(!wants_result(final_order(order_status::dispatched, "redis"), redis_ingress_name));
  BOOST_TEST(!wants_result(final_order(order_status::succeeded, ""), redis_ingress_name));
  BOOST_TEST(!wants_result(final_order(order_status::succeeded, "other"), redis_ingress_name));
}

BOOST_AUTO_TEST_CASE(the_resume_point_trails_the_oldest_unwritten_result) {
  // Nothing waits: the point trails now by the margin.
  BOOST_TEST(result_resume_point(0, 100000, std::nullopt, 60000) == 40000);
  // A result stamped at 90 s not written yet holds it back.
  BOOST_TEST(result_resume_point(0, 100000, 90000, 60000) == 30000);
  // Never backwards, whatever the clock says.
  BOOST_TEST(result_resume_point(50000, 100000, 90000, 60000) == 50000);
  // A result stamped later than now (another node's clock ahead) counts as now.
  BOOST_TEST(result_resume_point(0, 100000, 200000, 60000) == 40000);
}

BOOST_AUTO_TEST_CASE(name_templates_know_their_placeholders) {
  BOOST_TEST(!check_name_template("topup:result:{client_ref}", result_placeholders));
  BOOST_TEST(!check_name_template("plain", result_placeholders));
  BOOST_TEST(check_name_template("r:{ref}", result_placeholders).value().find(
               "unknown placeholder {ref}") == 0u);
  BOOST_TEST(check_name_template("r:{client_ref", result_placeholders).value().find(
               "is not closed") != std::string::npos);
  BOOST_TEST(check_name_template("r:}", result_placeholders).value().find("closes no")
             != std::string::npos);
  auto o = final_order(order_status::succeeded, "redis");
  BOOST_TEST(expand_result_template("topup:result:{client_ref}", o) == "topup:result:r-1");
  o.merchant = "shop-2";
  BOOST_TEST(expand_result_template("topup:result:{merchant}:{client_ref}", o)
             == "topup:result:shop-2:r-1");
  BOOST_TEST(expand_result_template("{status}.{order_id}.{client_ref}", o)
             == "succeeded.node-1-7.r-1");
}

BOOST_AUTO_TEST_SUITE_END()
