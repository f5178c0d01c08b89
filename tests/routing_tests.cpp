#include <boost/test/unit_test.hpp>

#include "domain/routing.hpp"
#include "tests/provider_views.hpp"

#include <algorithm>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

using namespace topup;
using topup::testing::workload_providers;

namespace {

/// Index of the provider with this name.
size_t index_of(const std::vector<provider_view>& views, const std::string& name) {
  for (size_t i = 0; i < views.size(); ++i)
    if (views[i].name == name)
      return i;
  BOOST_FAIL("no provider " << name);
  return views.size();
}

provider_view& named(std::vector<provider_view>& views, const std::string& name) {
  return views[index_of(views, name)];
}

/// Name of the chosen provider, or "<none>".
std::string chosen(const std::vector<provider_view>& views, const std::string& carrier,
                   routing_goal goal, double budget_ms, const std::string& exclude = "") {
  auto choice = choose_provider(views, carrier, goal, budget_ms, exclude);
  if (!choice)
    return "<none>";
  BOOST_TEST_REQUIRE(*choice < views.size());
  return views[*choice].name;
}

constexpr double big_budget = 1e12;

} // namespace

BOOST_AUTO_TEST_SUITE(routing_suite)

BOOST_AUTO_TEST_CASE(serves_only_the_configured_carriers) {
  auto views = workload_providers();
  const auto& cmcc = named(views, "p-cmcc");
  BOOST_TEST(cmcc.serves("cmcc"));
  BOOST_TEST(!cmcc.serves("cucc"));
  BOOST_TEST(!cmcc.serves("ctcc"));
  BOOST_TEST(!cmcc.serves("CMCC"));
  BOOST_TEST(!cmcc.serves(""));
  BOOST_TEST(!cmcc.serves("cmcc "));
  const auto& agg = named(views, "p-agg");
  for (const char* carrier : {"cmcc", "cucc", "ctcc"})
    BOOST_TEST(agg.serves(carrier), carrier);
  BOOST_TEST(!agg.serves("unknown"));
  provider_view nothing;
  BOOST_TEST(!nothing.serves("cmcc"));
  BOOST_TEST(!nothing.serves(""));
}

BOOST_AUTO_TEST_CASE(predicted_completion_of_an_idle_provider_is_its_latency) {
  auto views = workload_providers();
  BOOST_TEST(predicted_completion_ms(named(views, "p-cmcc")) == 50.0);
  BOOST_TEST(predicted_completion_ms(named(views, "p-agg")) == 50.0);
  auto slow = named(views, "p-cmcc");
  slow.latency_ms = 480;
  BOOST_TEST(predicted_completion_ms(slow) == 480.0);
}

