// topup-bench's pure pieces: the open-loop schedule and closed-loop window, the submission
// book (retries with the same order, stale answers after a disconnect), the order generator
// against WORKLOAD's prefixes and amounts, the figures (incl. the 1 s grace rule), the
// histogram's percentiles, the JSON line and the SVG; the per-order audit of store against
// ledgers and the deadline check, and the verdict, each with planted violations.

#define BOOST_TEST_MODULE bench_tests
#include <boost/test/unit_test.hpp>

#include "apps/bench/cluster_setup.hpp"
#include "apps/bench/figures.hpp"
#include "apps/bench/http_submitter.hpp"
#include "apps/bench/merchant_setup.hpp"
#include "apps/bench/order_generator.hpp"
#include "apps/bench/pacing.hpp"
#include "apps/bench/progress_line.hpp"
#include "apps/bench/provider_setup.hpp"
#include "apps/bench/server_process.hpp"
#include "apps/bench/submission_feed.hpp"
#include "apps/bench/svg_chart.hpp"
#include "apps/bench/verdict.hpp"
#include "apps/bench/workload.hpp"
#include "apps/process/child_process.hpp"
#include "apps/provider_sim/sim_config.hpp"
#include "config/config.hpp"
#include "config/json_reader.hpp"

#include <set>
#include <unistd.h>

using namespace topup;
using namespace topup::bench;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_SUITE(pacing)

BOOST_AUTO_TEST_CASE(open_loop_sends_on_a_fixed_schedule_and_stops_at_the_total) {
  open_loop_schedule schedule{500, 30000};
  BOOST_TEST(schedule.due_by(-1) == 0u);
  BOOST_TEST(schedule.due_by(0) == 1u);        // order 0 is due at once
  BOOST_TEST(schedule.due_by(0.0019) == 1u);
  BOOST_TEST(schedule.due_by(0.002) == 2u);    // one every 2 ms
  BOOST_TEST(schedule.due_by(1.0) == 501u);
  BOOST_TEST(schedule.due_by(59.999) == 30000u);
  BOOST_TEST(schedule.due_by(1000) == 30000u);
  BOOST_TEST(schedule.due_at(500) == 1.0);
}

BOOST_AUTO_TEST_CASE(closed_loop_keeps_at_most_the_limit_outstanding) {
  BOOST_TEST(closed_loop_quota(256, 0, 64, 1000) == 64u);
  BOOST_TEST(closed_loop_quota(256, 200, 64, 1000) == 56u);
  BOOST_TEST(closed_loop_quota(256, 256, 64, 1000) == 0u);
  BOOST_TEST(closed_loop_quota(256, 300, 64, 1000) == 0u);
  BOOST_TEST(closed_loop_quota(256, 0, 64, 10) == 10u);
}

BOOST_AUTO_TEST_CASE(book_acknowledges_retries_and_refuses) {
  auto start = steady_clock::now();
  submission_book book{5, start};
  BOOST_TEST(book.offer(10, start) == 5u);
  auto first = book.take(3);
  BOOST_TEST(first.orders == (std::vector<uint64_t>{0, 1, 2}));
  BOOST_TEST(book.in_flight() == 3u);
  BOOST_TEST(book.queued() == 2u);
  BOOST_TEST(book.answered(first.id, {answer::acknowledged, answer::retry, answer::refused},
                           start + 10ms));
  BOOST_TEST(book.acknowledged() == 1u);
  BOOST_TEST(book.refused() == 1u);
  BOOST_TEST(book.retries() == 1u);
  BOOST_TEST(book.is_acknowledged(0));
  // The retried order goes first, with the same number (same client reference).
  auto second = book.take(10);
  BOOST_TEST(second.orders == (std::vector<uint64_t>{1, 3, 4}));
  BOOST_TEST(!book.finished());
  BOOST_TEST(book.answered(second.id, std::vector<answer>(3, answer::acknowledged),
                           start + 30ms));
  BOOST_TEST(book.finished());
  BOOST_TEST(book.ack_latency().count() == 4u);
  // Latency runs from the first offer, across the retry.
  BOOST_TEST((book.ack_latency().max() >= 30ms));
  BOOST_TEST((book.ack_latency().max() < 31ms));
  BOOST_TEST((book.last_ack() == 30ms));
}

BOOST_AUTO_TEST_CASE(a_disconnect_requeues_what_was_in_flight_and_ignores_late_answers) {
  auto start = steady_clock::now();
  submission_book book{4, start};
  book.offer(4, start);
  auto a = book.take(2);
  auto b = book.take(2);
  BOOST_TEST(book.outstanding() == 4u);
  book.disconnected();
  BOOST_TEST(book.in_flight() == 0u);
  BOOST_TEST(book.queued() == 4u);
  BOOST_TEST(!book.answered(a.id, {answer::acknowledged, answer::acknowledged}, start));
  BOOST_TEST(!book.unanswered(b.id));
  BOOST_TEST(book.acknowledged() == 0u);
  auto again = book.take(10);
  BOOST_TEST(again.orders == (std::vector<uint64_t>{0, 1, 2, 3}));
  // An unanswered batch (timeout) queues again too; a short answer retries the rest.
  BOOST_TEST(book.unanswered(again.id));
  auto last = book.take(10);
  BOOST_TEST(book.answered(last.id, {answer::acknowledged}, start));
  BOOST_TEST(book.acknowledged() == 1u);
  BOOST_TEST(book.queued() == 3u);
}

BOOST_AUTO_TEST_CASE(an_order_refused_with_a_hint_waits_for_it_and_backs_off) {
  using std::chrono::milliseconds;
  auto start = steady_clock::now();
  submission_book book{3, start};
  book.offer(3, start);
  auto first = book.take(3);
  // Overloaded with a 2 s hint, overloaded without a hint, acknowledged.
  BOOST_TEST(book.answered(first.id, {answer::retry, answer::retry, answer::acknowledged},
                           {milliseconds{2000}, milliseconds{0}}, start));
  BOOST_TEST(book.waiting() == 1u);
  auto at_once = book.take(10);
  BOOST_TEST(at_once.orders == (std::vector<uint64_t>{1}));  // no hint: again at once
  book.release_due(start + 1999ms);
  BOOST_TEST(book.queued() == 0u);
  book.release_due(start + 2000ms);
  auto hinted = book.take(10);
  BOOST_TEST(hinted.orders == (std::vector<uint64_t>{0}));
  // Refused again with a shorter hint: the client waits twice as long as before.
  BOOST_TEST(book.answered(hinted.id, {answer::retry}, {milliseconds{1000}}, start + 2000ms));
  book.release_due(start + 5999ms);
  BOOST_TEST(book.queued() == 0u);
  book.release_due(start + 6000ms);
  BOOST_TEST(book.queued() == 1u);
  BOOST_TEST(book.retries() == 3u);  // once at once, twice after a wait
  BOOST_TEST(!book.finished());
}

