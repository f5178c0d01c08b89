#define BOOST_TEST_MODULE cluster_tests
#include <boost/test/unit_test.hpp>

#include "domain/membership.hpp"
#include "domain/ownership.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

using namespace topup;

namespace {

std::vector<std::string> nodes(int count) {
  std::vector<std::string> names;
  for (int i = 1; i <= count; ++i)
    names.push_back("node-" + std::to_string(i));
  return names;
}

std::vector<std::string> synthetic_providers(int count) {
  std::vector<std::string> names;
  for (int i = 0; i < count; ++i)
    names.push_back("provider-" + std::to_string(i));
  return names;
}

std::map<std::string, std::string> owners(const std::vector<std::string>& providers,
                                          const std::vector<std::string>& live) {
  std::map<std::string, std::string> owner_of;
  for (const auto& provider : providers)
    owner_of[provider] = rendezvous_owner(provider, live).value();
  return owner_of;
}

std::map<std::string, int> load(const std::map<std::string, std::string>& owner_of) {
  std::map<std::string, int> count;
  for (const auto& [provider, node] : owner_of)
    ++count[node];
  return count;
}

std::vector<std::string> without(std::vector<std::string> names, const std::string& name) {
  names.erase(std::remove(names.begin(), names.end(), name), names.end());
  return names;
}

std::vector<std::string> providers_of(const std::vector<lease>& leases) {
  std::vector<std::string> names;
  for (const auto& l : leases)
    names.push_back(l.provider);
  return names;
}

lease held_by(const std::string& node, const std::string& provider, int64_t epoch = 1) {
  return {provider, node, epoch, 1'000};
}

const std::vector<std::string> workload_providers{"p-cmcc", "p-cucc", "p-ctcc", "p-agg"};

} // namespace

BOOST_AUTO_TEST_SUITE(rendezvous_hashing)

BOOST_AUTO_TEST_CASE(the_hash_is_fnv1a_64_with_its_published_values) {
  BOOST_TEST(stable_hash("") == 0xcbf29ce484222325ULL);
  BOOST_TEST(stable_hash("a") == 0xaf63dc4c8601ec8cULL);
  BOOST_TEST(stable_hash("foobar") == 0x85944171f73967e8ULL);
}

BOOST_AUTO_TEST_CASE(weights_are_pinned_so_every_build_agrees) {
  // Changing this value changes which node owns what: nodes of different builds in one
  // cluster would then disagree.
  BOOST_TEST(rendezvous_weight("node-1", "p-cmcc") == 0x52899bd4429f8931ULL);
  BOOST_TEST(rendezvous_weight("ab", "c") != rendezvous_weight("a", "bc"));
}

BOOST_AUTO_TEST_CASE(the_owner_does_not_depend_on_the_order_of_the_live_list) {
  auto live = nodes(4);
  auto expected = owners(synthetic_providers(200), live);
  std::sort(live.begin(), live.end());
  do {
    BOOST_TEST((owners(synthetic_providers(200), live) == expected));
  } while (std::next_permutation(live.begin(), live.end()));
}

BOOST_AUTO_TEST_CASE(no_live_node_means_no_owner) {
  BOOST_TEST(!rendezvous_owner("p-cmcc", {}));
  BOOST_TEST(rendezvous_owner("p-cmcc", {"only"}).value() == "only");
}

BOOST_AUTO_TEST_CASE(the_workload_providers_spread_over_three_nodes) {
  // Pinned: with four providers the spread is whatever the hash gives, so it is stated
  // here exactly; a hash change shows up as this test failing.
  auto owner_of = owners(workload_providers, nodes(3));
  std::map<std::string, std::string> expected{{"p-agg", "node-1"}, {"p-cucc", "node-1"},
                                              {"p-cmcc", "node-3"}, {"p-ctcc", "node-3"}};
  BOOST_TEST((owner_of == expected));
  BOOST_TEST(load(owner_of).size() >= 2u);
}

BOOST_AUTO_TEST_CASE(a_thousand_providers_spread_evenly) {
  auto providers = synthetic_providers(1000);
  for (int count : {2, 3, 5, 8}) {
    auto per_node = load(owners(providers, nodes(count)));
    BOOST_TEST(per_node.size() == static_cast<size_t>(count));
    double fair = 1000.0 / count;
    for (const auto& [node, owned] : per_node) {
      BOOST_TEST(owned > 0.75 * fair, node << " of " << count << " owns " << owned);
      BOOST_TEST(owned < 1.25 * fair, node << " of " << count << " owns " << owned);
    }
  }
}

BOOST_AUTO_TEST_CASE(when_a_node_leaves_only_its_providers_move) {
  auto providers = synthetic_providers(1000);
  auto live = nodes(5);
  auto before = owners(providers, live);
  for (const auto& leaving : live) {
    auto after = owners(providers, without(live, leaving));
    int moved = 0;
    for (const auto& provider : providers) {
      if (before[provider] == leaving) {
        BOOST_TEST(after[provider] != leaving);
        ++moved;
      } else {
        BOOST_TEST(after[provider] == before[provider], provider << " moved needlessly");
      }
    }
    BOOST_TEST(moved == load(before)[leaving]);
  }
}

BOOST_AUTO_TEST_CASE(when_a_node_joins_providers_move_only_to_it) {
  auto providers = synthetic_providers(1000);
  auto before = owners(providers, nodes(5));
  auto after = owners(providers, nodes(6));
  int gained = 0;
  for (const auto& provider : providers) {
    if (after[provider] == before[provider])
      continue;
    BOOST_TEST(after[provider] == "node-6", provider << " moved between old nodes");
    ++gained;
  }
  BOOST_TEST(gained > 1000 / 6 * 3 / 4);
  BOOST_TEST(gained < 1000 / 6 * 5 / 4);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(membership)

BOOST_AUTO_TEST_CASE(a_member_is_down_exactly_when_down_after_has_passed) {
  const int64_t now = 1'700'000'010'000, down_after = 5000;
  member_record member{"node-1", "127.0.0.1:4242", 1, now - down_after + 1};
  BOOST_TEST(is_live(member, now, down_after));
  member.heartbeat_at_ms = now - down_after;
  BOOST_TEST(!is_live(member, now, down_after));
  member.heartbeat_at_ms = now + 20;  // read a moment after `now` was
  BOOST_TEST(is_live(member, now, down_after));
}

BOOST_AUTO_TEST_CASE(the_view_lists_live_members_sorted) {
  const int64_t now = 100'000;
  membership_view view{{{"node-3", "h:3", 1, now - 100},
                        {"node-1", "h:1", 1, now - 6000},  // down
                        {"node-2", "h:2", 1, now - 4999},
                        {"node-0", "h:0", 1, now}},
                       now, 5000};
  BOOST_TEST((view.nodes() == std::vector<std::string>{"node-0", "node-2", "node-3"}));
  BOOST_TEST(view.contains("node-2"));
  BOOST_TEST(!view.contains("node-1"));
  BOOST_TEST(view.find("node-3")->address == "h:3");
  BOOST_TEST(!view.find("node-9"));
  BOOST_TEST(membership_view{}.empty());
}

BOOST_AUTO_TEST_CASE(a_node_listed_twice_counts_once_with_its_latest_heartbeat) {
  membership_view view{{{"node-1", "old:1", 1, 1000}, {"node-1", "new:1", 2, 9000}}, 10'000,
                       5000};
  BOOST_REQUIRE_EQUAL(view.size(), 1u);
  BOOST_TEST(view.members()[0].address == "new:1");
}

BOOST_AUTO_TEST_CASE(changes_name_who_joined_left_and_restarted) {
  const int64_t now = 100'000;
  membership_view before{{{"node-1", "h:1", 1, now}, {"node-2", "h:2", 1, now},
                          {"node-3", "h:3", 1, now}},
                         now, 5000};
  membership_view after{{{"node-1", "h:1", 1, now + 1000}, {"node-3", "h:3", 7, now + 1000},
                         {"node-4", "h:4", 1, now + 1000}},
                        now + 1000, 5000};
  auto change = compare(before, after);
  BOOST_TEST((change.joined == std::vector<std::string>{"node-4"}));
  BOOST_TEST((change.left == std::vector<std::string>{"node-2"}));
  BOOST_TEST((change.restarted == std::vector<std::string>{"node-3"}));
  BOOST_TEST(change.describe() == "joined node-4; left node-2; restarted node-3");
  BOOST_TEST(compare(after, after).empty());
  BOOST_TEST(compare(after, after).describe().empty());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(ownership_plans)

BOOST_AUTO_TEST_CASE(a_node_acquires_exactly_the_providers_it_is_the_owner_of) {
  auto live = nodes(3);
  auto providers = synthetic_providers(50);
  auto owner_of = owners(providers, live);
  for (const auto& self : live) {
    auto plan = plan_ownership(self, providers, live, {});
    std::vector<std::string> expected;
    for (const auto& [provider, owner] : owner_of)
      if (owner == self)
        expected.push_back(provider);
    BOOST_TEST(plan.acquire == expected);
    BOOST_TEST(plan.keep.empty());
    BOOST_TEST(plan.release.empty());
  }
}

BOOST_AUTO_TEST_CASE(held_leases_are_kept_or_released_and_missing_ones_acquired) {
  auto live = nodes(3);
  auto owner_of = owners(workload_providers, live);  // node-1: p-agg, p-cucc
  std::vector<lease> held{held_by("node-1", "p-cucc", 4),   // still node-1's
                          held_by("node-1", "p-cmcc", 2),   // node-3's now
                          held_by("node-1", "p-retired"),   // no longer configured
                          held_by("node-2", "p-agg", 9)};   // someone else's: ignored
  auto plan = plan_ownership("node-1", workload_providers, live, held);
  BOOST_TEST((plan.acquire == std::vector<std::string>{"p-agg"}));
  BOOST_TEST((providers_of(plan.keep) == std::vector<std::string>{"p-cucc"}));
  BOOST_TEST(plan.keep[0].epoch == 4);
  BOOST_TEST((providers_of(plan.release) == std::vector<std::string>{"p-cmcc", "p-retired"}));
  BOOST_TEST(!plan.changes_nothing());
}

BOOST_AUTO_TEST_CASE(a_settled_node_changes_nothing) {
  auto live = nodes(3);
  auto providers = workload_providers;
  providers.push_back("p-cucc");  // listed twice
  auto plan = plan_ownership("node-3", providers, live,
                             {held_by("node-3", "p-ctcc"), held_by("node-3", "p-cmcc")});
  BOOST_TEST(plan.changes_nothing());
  BOOST_TEST((providers_of(plan.keep) == std::vector<std::string>{"p-cmcc", "p-ctcc"}));
  BOOST_TEST(plan_ownership("node-2", providers, live, {}).changes_nothing());
}

BOOST_AUTO_TEST_CASE(a_node_missing_from_the_live_set_releases_everything) {
  auto plan = plan_ownership("node-1", workload_providers, {"node-2", "node-3"},
                             {held_by("node-1", "p-agg"), held_by("node-1", "p-cucc")});
  BOOST_TEST(plan.acquire.empty());
  BOOST_TEST(plan.keep.empty());
  BOOST_TEST((providers_of(plan.release) == std::vector<std::string>{"p-agg", "p-cucc"}));
}

BOOST_AUTO_TEST_CASE(every_provider_has_exactly_one_planned_owner) {
  auto providers = synthetic_providers(300);
  for (int count = 1; count <= 6; ++count) {
    auto live = nodes(count);
    std::map<std::string, int> planned;
    for (const auto& self : live)
      for (const auto& provider : plan_ownership(self, providers, live, {}).acquire)
        ++planned[provider];
    BOOST_TEST(planned.size() == providers.size());
    for (const auto& [provider, times] : planned)
      BOOST_TEST(times == 1, provider << " planned " << times << " times");
  }
}

BOOST_AUTO_TEST_CASE(a_failover_and_a_return_move_exactly_the_returning_nodes_providers) {
  auto providers = synthetic_providers(300);
  auto all = nodes(3);
  auto survivors = without(all, "node-2");

  // node-2 is down: the survivors take its providers over.
  std::map<std::string, std::vector<lease>> held;
  for (const auto& [provider, owner] : owners(providers, survivors))
    held[owner].push_back(held_by(owner, provider));
  std::set<std::string> of_node_2;
  for (const auto& [provider, owner] : owners(providers, all))
    if (owner == "node-2")
      of_node_2.insert(provider);

  // node-2 is back: the survivors release precisely what it gains, and it acquires it.
  std::set<std::string> released;
  for (const auto& self : survivors) {
    auto plan = plan_ownership(self, providers, all, held[self]);
    BOOST_TEST(plan.acquire.empty());
    for (const auto& l : plan.release)
      released.insert(l.provider);
  }
  auto returning = plan_ownership("node-2", providers, all, {});
  BOOST_TEST(released == of_node_2);
  BOOST_TEST((std::set<std::string>(returning.acquire.begin(), returning.acquire.end())
              == of_node_2));
}

BOOST_AUTO_TEST_SUITE_END()