BOOST_AUTO_TEST_CASE(predicted_completion_drains_queue_and_in_flight_at_the_rate,
                     *boost::unit_test::tolerance(1e-9)) {
  auto views = workload_providers();
  // 64 / 0.05 s = 1280 calls/s by concurrency, so the rate is the bound.
  auto& cmcc = named(views, "p-cmcc");
  cmcc.queued = 290;
  cmcc.in_flight = 10;
  BOOST_TEST(predicted_completion_ms(cmcc) == 300.0 / 300.0 * 1000.0 + 50.0);  // 1050
  auto& agg = named(views, "p-agg");
  agg.queued = 100;
  BOOST_TEST(predicted_completion_ms(agg) == 100.0 / 200.0 * 1000.0 + 50.0);  // 550
  agg.queued = 0;
  agg.in_flight = 100;
  BOOST_TEST(predicted_completion_ms(agg) == 550.0);
  // The queue only, in both orders of magnitude.
  agg.in_flight = 0;
  agg.queued = 36'000;
  BOOST_TEST(predicted_completion_ms(agg) == 180'050.0);
}

BOOST_AUTO_TEST_CASE(predicted_completion_uses_concurrency_over_latency_when_tighter,
                     *boost::unit_test::tolerance(1e-9)) {
  provider_view v;
  v.name = "narrow";
  v.carriers = {"cmcc"};
  v.rate = 300;
  v.concurrency = 4;
  v.latency_ms = 100;  // 4 / 0.1 s = 40 calls/s < 300
  v.queued = 20;
  BOOST_TEST(predicted_completion_ms(v) == 20.0 / 40.0 * 1000.0 + 100.0);  // 600
  v.concurrency = 30;  // 300 calls/s exactly: both bounds agree
  v.queued = 150;
  BOOST_TEST(predicted_completion_ms(v) == 150.0 / 300.0 * 1000.0 + 100.0);  // 600
  v.concurrency = 31;  // 310 calls/s: the rate is tighter again
  BOOST_TEST(predicted_completion_ms(v) == 600.0);
  v.latency_ms = 1000;  // 31 calls/s
  v.queued = 62;
  BOOST_TEST(predicted_completion_ms(v) == 2000.0 + 1000.0);
}

BOOST_AUTO_TEST_CASE(predicted_completion_grows_with_load) {
  auto views = workload_providers();
  auto v = named(views, "p-cmcc");
  double previous = predicted_completion_ms(v);
  for (size_t queued = 1; queued < 2000; queued += 37) {
    v.queued = queued;
    double now = predicted_completion_ms(v);
    BOOST_TEST(now > previous);
    previous = now;
  }
}

BOOST_AUTO_TEST_CASE(predicted_completion_survives_degenerate_views,
                     *boost::unit_test::tolerance(1e-9)) {
  provider_view v;
  v.rate = 100;
  v.concurrency = 0;  // no slot at all: effectively never
  v.queued = 1;
  BOOST_TEST(predicted_completion_ms(v) > 1e9);
  v.concurrency = 8;
  v.latency_ms = 0;  // no latency: the rate alone
  BOOST_TEST(predicted_completion_ms(v) == 10.0);
  v.queued = 0;
  BOOST_TEST(predicted_completion_ms(v) == 0.0);
}

BOOST_AUTO_TEST_CASE(preferred_picks_the_most_preferred_serving_provider_within_budget) {
  auto views = workload_providers();
  BOOST_TEST(chosen(views, "cmcc", routing_goal::preferred, 1000) == "p-cmcc");
  BOOST_TEST(chosen(views, "cucc", routing_goal::preferred, 1000) == "p-cucc");
  BOOST_TEST(chosen(views, "ctcc", routing_goal::preferred, 1000) == "p-ctcc");
  // Even when the aggregator would be faster, the preferred one wins while it fits.
  named(views, "p-cmcc").queued = 200;  // 716.7 ms
  BOOST_TEST(chosen(views, "cmcc", routing_goal::preferred, 1000) == "p-cmcc");
}

BOOST_AUTO_TEST_CASE(preference_is_the_field_not_the_position_in_the_vector) {
  auto views = workload_providers();
  std::reverse(views.begin(), views.end());  // p-agg first, still preference 3
  BOOST_TEST(chosen(views, "cmcc", routing_goal::preferred, 1000) == "p-cmcc");
  // Make the aggregator the preferred one.
  named(views, "p-agg").preference = 0;
  named(views, "p-cmcc").preference = 3;
  BOOST_TEST(chosen(views, "cmcc", routing_goal::preferred, 1000) == "p-agg");
}

BOOST_AUTO_TEST_CASE(preferred_skips_a_provider_over_budget) {
  auto views = workload_providers();
  named(views, "p-cmcc").queued = 300;  // 1050 ms
  named(views, "p-agg").queued = 100;   // 550 ms
  BOOST_TEST(chosen(views, "cmcc", routing_goal::preferred, 1000) == "p-agg");
  // The budget is inclusive.
  BOOST_TEST(chosen(views, "cmcc", routing_goal::preferred, 1050) == "p-cmcc");
  BOOST_TEST(chosen(views, "cmcc", routing_goal::preferred, 1049.999) == "p-agg");
}

BOOST_AUTO_TEST_CASE(preferred_falls_back_to_the_fastest_when_none_fits) {
  auto views = workload_providers();
  named(views, "p-cmcc").queued = 1500;  // 5050 ms
  named(views, "p-agg").queued = 2000;   // 10050 ms
  BOOST_TEST(chosen(views, "cmcc", routing_goal::preferred, 1000) == "p-cmcc");
  named(views, "p-cmcc").queued = 3300;  // 11050 ms
  BOOST_TEST(chosen(views, "cmcc", routing_goal::preferred, 1000) == "p-agg");
  // A budget that admits nothing at all.
  BOOST_TEST(chosen(views, "cmcc", routing_goal::preferred, 0) == "p-agg");
  BOOST_TEST(chosen(views, "cmcc", routing_goal::preferred, -1) == "p-agg");
}

BOOST_AUTO_TEST_CASE(providers_not_serving_the_carrier_are_ignored) {
  auto views = workload_providers();
  // p-cmcc is idle, preferred and fastest, but does not serve cucc.
  named(views, "p-cucc").queued = 3000;  // 10050 ms
  named(views, "p-agg").queued = 4000;   // 20050 ms
  BOOST_TEST(chosen(views, "cucc", routing_goal::preferred, 1000) == "p-cucc");
  BOOST_TEST(chosen(views, "cucc", routing_goal::fastest, 1000) == "p-cucc");
  named(views, "p-cucc").queued = 5000;  // 16716 ms
  BOOST_TEST(chosen(views, "cucc", routing_goal::fastest, 1000) == "p-cucc");
  named(views, "p-cucc").queued = 7000;  // 23383 ms
  BOOST_TEST(chosen(views, "cucc", routing_goal::fastest, 1000) == "p-agg");
  BOOST_TEST(chosen(views, "cucc", routing_goal::preferred, 1000) == "p-agg");
}

BOOST_AUTO_TEST_CASE(open_breakers_are_skipped) {
  auto views = workload_providers();
  named(views, "p-cmcc").accepting = false;
  named(views, "p-agg").queued = 10'000;  // 50 s: over budget, still the only accepting one
  BOOST_TEST(chosen(views, "cmcc", routing_goal::preferred, 1000) == "p-agg");
  BOOST_TEST(chosen(views, "cmcc", routing_goal::fastest, 1000) == "p-agg");
  // Other carriers are unaffected.
  BOOST_TEST(chosen(views, "cucc", routing_goal::preferred, 1000) == "p-cucc");
}

BOOST_AUTO_TEST_CASE(when_no_serving_provider_accepts_the_most_preferred_serving_one_waits) {
  auto views = workload_providers();
  named(views, "p-cmcc").accepting = false;
  named(views, "p-agg").accepting = false;
  named(views, "p-cmcc").queued = 10'000;  // load does not matter any more
  // p-cucc accepts but does not serve cmcc.
  BOOST_TEST(chosen(views, "cmcc", routing_goal::preferred, 1000) == "p-cmcc");
  BOOST_TEST(chosen(views, "cmcc", routing_goal::fastest, 1000) == "p-cmcc");
  std::reverse(views.begin(), views.end());
  BOOST_TEST(chosen(views, "cmcc", routing_goal::preferred, 1000) == "p-cmcc");
  BOOST_TEST(chosen(views, "cmcc", routing_goal::fastest, 1000) == "p-cmcc");
}

BOOST_AUTO_TEST_CASE(exclude_is_avoided_when_another_provider_serves) {
  auto views = workload_providers();
  // p-cmcc is idle and preferred, but just failed the order.
  BOOST_TEST(chosen(views, "cmcc", routing_goal::preferred, 1000, "p-cmcc") == "p-agg");
  BOOST_TEST(chosen(views, "cmcc", routing_goal::fastest, 1000, "p-cmcc") == "p-agg");
  // Even when the other one is far over budget.
  named(views, "p-agg").queued = 10'000;
  BOOST_TEST(chosen(views, "cmcc", routing_goal::preferred, 1000, "p-cmcc") == "p-agg");
  BOOST_TEST(chosen(views, "cmcc", routing_goal::fastest, 1000, "p-cmcc") == "p-agg");
  // Excluding the aggregator leaves the carrier's own provider.
  named(views, "p-cmcc").queued = 10'000;
  named(views, "p-agg").queued = 0;
  BOOST_TEST(chosen(views, "cmcc", routing_goal::fastest, 1000, "p-agg") == "p-cmcc");
}

BOOST_AUTO_TEST_CASE(exclude_is_chosen_when_it_is_the_only_provider_serving) {
  auto views = workload_providers();
  views.erase(views.begin() + static_cast<std::ptrdiff_t>(index_of(views, "p-agg")));
  BOOST_TEST(chosen(views, "cmcc", routing_goal::preferred, 1000, "p-cmcc") == "p-cmcc");
  BOOST_TEST(chosen(views, "cmcc", routing_goal::fastest, 1000, "p-cmcc") == "p-cmcc");
  named(views, "p-cmcc").accepting = false;
  BOOST_TEST(chosen(views, "cmcc", routing_goal::preferred, 1000, "p-cmcc") == "p-cmcc");
}

BOOST_AUTO_TEST_CASE(excluding_an_unknown_or_unrelated_name_changes_nothing) {
  auto views = workload_providers();
  BOOST_TEST(chosen(views, "cmcc", routing_goal::preferred, 1000, "p-nope") == "p-cmcc");
  BOOST_TEST(chosen(views, "cmcc", routing_goal::preferred, 1000, "p-cucc") == "p-cmcc");
  BOOST_TEST(chosen(views, "cmcc", routing_goal::preferred, 1000, "") == "p-cmcc");
}

BOOST_AUTO_TEST_CASE(fastest_picks_the_minimum_predicted_completion) {
  auto views = workload_providers();
  named(views, "p-cmcc").queued = 300;  // 1050 ms
  named(views, "p-agg").queued = 100;   // 550 ms
  // Fastest ignores the budget and the preference.
  BOOST_TEST(chosen(views, "cmcc", routing_goal::fastest, big_budget) == "p-agg");
  named(views, "p-agg").queued = 210;  // 1100 ms
  BOOST_TEST(chosen(views, "cmcc", routing_goal::fastest, big_budget) == "p-cmcc");
  // The preferred goal with a large budget still takes p-cmcc; fastest too now.
  BOOST_TEST(chosen(views, "cmcc", routing_goal::preferred, big_budget) == "p-cmcc");
}

BOOST_AUTO_TEST_CASE(fastest_breaks_ties_by_preference) {
  auto views = workload_providers();
  named(views, "p-cmcc").queued = 300;  // 1050 ms
  named(views, "p-agg").queued = 200;   // 1050 ms
  BOOST_TEST(chosen(views, "cmcc", routing_goal::fastest, 0) == "p-cmcc");
  std::reverse(views.begin(), views.end());
  BOOST_TEST(chosen(views, "cmcc", routing_goal::fastest, 0) == "p-cmcc");
}

BOOST_AUTO_TEST_CASE(fastest_accounts_for_latency_and_concurrency) {
  auto views = workload_providers();
  named(views, "p-cmcc").latency_ms = 900;  // idle but slow: 900 ms
  named(views, "p-agg").queued = 150;       // 750 + 50 = 800 ms
  BOOST_TEST(chosen(views, "cmcc", routing_goal::fastest, 0) == "p-agg");
  named(views, "p-cmcc").latency_ms = 300;
  named(views, "p-cmcc").concurrency = 2;  // 6.67 calls/s
  named(views, "p-cmcc").queued = 4;       // 600 + 300 = 900 ms
  BOOST_TEST(chosen(views, "cmcc", routing_goal::fastest, 0) == "p-agg");
  named(views, "p-cmcc").queued = 2;  // 300 + 300 = 600 ms
  BOOST_TEST(chosen(views, "cmcc", routing_goal::fastest, 0) == "p-cmcc");
}

BOOST_AUTO_TEST_CASE(nothing_for_a_carrier_no_provider_serves) {
  auto views = workload_providers();
  BOOST_TEST(!choose_provider(views, "unknown", routing_goal::preferred, 1000));
  BOOST_TEST(!choose_provider(views, "unknown", routing_goal::fastest, 1000));
  BOOST_TEST(!choose_provider(views, "", routing_goal::preferred, 1000));
  BOOST_TEST(!choose_provider(views, "CMCC", routing_goal::preferred, 1000));
  BOOST_TEST(!choose_provider({}, "cmcc", routing_goal::preferred, 1000));
  BOOST_TEST(!choose_provider({}, "cmcc", routing_goal::fastest, 1000, "p-cmcc"));
}

BOOST_AUTO_TEST_CASE(the_result_always_serves_the_carrier) {
  // Exhaustive over accepting flags, loads and goals on the WORKLOAD providers.
  const std::vector<size_t> loads = {0, 100, 300, 3000};
  for (const char* carrier : {"cmcc", "cucc", "ctcc"})
    for (unsigned mask = 0; mask < 16; ++mask)
      for (auto own_load : loads)
        for (auto agg_load : loads)
          for (auto goal : {routing_goal::preferred, routing_goal::fastest})
            for (const char* exclude : {"", "p-agg", "p-cmcc"}) {
              auto views = workload_providers();
              for (size_t i = 0; i < views.size(); ++i) {
                views[i].accepting = (mask & (1u << i)) != 0;
                views[i].queued = own_load;
              }
              named(views, "p-agg").queued = agg_load;
              auto choice = choose_provider(views, carrier, goal, 1000, exclude);
              BOOST_TEST_REQUIRE(choice.has_value());
              const auto& v = views[*choice];
              BOOST_TEST(v.serves(carrier));
              // An accepting, non-excluded serving provider always beats a refusing one.
              bool some_alternative = false;
              for (const auto& other : views)
                if (other.serves(carrier) && other.accepting && other.name != exclude)
                  some_alternative = true;
              if (some_alternative) {
                BOOST_TEST(v.accepting, carrier << " mask " << mask << " -> " << v.name);
                BOOST_TEST(v.name != exclude);
              }
            }
}

BOOST_AUTO_TEST_SUITE_END()