BOOST_AUTO_TEST_CASE(giving_up_ends_the_run_with_what_was_acknowledged) {
  using std::chrono::milliseconds;
  auto start = steady_clock::now();
  submission_book book{6, start};
  book.offer(4, start);
  auto first = book.take(2);
  BOOST_TEST(book.answered(first.id, {answer::retry, answer::acknowledged},
                           {milliseconds{5000}}, start));
  auto second = book.take(1);  // order 2 in flight; order 3 still queued; order 0 waiting
  book.give_up();
  BOOST_TEST(book.given_up() == 2u);  // the queued and the waiting one
  BOOST_TEST(book.offer(2, start) == 0u);  // nothing new is offered
  BOOST_TEST(!book.finished());           // order 2 is still in flight
  BOOST_TEST(book.answered(second.id, {answer::retry}, {milliseconds{1000}}, start));
  BOOST_TEST(book.given_up() == 3u);
  BOOST_TEST(book.acknowledged() == 1u);
  BOOST_TEST(book.outstanding() == 0u);
  BOOST_TEST(book.finished());
  BOOST_TEST(book.take(10).orders.empty());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(orders)

BOOST_AUTO_TEST_CASE(due_messages_fill_the_closed_window_one_message_at_a_time_when_asked) {
  auto start = steady_clock::now();
  auto w1 = *workload_named("w1");
  w1.orders = 300;
  submission_book book{w1.orders, start};
  // Not connected: the window is not offered.
  BOOST_TEST(due_messages(w1, book, start, start, false, 64).empty());
  auto one = due_messages(w1, book, start, start, true, 64, 1);
  BOOST_REQUIRE_EQUAL(one.size(), 1u);
  BOOST_TEST(one[0].orders.size() == 64u);
  // The rest of the window of 256 in three more messages; then nothing until answers come.
  auto rest = due_messages(w1, book, start, start, true, 64);
  BOOST_TEST(rest.size() == 3u);
  BOOST_TEST(due_messages(w1, book, start, start, true, 64).empty());
  book.answered(one[0].id, std::vector<answer>(64, answer::acknowledged), start);
  auto last = due_messages(w1, book, start, start, true, 64);
  BOOST_REQUIRE_EQUAL(last.size(), 1u);
  BOOST_TEST(last[0].orders.size() == 44u);  // 300 - 256
}

BOOST_AUTO_TEST_CASE(http_answers_acknowledge_retry_or_refuse_each_order) {
  auto single = http_outcomes(http_submit_kind::single, 201, R"({"id":"o-1"})", 0, 1);
  BOOST_TEST((single.at(0).verdict == answer::acknowledged));
  BOOST_TEST((http_outcomes(http_submit_kind::single, 200, "{}", 0, 1).at(0).verdict
              == answer::acknowledged));
  auto busy = http_outcomes(http_submit_kind::single, 429,
                            R"({"error":{"code":"overloaded","message":"full"}})", 3, 1);
  BOOST_TEST((busy.at(0).verdict == answer::retry));
  BOOST_TEST(busy.at(0).retry_after.count() == 3000);
  BOOST_TEST(busy.at(0).code == "overloaded");
  auto bad = http_outcomes(http_submit_kind::single, 400,
                           R"({"error":{"code":"invalid_phone","message":"phone is short"}})", 0,
                           1);
  BOOST_TEST((bad.at(0).verdict == answer::refused));
  BOOST_TEST(bad.at(0).code == "invalid_phone");
  BOOST_TEST(bad.at(0).description.find("phone is short") != std::string::npos);
  // A batch: each order by its own status; a whole batch refused is every order refused.
  auto batch = http_outcomes(
    http_submit_kind::batch, 200,
    R"({"results":[{"status":201,"order":{}},{"status":429,"error":{"code":"overloaded"}},)"
    R"({"status":409,"error":{"code":"duplicate_reference"}}]})",
    0, 4);
  BOOST_REQUIRE_EQUAL(batch.size(), 4u);
  BOOST_TEST((batch[0].verdict == answer::acknowledged));
  BOOST_TEST((batch[1].verdict == answer::retry));
  BOOST_TEST(batch[1].retry_after.count() == 1000);
  BOOST_TEST((batch[2].verdict == answer::refused));
  BOOST_TEST((batch[3].verdict == answer::refused));  // missing from the answer
  auto unavailable = http_outcomes(http_submit_kind::batch, 503,
                                   R"({"error":{"code":"unavailable"}})", 2, 3);
  BOOST_TEST(unavailable.size() == 3u);
  BOOST_TEST((unavailable[2].verdict == answer::retry));
}

BOOST_AUTO_TEST_CASE(http_requests_carry_one_order_or_a_batch) {
  std::vector<order_request> orders{{"r-1", "13800138000", 1000}, {"r-2", "13000138000", 2000}};
  auto single = http_request_for(http_submit_kind::single, {orders[0]});
  BOOST_TEST(single.target == "/v1/orders");
  BOOST_TEST(nlohmann::json::parse(single.body)["client_ref"] == "r-1");
  auto batch = http_request_for(http_submit_kind::batch, orders);
  BOOST_TEST(batch.target == "/v1/orders/batch");
  BOOST_TEST(nlohmann::json::parse(batch.body)["orders"].size() == 2u);
}

BOOST_AUTO_TEST_CASE(the_http_node_config_signs_for_the_default_merchant_and_calls_back_the_sim) {
  auto document = nlohmann::json::parse(R"({"merchants":{"default":"shop","list":[)"
                                        R"({"id":"other","secret":"x"},{"id":"shop","secret":"s"}]},)"
                                        R"("http_api":{"listen":{"host":"0.0.0.0","port":0}}})");
  auto derived = with_http_api(document, 4711, "http://127.0.0.1:99/topup/result");
  BOOST_TEST(derived["http_api"]["listen"]["port"] == 4711);
  BOOST_TEST(derived["http_api"]["listen"]["host"] == "127.0.0.1");
  BOOST_TEST(derived["merchants"]["list"][1]["callback_url"] == "http://127.0.0.1:99/topup/result");
  BOOST_TEST(!derived["merchants"]["list"][0].contains("callback_url"));
  BOOST_TEST((signing_merchant(document) == std::pair<std::string, std::string>{"shop", "s"}));
  auto without_api = document;
  without_api.erase("http_api");
  BOOST_CHECK_THROW(with_http_api(without_api, 1, ""), std::runtime_error);
  auto no_secret = document;
  no_secret["merchants"]["list"][1].erase("secret");
  BOOST_CHECK_THROW(signing_merchant(no_secret), std::runtime_error);
}

BOOST_AUTO_TEST_CASE(callback_figures_count_gaps_duplicates_and_the_time_after_final) {
  std::vector<stored_order> orders{{"succeeded", "p", 0, 1000, "o-1"},
                                   {"failed", "p", 0, 2000, "o-2"},
                                   {"succeeded", "p", 0, 3000, "o-3"},
                                   {"dispatched", "p", 0, 0, "o-4"}};
  std::vector<merchant_sim::receipt> receipts{
    {"o-1:succeeded", "o-1", "succeeded", 1100, true, "ack"},
    {"o-1:succeeded", "o-1", "succeeded", 1500, true, "ack"},  // a repeat: not counted again
    {"o-2:failed", "o-2", "failed", 2100, true, "ack"},
  };
  auto figures = callback_figures_of(orders, receipts);
  BOOST_TEST(figures.final_orders == 3u);
  BOOST_TEST(figures.notified == 2u);
  BOOST_TEST(figures.ledger.duplicates == 1u);
  BOOST_TEST(figures.ledger.missing_orders == std::vector<std::string>{"o-3"});
  BOOST_TEST(figures.final_to_delivered.count == 2u);
  BOOST_TEST(figures.final_to_delivered.max_ms == 100.0);
  BOOST_TEST(figures.deliveries_per_s == 2.0);  // 2 in the second from 1100 to 2100
  auto json = to_json(figures);
  BOOST_TEST(json["missing_orders"] == 1);
}

BOOST_AUTO_TEST_CASE(generated_orders_follow_the_workload_and_repeat_for_a_retry) {
  order_generator generator{"w2-abc-", 7};
  std::set<std::string> refs, prefixes;
  std::set<int64_t> amounts;
  const std::set<std::string> workload{"138", "139", "150", "130", "131",
                                       "186", "133", "153", "189"};
  for (uint64_t n = 0; n < 5000; ++n) {
    auto request = generator.nth(n);
    BOOST_TEST(request.phone.size() == 11u);
    BOOST_TEST(request.phone.find_first_not_of("0123456789") == std::string::npos);
    BOOST_TEST(workload.count(request.phone.substr(0, 3)) == 1u);
    prefixes.insert(request.phone.substr(0, 3));
    amounts.insert(request.amount_fen);
    refs.insert(request.client_ref);
    BOOST_TEST((generator.number_of(request.client_ref) == std::optional<uint64_t>{n}));
  }
  BOOST_TEST(refs.size() == 5000u);
  BOOST_TEST(prefixes == workload);
  BOOST_TEST(amounts == (std::set<int64_t>{1000, 2000, 3000, 5000, 10000, 20000}));
  auto again = generator.nth(42);
  BOOST_TEST(again.phone == generator.nth(42).phone);
  BOOST_TEST(again.amount_fen == generator.nth(42).amount_fen);
  BOOST_TEST(!generator.number_of("w2-abd-1"));
  BOOST_TEST(!generator.number_of("w2-abc-"));
  BOOST_TEST(!generator.number_of("w2-abc-12x"));
}

BOOST_AUTO_TEST_CASE(run_prefixes_differ_between_runs) {
  BOOST_TEST(run_ref_prefix("w1", 0) == "w1-0-");
  BOOST_TEST(run_ref_prefix("w1", 36) == "w1-10-");
  BOOST_TEST(run_ref_prefix("w3", 1764000000000) != run_ref_prefix("w3", 1764000000001));
}

BOOST_AUTO_TEST_CASE(workloads_carry_workload_md_parameters) {
  auto w1 = *workload_named("w1");
  BOOST_TEST((w1.loop == loop_kind::closed));
  BOOST_TEST(w1.orders == 200000u);
  BOOST_TEST(w1.outstanding == 256u);
  auto w2 = *workload_named("w2");
  BOOST_TEST((w2.loop == loop_kind::open));
  BOOST_TEST(w2.orders == 30000u);
  BOOST_TEST(w2.duration_s() == 60.0);
  BOOST_TEST(!w2.kill_at_s);
  auto w3 = *workload_named("w3");
  BOOST_TEST(w3.orders == 12000u);
  BOOST_TEST(*w3.kill_at_s == 20.0);
  BOOST_TEST(*w3.restart_at_s == 25.0);
  BOOST_TEST(!w3.give_up_at_s);  // W3 retries until acknowledged
  auto w4 = *workload_named("w4");
  BOOST_TEST((w4.loop == loop_kind::open));
  BOOST_TEST(w4.rate == 5500.0);
  BOOST_TEST(w4.orders == 330000u);
  BOOST_TEST(w4.duration_s() == 60.0);
  BOOST_TEST(*w4.give_up_at_s == 60.0);
  BOOST_TEST(!workload_named("w5"));
  auto hold = *workload_named("hold");
  BOOST_TEST((hold.loop == loop_kind::closed));
  BOOST_TEST(hold.orders == 1000000u);
  BOOST_TEST(hold.batch == 500u);
  BOOST_TEST(hold.outstanding > hold.batch);  // several batches in flight
  BOOST_TEST(!hold.kill_at_s);  // the hold run kills the node itself, once all are accepted
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(figures)

stored_order row(const char* status, int64_t accepted, int64_t updated,
                 const char* provider = "p-cmcc") {
  return {status, provider, accepted, updated};
}

BOOST_AUTO_TEST_CASE(histogram_percentiles_are_within_one_bucket) {
  auto histogram = make_completion_histogram();
  for (int ms = 1; ms <= 1000; ++ms)
    histogram.record(std::chrono::milliseconds(ms));
  auto s = summarize(histogram);
  BOOST_TEST(s.count == 1000u);
  BOOST_TEST(s.p50_ms >= 500.0);
  BOOST_TEST(s.p50_ms <= 500.0 * 1.01 + 0.001);
  BOOST_TEST(s.p90_ms >= 900.0);
  BOOST_TEST(s.p90_ms <= 900.0 * 1.01 + 0.001);
  BOOST_TEST(s.p99_ms >= 990.0);
  BOOST_TEST(s.p99_ms <= 1000.0);
  BOOST_TEST(s.max_ms == 1000.0);
  // Long completions (minutes) fit too.
  histogram.record(std::chrono::seconds(181));
  BOOST_TEST(summarize(histogram).max_ms == 181000.0);
}

BOOST_AUTO_TEST_CASE(grace_counts_an_order_closed_just_after_its_deadline_as_terminal) {
  workload w = *workload_named("w2");
  const int64_t start = 1'000'000;
  std::vector<stored_order> rows{
    row("succeeded", start, start + 50),
    row("succeeded", start, start + 180'000),           // at the deadline: within
    row("succeeded", start, start + 180'400),           // a success late is not within
    row("failed", start, start + 180'400),              // refund at 180.4 s: terminal within
    row("failed", start, start + 181'001, "p-agg"),     // beyond the grace: not within
    row("unknown", start, start + 2'000, "p-agg"),      // never terminal: lost
  };
  auto f = compute_completion(rows, 7, w, start);  // one acknowledged order is not stored
  BOOST_TEST(f.stored == 6u);
  BOOST_TEST(f.terminal == 5u);
  BOOST_TEST(f.succeeded == 3u);
  BOOST_TEST(f.failed == 2u);
  BOOST_TEST(f.lost == 2u);
  BOOST_TEST(f.succeeded_within_deadline == 2u);
  BOOST_TEST(f.terminal_within_deadline == 4u);
  BOOST_TEST(f.via_failover == 2u);
  BOOST_TEST(f.all.count() == 5u);
  BOOST_TEST(f.successes.count() == 3u);
  BOOST_TEST(f.completions_per_second.size() == 182u);
  BOOST_TEST(f.completions_per_second[0] == 1u);
  BOOST_TEST(f.completions_per_second[180] == 3u);
  BOOST_TEST(f.last_completion_ms == 181'001);
}

BOOST_AUTO_TEST_CASE(sliding_window_finds_the_busiest_second) {
  std::vector<int64_t> times{2500, 0, 999, 1000, 1999, 2000, 2001};
  // [1999, 2999) holds 1999, 2000, 2001 and 2500; 2999 would be the next window.
  BOOST_TEST(max_in_window(times, 1000) == 4u);
  std::vector<int64_t> none;
  BOOST_TEST(max_in_window(none, 1000) == 0u);
}

BOOST_AUTO_TEST_CASE(json_line_holds_parameters_and_every_figure) {
  run_report r;
  r.load = *workload_named("w3");
  r.mode = "remote";
  r.offered = r.acknowledged = 4;
  r.load_seconds = 2;
  r.peak_rss_kib = 1234;
  r.busiest_second = {{"p-agg", 231}, {"p-cmcc", 305}};
  r.provider_rates = {{"p-agg", 200}, {"p-cmcc", 300}};
  r.audit = audit_ledgers({{"o-1", "succeeded", "p-cmcc", ""}}, {});
  std::vector<stored_order> rows{row("succeeded", 0, 100), row("failed", 0, 200),
                                 row("succeeded", 0, 300), row("accepted", 0, 0)};
  auto j = to_json(r, compute_completion(rows, 4, r.load, 0));
  auto line = j.dump();
  BOOST_TEST(line.find('\n') == std::string::npos);
  BOOST_TEST(j["workload"] == "w3");
  BOOST_TEST(j["params"]["loop"] == "open");
  BOOST_TEST(j["params"]["rate"] == 200.0);
  BOOST_TEST(j["params"]["kill_at_s"] == 20.0);
  BOOST_TEST(j["accepted"] == 4);
  BOOST_TEST(j["accepted_per_s"] == 2.0);
  BOOST_TEST(j["completed"] == 3);
  BOOST_TEST(j["completed_per_s"] == 10.0);  // 3 in 0.3 s
  BOOST_TEST(j["lost"] == 1);
  BOOST_TEST(j["duplicates"] == 0);
  BOOST_TEST(j["peak_rss_kib"] == 1234);
  BOOST_TEST(j["ledger_recharges"] == 0);
  BOOST_TEST(j["ledger_audit"]["disagreements_by_kind"]["success_unrecharged"] == 1);
  BOOST_TEST(j["max_provider_calls_per_1s"] == 305);
  BOOST_TEST(j["provider_busiest_second"]["p-agg"]["calls"] == 231);
  BOOST_TEST(j["provider_busiest_second"]["p-agg"]["allowed"] == 220);
  BOOST_TEST(j["provider_ledger"].is_null());
  BOOST_TEST(j["share_succeeded_within_deadline"] == 0.5);
  BOOST_TEST(j["share_terminal_within_deadline"] == 0.75);
  for (auto key : {"completion_ms", "completion_succeeded_ms", "accept_latency_ms"})
    for (auto q : {"p50", "p90", "p99", "max", "count"})
      BOOST_TEST(j[key].contains(q), key << "." << q);
  BOOST_TEST(j["completion_succeeded_ms"]["count"] == 2);
  for (auto key : {"failover_orders", "retries", "refused", "node_starts", "run_seconds",
                   "load_seconds", "node_start_to_load_ms", "max_provider_calls_per_1s",
                   "completion_wait_timed_out", "mode", "offered", "reconnects",
                   "failed_connects"})
    BOOST_TEST(j.contains(key), key);
  BOOST_TEST(j["cluster"].is_null());
}

BOOST_AUTO_TEST_CASE(a_cluster_run_adds_its_nodes_and_failover_times) {
  run_report r;
  r.load = *workload_named("w3");
  r.mode = "cluster";
  cluster_figures c;
  c.nodes = 3;
  c.lease_ttl_ms = 2000;
  c.peak_rss_kib = {100, 200, 300};
  c.watched_provider = "p-cmcc";
  c.killed_node = "bench-node-2";
  c.failover_ms = 2150.5;
  r.cluster = c;
  auto j = to_json(r, compute_completion({}, 0, r.load, 0))["cluster"];
  BOOST_TEST(j["nodes"] == 3);
  BOOST_TEST(j["lease_ttl_ms"] == 2000);
  BOOST_TEST(j["peak_rss_kib"] == nlohmann::json({100, 200, 300}));
  BOOST_TEST(j["killed_node"] == "bench-node-2");
  BOOST_TEST(j["failover_ms"] == 2150.5);
  BOOST_TEST(j["calls_resumed_ms"].is_null());
  BOOST_TEST(j["rebalanced_ms"].is_null());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(output)

BOOST_AUTO_TEST_CASE(svg_is_one_document_with_both_panels) {
  auto histogram = make_completion_histogram();
  for (int ms = 10; ms <= 500; ms += 10)
    histogram.record(std::chrono::milliseconds(ms));
  chart_input input;
  input.title = "w3 <remote>";
  input.completions_per_second = {10, 200, 180, 0, 50};
  input.completion = &histogram;
  input.markers_s = {2, 3};
  auto svg = render_svg(input);
  BOOST_TEST(svg.rfind("<svg", 0) == 0u);
  BOOST_TEST(svg.find("</svg>") != std::string::npos);
  BOOST_TEST(svg.find("w3 &lt;remote&gt;") != std::string::npos);
  BOOST_TEST(svg.find("<polyline") != std::string::npos);
  BOOST_TEST(svg.find("stroke-dasharray") != std::string::npos);
  BOOST_TEST(svg.find("p99") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(progress_line_and_throttle) {
  progress_sample s;
  s.total = 200;
  s.done = 100;
  s.accepted = 150;
  s.phase = "load";
  auto line = render_progress_line(s, 10);
  BOOST_TEST(line.rfind("[#####-----]  50% load", 0) == 0u, line);
  BOOST_TEST(line.find("acc 150") != std::string::npos);
  progress_throttle plain{false};
  auto t0 = progress_throttle::clock::now();
  BOOST_TEST(plain.due(t0));
  BOOST_TEST(!plain.due(t0 + 4s));
  BOOST_TEST(plain.due(t0 + 5s));
  progress_throttle terminal{true};
  BOOST_TEST(terminal.due(t0));
  BOOST_TEST(terminal.due(t0 + 300ms));
}

BOOST_AUTO_TEST_CASE(peak_rss_is_read_from_vm_hwm) {
  BOOST_TEST((parse_vm_hwm_kib("Name:\tx\nVmPeak:\t 9 kB\nVmHWM:\t  131236 kB\nVmRSS: 1 kB\n")
              == std::optional<uint64_t>{131236}));
  BOOST_TEST(!parse_vm_hwm_kib("Name:\tx\n"));
  BOOST_TEST(peak_rss_kib(::getpid()).value_or(0) > 0u);
}

BOOST_AUTO_TEST_CASE(any_status_field_is_read_in_kib) {
  const std::string status = "Name:\tx\nVmHWM:\t  131236 kB\nVmRSS:\t   802816 kB\n";
  BOOST_TEST((parse_status_kib(status, "VmRSS") == std::optional<uint64_t>{802816}));
  BOOST_TEST((parse_status_kib(status, "VmHWM") == std::optional<uint64_t>{131236}));
  BOOST_TEST(!parse_status_kib(status, "VmSwap"));
  BOOST_TEST(!parse_status_kib("VmRSSX:\t 5 kB\n", "VmRSS"));
  BOOST_TEST(status_kib(::getpid(), "VmRSS").value_or(0) > 0u);
}

BOOST_AUTO_TEST_CASE(listening_lines_give_host_and_port) {
  auto address = process::parse_listening_line("listening on 127.0.0.1:4242");
  BOOST_REQUIRE(address);
  BOOST_TEST(address->host == "127.0.0.1");
  BOOST_TEST(address->port == 4242u);
  BOOST_TEST(process::parse_listening_line("listening on [::1]:9100").value().host == "::1");
  BOOST_TEST(!process::parse_listening_line("listening on ::1:9100"));
  auto tls = process::parse_listening_line("listening on 127.0.0.1:4243 (tls)");
  BOOST_REQUIRE(tls);
  BOOST_TEST(tls->host == "127.0.0.1");
  BOOST_TEST(tls->port == 4243u);
  BOOST_TEST(!process::parse_listening_line("listening on 127.0.0.1:0"));
  BOOST_TEST(!process::parse_listening_line("listening on 127.0.0.1:70000"));
  BOOST_TEST(!process::parse_listening_line("listening on 127.0.0.1:42x"));
  BOOST_TEST(!process::parse_listening_line("listening on :42"));
  BOOST_TEST(!process::parse_listening_line("error: port in use"));
}

BOOST_AUTO_TEST_CASE(the_router_recovery_line_gives_its_counts) {
  auto recovery = parse_router_recovery(
    "[2026-11-25 16:00:00.123] [topup-node] [info] router recovered 999996 waiting orders and 4 "
    "with an attempt in flight");
  BOOST_REQUIRE(recovery);
  BOOST_TEST(recovery->waiting == 999996u);
  BOOST_TEST(recovery->in_flight == 4u);
  BOOST_TEST(!parse_router_recovery("[info] node bench-hold ready: 4 providers"));
  BOOST_TEST(!parse_router_recovery("router recovered many waiting orders and 4 with"));
}

BOOST_AUTO_TEST_CASE(hold_figures_name_memory_and_restart_times) {
  hold_report r;
  r.load = *workload_named("hold");
  r.acknowledged = 1000;
  r.load_seconds = 2;
  r.rss_kib = 5000;
  r.restart_recovered_ms = 7600;
  r.recovered = router_recovery{996, 4};
  auto j = to_json(r);
  BOOST_TEST(j["workload"] == "hold");
  BOOST_TEST(j["accepted_per_s"] == 500.0);
  BOOST_TEST(j["rss_kib"] == 5000);
  BOOST_TEST(j["restart_recovered_ms"] == 7600.0);
  BOOST_TEST(j["recovered"]["waiting"] == 996);
  BOOST_TEST(j["peak_rss_after_restart_kib"].is_null());
  BOOST_TEST(j["params"]["batch"] == 500);
}

// -- providers out of process -------------------------------------------------------------------

nlohmann::json bench_w3_config() {
  return json_config::parse_document(json_config::read_file(TOPUP_BENCH_W3_CONFIG));
}

BOOST_AUTO_TEST_CASE(the_simulator_plays_the_simulated_providers_of_a_bench_config) {
  auto node = bench_w3_config();
  auto sim = sim_config_for(node, "/tmp/run/data/provider-ledger.db");
  BOOST_TEST(sim["listen"] == "127.0.0.1:0");
  BOOST_TEST(sim["ledger"] == "/tmp/run/data/provider-ledger.db");
  BOOST_REQUIRE(sim["providers"].size() == 4u);
  std::set<std::string> names;
  for (const auto& provider : sim["providers"]) {
    names.insert(provider["name"].get<std::string>());
    BOOST_TEST(!provider["model"].contains("type"));
    BOOST_TEST(!provider["model"].contains("ledger"));
    BOOST_TEST(provider["secret"] == sim_secret(provider["name"]));
  }
  BOOST_TEST((names == std::set<std::string>{"p-agg", "p-cmcc", "p-ctcc", "p-cucc"}));
  // What the simulator itself makes of it: WORKLOAD (bench/README.md) W2/W3's providers.
  auto parsed = provider_sim::parse_sim_config(sim.dump());
  BOOST_REQUIRE(parsed.providers.size() == 4u);
  std::set<uint64_t> seeds;
  for (const auto& provider : parsed.providers) {
    const auto& model = provider.model;
    BOOST_TEST(model.latency.median_ms == 50.0);
    BOOST_TEST(model.latency.p99_ms == 500.0);
    BOOST_TEST(model.outcomes.success == 0.75);
    BOOST_TEST(model.outcomes.transient == 0.20);
    BOOST_TEST(model.outcomes.unknown == 0.05);
    BOOST_TEST(model.unknown_success_probability == 0.5);
    BOOST_TEST(model.outages.size() == (provider.name == "p-cucc" ? 1u : 0u));
    seeds.insert(model.seed);
  }
  BOOST_TEST(seeds.size() == 4u);  // each provider draws its own numbers
  const auto& cucc = parsed.providers[1];
  BOOST_REQUIRE(cucc.name == "p-cucc");
  BOOST_TEST(cucc.model.outages.front().from_s == 10.0);
  BOOST_TEST(cucc.model.outages.front().to_s == 40.0);
}

BOOST_AUTO_TEST_CASE(the_node_reaches_the_simulator_through_http_adapters) {
  auto node = with_http_providers(bench_w3_config(), "http://127.0.0.1:9123");
  auto cfg = parse_config(node.dump());
  BOOST_REQUIRE(cfg.providers.size() == 4u);
  for (const auto& provider : cfg.providers) {
    auto http = std::get_if<http_adapter_config>(&provider.adapter);
    BOOST_REQUIRE(http);
    BOOST_TEST(http->base_url == "http://127.0.0.1:9123/" + provider.name);
    BOOST_TEST(http->secret == sim_secret(provider.name));
  }
  // Rate limits, concurrency and failover stay the node's.
  BOOST_TEST(cfg.find_provider("p-cmcc")->rate == 300.0);
  BOOST_TEST(cfg.find_provider("p-agg")->rate == 200.0);
  BOOST_TEST(cfg.find_provider("p-cucc")->failover == std::vector<std::string>{"p-agg"});
}

BOOST_AUTO_TEST_CASE(each_cluster_node_gets_its_name_port_seeds_and_the_shared_store) {
  std::vector<uint16_t> ports{4301, 4302, 4303};
  cluster_timing timing;
  timing.lease_ttl_ms = 1500;
  std::set<std::string> names;
  for (size_t i = 0; i < ports.size(); ++i) {
    auto node = cluster_node_config(bench_w3_config(), i, ports, "host=127.0.0.1 dbname=t",
                                    timing);
    auto cfg = parse_config(node.dump());  // a valid topup-node configuration
    names.insert(cfg.node.name);
    BOOST_TEST(cfg.node.port == ports[i]);
    BOOST_TEST(cfg.node.host == "127.0.0.1");
    BOOST_TEST((cfg.store.backend == store_config::backend_kind::postgresql));
    BOOST_TEST(cfg.store.postgresql_connection == "host=127.0.0.1 dbname=t");
    BOOST_REQUIRE(cfg.cluster);
    BOOST_TEST(cfg.cluster->lease_ttl_ms == 1500);
    BOOST_TEST(cfg.cluster->seeds.size() == 2u);
    for (const auto& seed : cfg.cluster->seeds)
      BOOST_TEST(seed != "127.0.0.1:" + std::to_string(ports[i]), "a node seeds itself");
    BOOST_TEST(cfg.providers.size() == 4u);
  }
  BOOST_TEST((names == std::set<std::string>{"bench-node-1", "bench-node-2", "bench-node-3"}));
  BOOST_CHECK_THROW(cluster_node_config(bench_w3_config(), 3, ports, "x", timing),
                    std::invalid_argument);
  BOOST_TEST((provider_names(bench_w3_config())
              == std::vector<std::string>{"p-cmcc", "p-cucc", "p-ctcc", "p-agg"}));
}

BOOST_AUTO_TEST_CASE(a_config_without_simulated_providers_cannot_go_out_of_process) {
  auto node = with_http_providers(bench_w3_config(), "http://127.0.0.1:9123");
  BOOST_CHECK_THROW(sim_config_for(node, "ledger.db"), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(the_ledger_summary_gives_duplicates_and_the_busiest_second) {
  auto summary = parse_ledger_summary(R"({"total_recharges": 120, "orders": 118, "duplicates": 2,
    "providers": {
      "p-cmcc": {"calls": 90, "queries": 7, "recharges": 70, "deduplicated": 1,
                 "refused_outage": 0, "max_calls_in_1s_window": 31, "down": false},
      "p-cucc": {"calls": 60, "queries": 3, "recharges": 50, "deduplicated": 0,
                 "refused_outage": 20, "max_calls_in_1s_window": 44, "down": true}}})");
  BOOST_TEST(summary.total_recharges == 120u);
  BOOST_TEST(summary.orders == 118u);
  BOOST_TEST(summary.duplicates == 2u);
  BOOST_REQUIRE(summary.providers.size() == 2u);
  BOOST_TEST(summary.max_calls_in_1s_window() == 44u);
  auto j = to_json(summary);
  BOOST_TEST(j["p-cucc"]["refused_outage"] == 20);
  BOOST_TEST(j["p-cmcc"]["queries"] == 7);
}

BOOST_AUTO_TEST_CASE(a_ledger_summary_missing_counts_is_refused_by_name) {
  BOOST_CHECK_THROW(parse_ledger_summary("not json"), std::runtime_error);
  BOOST_CHECK_THROW(parse_ledger_summary("[]"), std::runtime_error);
  try {
    parse_ledger_summary(R"({"total_recharges": 1, "orders": 1, "duplicates": 0,
      "providers": {"p-agg": {"calls": 1, "queries": 0, "recharges": 1, "deduplicated": 0,
                              "refused_outage": 0}}})");
    BOOST_FAIL("a summary without max_calls_in_1s_window was accepted");
  } catch (const std::runtime_error& error) {
    std::string text = error.what();
    BOOST_TEST(text.find("max_calls_in_1s_window") != std::string::npos, text);
    BOOST_TEST(text.find("p-agg") != std::string::npos, text);
  }
}

BOOST_AUTO_TEST_SUITE_END()

// -- the per-order ground truth ----------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(ledger_audit_per_order)

ledger_record recharge(const std::string& order_id, const std::string& provider,
                       const std::string& txn = "") {
  return {order_id + "/" + provider, order_id, provider, txn.empty() ? provider + "-1" : txn, 0};
}

/// The kinds of the disagreements, in order.
std::vector<std::string> kinds_of(const ledger_audit& audit) {
  std::vector<std::string> kinds;
  for (const auto& d : audit.disagreements)
    kinds.emplace_back(to_string(d.kind));
  return kinds;
}

BOOST_AUTO_TEST_CASE(a_store_and_ledgers_that_agree_pass_with_their_counts) {
  auto audit = audit_ledgers({{"o-1", "succeeded", "p-cmcc", "p-cmcc-7"},
                              {"o-2", "succeeded", "p-agg", ""},  // transaction not known
                              {"o-3", "failed", "p-cucc", ""},
                              {"o-4", "unknown", "p-ctcc", ""},
                              {"o-5", "unknown", "p-ctcc", ""},
                              {"o-6", "dispatched", "p-ctcc", ""}},
                             {recharge("o-1", "p-cmcc", "p-cmcc-7"), recharge("o-2", "p-agg"),
                              recharge("o-4", "p-ctcc")});
  BOOST_TEST(audit.agrees(), describe(audit));
  BOOST_TEST(audit.orders == 6u);
  BOOST_TEST(audit.succeeded == 2u);
  BOOST_TEST(audit.failed == 1u);
  BOOST_TEST(audit.unknown == 2u);
  BOOST_TEST(audit.unknown_recharged == 1u);
  BOOST_TEST(audit.open == 1u);
  BOOST_TEST(audit.recharges == 3u);
  BOOST_TEST(audit.duplicates == 0u);
  BOOST_TEST(describe(audit).find("agree") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(each_kind_of_disagreement_is_found_and_named) {
  auto audit = audit_ledgers(
    {{"a-dup", "succeeded", "p-cmcc", ""},       // recharged twice: at p-cmcc and p-agg
     {"b-dup-failed", "failed", "p-cmcc", ""},   // recharged twice, on one provider
     {"c-none", "succeeded", "p-cmcc", ""},      // succeeded, recharged nowhere
     {"d-elsewhere", "succeeded", "p-cmcc", ""}, // recharged at p-agg
     {"e-txn", "succeeded", "p-cmcc", "p-cmcc-1"},
     {"f-refunded", "failed", "p-cucc", ""},     // refunded, yet recharged
     {"g-twice", "succeeded", "p-cmcc", ""},     // listed twice by the store
     {"g-twice", "succeeded", "p-agg", ""}},
    {recharge("a-dup", "p-cmcc"), recharge("a-dup", "p-agg"), recharge("b-dup-failed", "p-cmcc"),
     recharge("b-dup-failed", "p-cmcc"), recharge("d-elsewhere", "p-agg"),
     recharge("e-txn", "p-cmcc", "p-cmcc-2"), recharge("f-refunded", "p-cucc"),
     recharge("g-twice", "p-cmcc"), recharge("h-stray", "p-ctcc")});
  BOOST_TEST(!audit.agrees());
  BOOST_TEST((kinds_of(audit)
              == std::vector<std::string>{"duplicate", "duplicate", "failure_recharged",
                                          "success_unrecharged", "success_elsewhere",
                                          "success_other_txn", "failure_recharged",
                                          "stored_twice", "recharge_unstored"}),
             describe(audit, 20));
  BOOST_TEST(audit.duplicates == 2u);
  BOOST_TEST(audit.count(disagreement_kind::failure_recharged) == 2u);
  BOOST_TEST(audit.orders == 7u);
  BOOST_TEST(audit.recharges == 9u);
  BOOST_TEST(audit.disagreements.front().detail.find("p-cmcc, p-agg") != std::string::npos,
             audit.disagreements.front().detail);
  auto j = to_json(audit, 3);
  BOOST_TEST(j["disagreements"] == 9);
  BOOST_TEST(j["disagreements_by_kind"]["duplicate"] == 2);
  BOOST_TEST(j["disagreements_by_kind"]["recharge_unstored"] == 1);
  BOOST_TEST(j["examples"].size() == 3u);
  auto text = describe(audit, 2);
  BOOST_TEST(text.find("9 disagreements") != std::string::npos, text);
  BOOST_TEST(text.find("a-dup") != std::string::npos, text);
  BOOST_TEST(text.find("h-stray") == std::string::npos, text);
}

BOOST_AUTO_TEST_CASE(totals_that_match_do_not_hide_a_disagreement) {
  // One order recharged twice, another succeeded and never recharged: two recharges for
  // two successes, and no order counted twice in any one ledger's total.
  auto audit = audit_ledgers({{"o-1", "succeeded", "p-cmcc", ""},
                              {"o-2", "succeeded", "p-cmcc", ""}},
                             {recharge("o-1", "p-cmcc"), recharge("o-1", "p-agg")});
  BOOST_TEST(audit.recharges == audit.succeeded);
  BOOST_TEST((kinds_of(audit) == std::vector<std::string>{"duplicate", "success_unrecharged"}));
}

BOOST_AUTO_TEST_CASE(an_order_is_late_after_ack_plus_limit_plus_grace) {
  std::vector<timed_order> orders{{"o-on-time", 1000, 7000},
                                  {"o-at-grace", 1000, 8000},  // ack + 6000 + 1000: in time
                                  {"o-late", 1000, 8001},
                                  {"o-open", 1000, std::nullopt}};
  auto result = check_timeliness(orders, 6000, 1000);
  BOOST_TEST(result.checked == 4u);
  BOOST_REQUIRE(result.late.size() == 1u);
  BOOST_TEST(result.late.front().find("o-late final 1 ms after") == 0u, result.late.front());
  BOOST_TEST(result.not_final == std::vector<std::string>{"o-open"});
  BOOST_TEST(*result.least_spare_ms == -1);
  BOOST_TEST(!result.on_time());
  auto fine = check_timeliness({orders[0], orders[1]}, 6000, 1000);
  BOOST_TEST(fine.on_time(), describe(fine));
  BOOST_TEST(*fine.least_spare_ms == 0);
  BOOST_TEST(describe(fine).find("least spare 0 ms") != std::string::npos, describe(fine));
  BOOST_TEST(describe(result).find("o-late") != std::string::npos, describe(result));
}

BOOST_AUTO_TEST_SUITE_END()

// -- the verdict -------------------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(run_verdict)

/// A W2 run with nothing wrong: every order acknowledged, succeeded in time, recharged once
/// at the provider the store names; each provider below its rate + 10%.
struct good_run {
  run_report report;
  std::vector<stored_order> rows;
  std::vector<audited_order> stored;
  std::vector<ledger_record> recharges;

  good_run() {
    report.load = *workload_named("w2");
    report.load.orders = 4;
    report.offered = report.acknowledged = 4;
    for (int i = 0; i < 4; ++i) {
      auto id = "o-" + std::to_string(i);
      rows.push_back({"succeeded", "p-cmcc", 0, 100, id});
      stored.push_back({id, "succeeded", "p-cmcc", ""});
      recharges.push_back({id + "/p-cmcc", id, "p-cmcc", "t-" + id, 0});
    }
    report.provider_rates = {{"p-cmcc", 300}, {"p-cucc", 300}, {"p-ctcc", 300}, {"p-agg", 200}};
    report.busiest_second = {{"p-cmcc", 330}, {"p-cucc", 305}, {"p-ctcc", 12}, {"p-agg", 220}};
    ledger_summary sim;
    for (const auto& [name, calls] : report.busiest_second)
      sim.providers.push_back({name, calls, 0, 1, 0, 0, calls});
    report.sim_ledger = sim;
  }

  std::vector<violation> judged() {
    report.audit = audit_ledgers(stored, recharges);
    return judge(report, compute_completion(rows, report.acknowledged, report.load, 0));
  }
};

std::vector<std::string> checks_of(const std::vector<violation>& violations) {
  std::vector<std::string> checks;
  for (const auto& v : violations)
    checks.push_back(v.check);
  return checks;
}

std::string describe(const std::vector<violation>& violations) {
  std::string text;
  for (const auto& v : violations)
    text += v.check + ": " + v.reason + "\n";
  return text;
}

BOOST_AUTO_TEST_CASE(a_provider_may_see_its_rate_plus_ten_percent) {
  BOOST_TEST(allowed_calls_per_second(300) == 330u);
  BOOST_TEST(allowed_calls_per_second(200) == 220u);
  BOOST_TEST(allowed_calls_per_second(1) == 1u);
  BOOST_TEST(allowed_calls_per_second(1000000) == 1100000u);
}

BOOST_AUTO_TEST_CASE(a_good_run_passes) {
  good_run run;
  auto violations = run.judged();
  BOOST_TEST(violations.empty(), describe(violations));
  auto j = verdict_json(violations);
  BOOST_TEST(j["verdict"] == "pass");
  BOOST_TEST(j["violations"].empty());
}

BOOST_AUTO_TEST_CASE(a_duplicate_fails_the_run) {
  good_run run;
  run.recharges.push_back({"o-2/p-agg", "o-2", "p-agg", "t-x", 0});
  auto violations = run.judged();
  BOOST_TEST(checks_of(violations) == std::vector<std::string>{"duplicates"},
             describe(violations));
  auto j = verdict_json(violations);
  BOOST_TEST(j["verdict"] == "fail");
  BOOST_TEST(j["violations"][0]["check"] == "duplicates");
  BOOST_TEST(j["violations"][0]["reason"] == "1 orders recharged more than once");
}

BOOST_AUTO_TEST_CASE(a_blind_resend_the_simulator_deduplicated_fails_the_run) {
  good_run run;
  run.report.sim_ledger->providers[1].deduplicated = 2;  // the ledger itself looks clean
  auto violations = run.judged();
  BOOST_TEST_REQUIRE(checks_of(violations) == std::vector<std::string>{"deduplicated"},
                     describe(violations));
  const auto& resending = run.report.sim_ledger->providers[1].name;
  BOOST_TEST(violations.front().reason.find(resending + ": 2 calls") == 0u,
             violations.front().reason);
}

BOOST_AUTO_TEST_CASE(simulator_counts_that_cannot_be_read_fail_the_run) {
  good_run run;
  run.report.providers = "provider-sim";
  run.report.sim_ledger.reset();
  auto violations = run.judged();
  BOOST_TEST(checks_of(violations) == std::vector<std::string>{"provider_counts"},
             describe(violations));
}

BOOST_AUTO_TEST_CASE(each_provider_is_judged_against_its_own_rate) {
  // The pre-pacer runs of 2026-12-03: p-agg at 231 calls in a second, allowed 220, while the
  // busiest provider overall (305) is well below the 330 of the others.
  good_run run;
  run.report.busiest_second["p-agg"] = 231;
  run.report.busiest_second["p-cmcc"] = 305;
  auto violations = run.judged();
  BOOST_TEST_REQUIRE(checks_of(violations) == std::vector<std::string>{"rate"},
                     describe(violations));
  BOOST_TEST(violations.front().reason == "p-agg: 231 calls in one second, above its rate 200 "
                                          "+ 10% = 220");
  run.report.busiest_second["p-agg"] = 220;
  run.report.busiest_second["p-cmcc"] = 331;
  BOOST_TEST(checks_of(run.judged()) == std::vector<std::string>{"rate"});
  run.report.busiest_second["p-cmcc"] = 300;
  run.report.busiest_second["p-new"] = 1;  // a provider without a known rate is not waved by
  BOOST_TEST(checks_of(run.judged()) == std::vector<std::string>{"rate"});
}

BOOST_AUTO_TEST_CASE(lost_orders_and_a_timed_out_wait_fail_the_run) {
  good_run run;
  run.rows.pop_back();
  run.report.completion_wait_timed_out = true;
  auto violations = run.judged();
  BOOST_TEST_REQUIRE((checks_of(violations)
                      == std::vector<std::string>{"lost", "completion_wait", "late"}),
                     describe(violations));
  BOOST_TEST(violations.front().reason == "1 of 4 acknowledged orders never reached a final "
                                          "state");
}

BOOST_AUTO_TEST_CASE(a_store_disagreeing_with_the_ledgers_fails_the_run) {
  good_run run;
  run.stored[3].status = "failed";  // refunded per the store, recharged per the ledger
  run.rows[3].status = "failed";
  auto violations = run.judged();
  BOOST_TEST_REQUIRE((checks_of(violations) == std::vector<std::string>{"ledger", "failed"}),
                     describe(violations));
  BOOST_TEST(violations.front().reason.find("failure_recharged") != std::string::npos,
             violations.front().reason);
}

BOOST_AUTO_TEST_CASE(ledgers_that_cannot_be_read_fail_the_run) {
  good_run run;
  run.report.audit_error = "cannot read the ledgers: no ledger file at 'x.db'";
  auto violations = judge(run.report, compute_completion(run.rows, 4, run.report.load, 0));
  BOOST_TEST_REQUIRE(checks_of(violations) == std::vector<std::string>{"ledger"},
                     describe(violations));
  BOOST_TEST(violations.front().reason.find("x.db") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(refusals_and_failures_are_w4s_point_but_not_w2s) {
  good_run run;
  run.report.offered = 6;
  run.report.load.orders = 6;
  run.report.refused = 2;
  run.report.given_up = 2;  // the two refused orders, still refused when the load ended
  run.stored[0].status = run.rows[0].status = "failed";  // at its deadline
  run.recharges.erase(run.recharges.begin());
  auto violations = run.judged();
  BOOST_TEST((checks_of(violations)
              == std::vector<std::string>{"refused", "unacknowledged", "failed"}),
             describe(violations));
  // W4: refusals and failures are expected; what is final in time is judged by share.
  run.report.load.name = "w4";
  violations = run.judged();
  BOOST_TEST(violations.empty(), describe(violations));
  run.rows[1].updated_at_ms = run.report.load.deadline_ms + run.report.load.grace_ms + 1;
  violations = run.judged();
  BOOST_TEST(checks_of(violations) == std::vector<std::string>{"late"}, describe(violations));
  run.rows[1].updated_at_ms = 100;
  // An order neither acknowledged nor given up is unanswered, refusals or not.
  run.report.given_up = 1;
  violations = run.judged();
  BOOST_TEST(checks_of(violations) == std::vector<std::string>{"unanswered"},
             describe(violations));
  run.report.given_up = 2;
  // Lost orders, duplicates and rates are violations in every workload.
  run.recharges.push_back({"o-1/p-agg", "o-1", "p-agg", "t-y", 0});
  run.report.busiest_second["p-agg"] = 221;
  violations = run.judged();
  BOOST_TEST((checks_of(violations) == std::vector<std::string>{"duplicates", "rate"}),
             describe(violations));
}

BOOST_AUTO_TEST_CASE(an_interrupted_run_is_not_judged_as_good) {
  good_run run;
  run.report.interrupted = true;
  auto violations = run.judged();
  BOOST_TEST(checks_of(violations) == std::vector<std::string>{"interrupted"});
}

BOOST_AUTO_TEST_SUITE_END()
