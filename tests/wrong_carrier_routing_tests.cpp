#include <boost/test/unit_test.hpp>

#include "domain/order.hpp"
#include "domain/routing.hpp"
#include "tests/provider_views.hpp"

#include <string>
#include <vector>

using namespace topup;
using topup::testing::workload_providers;

namespace {

constexpr double big_budget = 1e12;

std::vector<std::string> names_of(const std::vector<provider_view>& views,
                                  const std::vector<size_t>& indices) {
  std::vector<std::string> names;
  for (auto i : indices)
    names.push_back(views.at(i).name);
  return names;
}

std::vector<std::string> candidates(const std::vector<provider_view>& views,
                                    const std::vector<std::string>& wrong_carrier_at) {
  return names_of(views, wrong_carrier_candidates(views, wrong_carrier_at));
}

order cmcc_order(std::vector<std::string> wrong_carrier_at) {
  order o;
  o.id = "o-1";
  o.carrier = "cmcc";
  o.wrong_carrier_at = std::move(wrong_carrier_at);
  return o;
}

std::string chosen_for(const std::vector<provider_view>& views, const order& o,
                       routing_goal goal = routing_goal::preferred,
                       const std::string& exclude = "") {
  auto choice = choose_provider_for(views, o, goal, big_budget, exclude);
  return choice ? views.at(*choice).name : std::string{"<none>"};
}

provider_view& named(std::vector<provider_view>& views, const std::string& name) {
  for (auto& view : views)
    if (view.name == name)
      return view;
  throw std::logic_error("no provider " + name);
}

using names = std::vector<std::string>;

} // namespace

BOOST_AUTO_TEST_SUITE(wrong_carrier_routing)

BOOST_AUTO_TEST_CASE(without_wrong_carrier_answers_an_order_goes_by_its_carrier) {
  auto views = workload_providers();
  BOOST_TEST(chosen_for(views, cmcc_order({})) == "p-cmcc");
}

BOOST_AUTO_TEST_CASE(after_the_carriers_provider_the_aggregator_is_next) {
  auto views = workload_providers();
  // p-cmcc says the number is not cmcc: cucc and ctcc are open, and only p-agg serves both.
  BOOST_TEST(candidates(views, {"p-cmcc"}) == names{"p-agg"}, boost::test_tools::per_element());
  BOOST_TEST(chosen_for(views, cmcc_order({"p-cmcc"})) == "p-agg");
}

BOOST_AUTO_TEST_CASE(the_answering_provider_is_never_chosen_again_whatever_its_load) {
  auto views = workload_providers();
  named(views, "p-agg").accepting = false;  // breaker open
  named(views, "p-agg").queued = 1000000;
  BOOST_TEST(chosen_for(views, cmcc_order({"p-cmcc"})) == "p-agg");
  BOOST_TEST(chosen_for(views, cmcc_order({"p-cmcc"}), routing_goal::fastest) == "p-agg");
  // A failing provider to avoid (the breaker's reroute) that is the only candidate stays
  // the choice: the order waits for its probe rather than go back to p-cmcc.
  BOOST_TEST(chosen_for(views, cmcc_order({"p-cmcc"}), routing_goal::preferred, "p-agg")
             == "p-agg");
}

BOOST_AUTO_TEST_CASE(without_an_aggregator_the_providers_of_the_other_carriers_take_it) {
  auto views = workload_providers();
  views.pop_back();  // no p-agg
  BOOST_TEST(candidates(views, {"p-cmcc"}) == (names{"p-cucc", "p-ctcc"}),
             boost::test_tools::per_element());
  BOOST_TEST(chosen_for(views, cmcc_order({"p-cmcc"})) == "p-cucc");
  // p-cucc said no as well: the number can only be ctcc.
  BOOST_TEST(candidates(views, {"p-cmcc", "p-cucc"}) == names{"p-ctcc"},
             boost::test_tools::per_element());
  BOOST_TEST(chosen_for(views, cmcc_order({"p-cmcc", "p-cucc"})) == "p-ctcc");
  // Among equal reach, load decides as for any order.
  named(views, "p-cucc").accepting = false;
  BOOST_TEST(chosen_for(views, cmcc_order({"p-cmcc"})) == "p-ctcc");
}

BOOST_AUTO_TEST_CASE(no_provider_is_left_when_every_carrier_is_ruled_out) {
  auto views = workload_providers();
  // The aggregator serves every carrier: its "wrong carrier" rules them all out.
  BOOST_TEST(candidates(views, {"p-cmcc", "p-agg"}).empty());
  BOOST_TEST(chosen_for(views, cmcc_order({"p-cmcc", "p-agg"})) == "<none>");
  BOOST_TEST(candidates(views, {"p-agg"}).empty());
  // Only providers of the number's own carrier configured.
  std::vector<provider_view> only_cmcc{views.front()};
  BOOST_TEST(candidates(only_cmcc, {"p-cmcc"}).empty());
  BOOST_TEST(chosen_for(only_cmcc, cmcc_order({"p-cmcc"})) == "<none>");
}

BOOST_AUTO_TEST_CASE(a_second_provider_of_the_same_carrier_is_ruled_out_too) {
  auto views = workload_providers();
  provider_view backup = views.front();
  backup.name = "p-cmcc-2";
  backup.preference = 4;
  views.push_back(backup);
  // The number is not cmcc: p-cmcc-2 cannot serve it either.
  BOOST_TEST(candidates(views, {"p-cmcc"}) == names{"p-agg"}, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_provider_no_longer_configured_rules_nothing_out) {
  auto views = workload_providers();
  BOOST_TEST(candidates(views, {"p-gone"}) == names{"p-agg"}, boost::test_tools::per_element());
  BOOST_TEST(chosen_for(views, cmcc_order({"p-gone"})) == "p-agg");
}

BOOST_AUTO_TEST_CASE(the_stored_provider_list_round_trips) {
  names providers{"p-cmcc", "p-agg"};
  auto stored = encode_provider_list(providers);
  BOOST_TEST(stored == "p-cmcc\np-agg\n");
  BOOST_TEST(stored_provider_entry("p-cmcc") + stored_provider_entry("p-agg") == stored);
  BOOST_TEST(decode_provider_list(stored) == providers, boost::test_tools::per_element());
  BOOST_TEST(decode_provider_list("").empty());
  // A last line without its break (written by hand) still counts.
  BOOST_TEST(decode_provider_list("p-cmcc\np-agg") == providers,
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()
