#define BOOST_TEST_MODULE cluster_tests
#include <boost/test/unit_test.hpp>

#include "domain/forward_backlog.hpp"
#include "domain/forward_route.hpp"
#include "domain/lease_holding.hpp"
#include "domain/membership.hpp"
#include "domain/ownership.hpp"
#include "domain/send_fence.hpp"
#include "tests/time_support.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

using namespace topup;
using topup::testing::at_ms;

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
  return assign_owners(providers, live);
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
  BOOST_TEST(assign_owners({"p-cmcc"}, {}).empty());
  auto alone = assign_owners({"p-cmcc", "p-agg"}, {"only"});
  BOOST_TEST(alone.size() == 2u);
  BOOST_TEST(alone["p-cmcc"] == "only");
  BOOST_TEST(alone["p-agg"] == "only");
}

BOOST_AUTO_TEST_CASE(the_workload_providers_leave_no_node_idle) {
  // Plain rendezvous hashing gives these four providers to node-1 and node-3 only
  // (p-agg, p-cucc and p-cmcc, p-ctcc): node-2 would recharge nothing.
  auto owner_of = owners(workload_providers, nodes(3));
  std::map<std::string, std::string> expected{{"p-agg", "node-2"}, {"p-cucc", "node-1"},
                                              {"p-cmcc", "node-3"}, {"p-ctcc", "node-3"}};
  BOOST_TEST((owner_of == expected));
  BOOST_TEST(load(owner_of).size() == 3u);
}

BOOST_AUTO_TEST_CASE(every_node_owns_its_share_rounded_down_or_up) {
  for (int provider_count : {1, 2, 4, 7, 12, 50, 1000}) {
    auto providers = synthetic_providers(provider_count);
    for (int count = 1; count <= 8; ++count) {
      auto owner_of = owners(providers, nodes(count));
      BOOST_TEST(owner_of.size() == providers.size());
      auto per_node = load(owner_of);
      auto share = provider_count / count;
      int above_share = 0;
      for (const auto& [node, owned] : per_node) {
        BOOST_TEST((owned == share || owned == share + 1),
                   node << " of " << count << " owns " << owned << " of " << provider_count);
        above_share += owned - share;
      }
      if (provider_count >= count)
        BOOST_TEST(per_node.size() == static_cast<size_t>(count));
      BOOST_TEST(above_share == provider_count % count);
    }
  }
}

BOOST_AUTO_TEST_CASE(when_a_node_leaves_its_providers_move_and_few_others_do) {
  // Balancing costs a little of rendezvous hashing's minimal movement: a few providers may
  // change hands between survivors to even their shares out. Each such move drains the old
  // owner before the new one starts, so it is safe, but it should stay rare.
  auto providers = synthetic_providers(1000);
  auto live = nodes(5);
  auto before = owners(providers, live);
  for (const auto& leaving : live) {
    auto after = owners(providers, without(live, leaving));
    int needless = 0;
    for (const auto& provider : providers) {
      if (before[provider] == leaving)
        BOOST_TEST(after[provider] != leaving);
      else if (after[provider] != before[provider])
        ++needless;
    }
    BOOST_TEST(needless <= 30, needless << " providers moved between survivors of " << leaving);
  }
}

BOOST_AUTO_TEST_CASE(when_a_node_joins_it_gains_its_share_and_few_others_move) {
  auto providers = synthetic_providers(1000);
  auto before = owners(providers, nodes(5));
  auto after = owners(providers, nodes(6));
  int gained = 0;
  int needless = 0;
  for (const auto& provider : providers) {
    if (after[provider] == before[provider])
      continue;
    (after[provider] == "node-6" ? gained : needless)++;
  }
  BOOST_TEST((gained == 1000 / 6 || gained == 1000 / 6 + 1));
  BOOST_TEST(needless <= 30, needless << " providers moved between the old nodes");
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

BOOST_AUTO_TEST_CASE(the_first_live_member_serves_what_a_member_holding_no_lease_left) {
  const int64_t now = 100'000;
  membership_view live{{{"node-1", "h:1", 1, now}, {"node-3", "h:3", 1, now}}, now, 5000};
  membership_change node_2_left;
  node_2_left.left = {"node-2"};
  // node-2 held nothing: no takeover reads the store for what it accepted.
  BOOST_TEST(serves_orphans(node_2_left, {"node-1", "node-3"}, live, "node-1"));
  BOOST_TEST(!serves_orphans(node_2_left, {"node-1", "node-3"}, live, "node-3"));
  // node-2 held a lease: its next holder's takeover serves every waiting order.
  BOOST_TEST(!serves_orphans(node_2_left, {"node-2", "node-3"}, live, "node-1"));

  membership_change node_3_restarted;
  node_3_restarted.restarted = {"node-3"};
  BOOST_TEST(serves_orphans(node_3_restarted, {"node-1"}, live, "node-1"));
  BOOST_TEST(!serves_orphans(node_3_restarted, {"node-1", "node-3"}, live, "node-1"));

  membership_change node_4_joined;
  node_4_joined.joined = {"node-4"};
  BOOST_TEST(!serves_orphans(node_4_joined, {}, live, "node-1"));
  BOOST_TEST(!serves_orphans(node_2_left, {}, membership_view{}, "node-1"));
}

// When PostgreSQL comes back from a 6 s outage, the first node to reconnect reads the two
// others' heartbeats 6 s old; they are missing for the same reason as its own, and judging
// them dead would take every lease from them. A watch judges only silence it could see.
BOOST_AUTO_TEST_CASE(peers_silent_while_this_node_could_not_read_are_not_judged_down) {
  const int64_t down_after = 1000, gap = 800, beat = 200;
  membership_watch watch{down_after, gap};
  auto rows_at = [](int64_t heartbeat_2, int64_t heartbeat_3, int64_t self) {
    return std::vector<member_record>{{"node-1", "h:1", 1, self},
                                      {"node-2", "h:2", 1, heartbeat_2},
                                      {"node-3", "h:3", 1, heartbeat_3}};
  };
  int64_t t = 100'000;
  for (; t <= 110'000; t += beat)
    BOOST_TEST_REQUIRE(watch.observe(rows_at(t - 50, t - 120, t), t).size() == 3u);
  // The database goes away for 6 s: every read fails, every heartbeat too.
  int64_t last_heard = t - beat;
  for (int failed = 0; failed < 30; ++failed)
    watch.lost();
  t += 6000;
  auto rows = rows_at(last_heard - 50, last_heard - 120, t);
  // The plain judgement by the database clock is what went wrong...
  BOOST_TEST((membership_view(rows, t, down_after).nodes() == std::vector<std::string>{"node-1"}));
  // ...while the watch that starts now still counts them live.
  BOOST_TEST((watch.observe(rows, t).nodes() == nodes(3)));
  BOOST_TEST((watch.watching_since() == std::optional<int64_t>{t}));
  // node-2 comes back within the next heartbeats; node-3 never does: it is down exactly
  // once down_after of silence has been watched.
  auto back = t;
  for (t += beat; t < back + down_after; t += beat)
    BOOST_TEST((watch.observe(rows_at(t - 10, last_heard - 120, t), t).nodes() == nodes(3)),
               "at +" << t - back << " ms");
  BOOST_TEST((watch.observe(rows_at(t - 10, last_heard - 120, t), t).nodes()
              == std::vector<std::string>{"node-1", "node-2"}));
}

BOOST_AUTO_TEST_CASE(a_member_down_before_an_outage_stays_down_after_it) {
  membership_watch watch{1000, 800};
  std::vector<member_record> rows{{"node-1", "h:1", 1, 10'000}, {"node-2", "h:2", 1, 8'000}};
  BOOST_TEST((watch.observe(rows, 10'000).nodes() == nodes(2)));  // not watched long enough
  rows[0].heartbeat_at_ms = 10'500;
  BOOST_TEST((watch.observe(rows, 10'500).nodes() == nodes(2)));
  rows[0].heartbeat_at_ms = 11'000;
  BOOST_TEST((watch.observe(rows, 11'000).nodes() == std::vector<std::string>{"node-1"}));
  watch.lost();
  rows[0].heartbeat_at_ms = 20'000;
  BOOST_TEST((watch.observe(rows, 20'000).nodes() == std::vector<std::string>{"node-1"}));
  // Until it heartbeats again.
  rows[1].heartbeat_at_ms = 20'100;
  rows[0].heartbeat_at_ms = 20'200;
  BOOST_TEST((watch.observe(rows, 20'200).nodes() == nodes(2)));
}

// A node paused itself (or whose reads hung) did not see its peers either, though no read
// failed: reads further apart than the gap start a new watch.
BOOST_AUTO_TEST_CASE(reads_further_apart_than_the_gap_start_a_new_watch) {
  membership_watch watch{1000, 800};
  std::vector<member_record> rows{{"node-1", "h:1", 1, 10'000}, {"node-2", "h:2", 1, 10'000}};
  watch.observe(rows, 9'400);
  watch.observe(rows, 10'000);
  BOOST_TEST((watch.watching_since() == std::optional<int64_t>{9'400}));
  rows[0].heartbeat_at_ms = 10'801;
  BOOST_TEST((watch.observe(rows, 10'801).nodes() == nodes(2)));  // 801 ms: a new watch
  BOOST_TEST((watch.watching_since() == std::optional<int64_t>{10'801}));
  rows[0].heartbeat_at_ms = 11'600;
  BOOST_TEST((watch.observe(rows, 11'600).nodes() == nodes(2)));  // 800 ms: the same watch
  rows[0].heartbeat_at_ms = 11'801;
  BOOST_TEST((watch.observe(rows, 11'801).nodes() == std::vector<std::string>{"node-1"}));
}

// Read without a break, a watch judges exactly as the database clock alone does.
BOOST_AUTO_TEST_CASE(a_continuous_watch_judges_like_the_database_clock) {
  const int64_t down_after = 1000;
  membership_watch watch{down_after, 800};
  std::vector<member_record> rows{{"node-1", "h:1", 1, 0}, {"node-2", "h:2", 1, 0},
                                  {"node-3", "h:3", 1, 0}};
  watch.observe(rows, 0);
  for (int64_t t = 100; t <= 20'000; t += 100) {
    rows[0].heartbeat_at_ms = t;
    if (t < 5'000 || t > 12'000)
      rows[1].heartbeat_at_ms = t - 30;  // silent from 5 s to 12 s
    if (t < 8'000)
      rows[2].heartbeat_at_ms = t - 70;  // dead from 8 s on
    if (t < down_after)
      continue;  // the first watch judges nobody down before down_after
    BOOST_TEST_REQUIRE((watch.observe(rows, t).nodes() == membership_view(rows, t, down_after).nodes()),
                       "at " << t << " ms");
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(send_fence_at_the_call)

BOOST_AUTO_TEST_CASE(a_single_nodes_calls_are_never_fenced) {
  send_fence open;
  BOOST_TEST(open.allows(mono_time::max()));
  BOOST_TEST(!open.valid_until());
}

BOOST_AUTO_TEST_CASE(a_call_leaves_only_before_the_validity_and_renewals_never_shorten_it) {
  send_fence fence{at_ms(600)};
  BOOST_TEST(fence.allows(at_ms(599)));
  BOOST_TEST(!fence.allows(at_ms(600)));
  fence.extend(at_ms(800));
  BOOST_TEST(fence.allows(at_ms(799)));
  fence.extend(at_ms(700));  // a renewal told late
  BOOST_TEST(fence.allows(at_ms(799)));
  BOOST_TEST(!fence.allows(at_ms(800)));
  send_fence unknown{mono_time::min()};  // a lane not yet told its lease's validity
  BOOST_TEST(!unknown.allows(at_ms(0)));
}

// ttl 1000 ms renewed every 200 ms (the cluster tests' timing): calls stop 400 ms before the
// lease can expire in the database, and a lease renewed on time never closes the fence, even
// with each renewal up to 400 ms late.
BOOST_AUTO_TEST_CASE(calls_stop_a_margin_before_the_lease_can_expire) {
  const milliseconds ttl{1000}, heartbeat{200};
  auto margin = lease_send_margin(ttl, heartbeat);
  BOOST_TEST(margin.count() == 400);
  send_fence fence{lease_valid_until(at_ms(0), ttl, margin)};
  int64_t last_sent = 0;
  for (int64_t sent = 0; sent <= 2000; sent += heartbeat.count() + 399) {
    BOOST_TEST_REQUIRE(fence.allows(at_ms(sent)), "renewal sent at " << sent << " ms");
    fence.extend(lease_valid_until(at_ms(sent), ttl, margin));
    last_sent = sent;
  }
  // The renewals stop (the last one sent at 1797 ms): the database may expire the lease
  // from 2797 ms on; the last call leaves before 2397 ms.
  BOOST_TEST(last_sent == 1797);
  BOOST_TEST(fence.allows(at_ms(2396)));
  BOOST_TEST(!fence.allows(at_ms(2397)));
  // A process stopped for 10 s and resumed finds its fence closed: the steady clock ran on.
  BOOST_TEST(!fence.allows(at_ms(last_sent + 10'000)));
  // The configuration allows a heartbeat up to the ttl: no margin is ever negative.
  BOOST_TEST(lease_send_margin(ttl, ttl).count() == 0);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(ownership_plans)

BOOST_AUTO_TEST_CASE(a_takeover_serves_every_waiting_order_and_those_in_flight_at_its_providers) {
  auto unfinished = [](order_status status, const std::string& carrier,
                       const std::string& provider) {
    order o;
    o.status = status;
    o.carrier = carrier;
    o.provider = provider;
    return o;
  };
  const std::vector<std::string> taken{"p-cmcc"};
  // Waiting, whatever its carrier or latest provider: it may have queued at p-cmcc's dead
  // owner (a cucc order failed over to p-agg queues at p-agg's owner, its row naming p-cucc).
  BOOST_TEST(served_after_takeover(unfinished(order_status::accepted, "cmcc", ""), taken));
  BOOST_TEST(served_after_takeover(unfinished(order_status::accepted, "cucc", ""), taken));
  BOOST_TEST(served_after_takeover(unfinished(order_status::accepted, "cucc", "p-cucc"), taken));
  // In flight: only at the providers taken over; another's owner queries its own.
  BOOST_TEST(served_after_takeover(unfinished(order_status::dispatched, "cmcc", "p-cmcc"), taken));
  BOOST_TEST(served_after_takeover(unfinished(order_status::unknown, "cmcc", "p-cmcc"), taken));
  BOOST_TEST(!served_after_takeover(unfinished(order_status::dispatched, "cmcc", "p-agg"), taken));
  BOOST_TEST(!served_after_takeover(unfinished(order_status::unknown, "cucc", "p-cucc"), taken));
  // No providers (a member left holding none): the waiting orders alone.
  BOOST_TEST(served_after_takeover(unfinished(order_status::accepted, "ctcc", ""), {}));
  BOOST_TEST(!served_after_takeover(unfinished(order_status::dispatched, "ctcc", "p-ctcc"), {}));
}

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
  auto live = nodes(3);  // node-3 owns p-cmcc and p-ctcc
  std::vector<lease> held{held_by("node-3", "p-ctcc", 4),   // still node-3's
                          held_by("node-3", "p-cucc", 2),   // node-1's now
                          held_by("node-3", "p-retired"),   // no longer configured
                          held_by("node-1", "p-cmcc", 9)};  // someone else's: ignored
  auto plan = plan_ownership("node-3", workload_providers, live, held);
  BOOST_TEST((plan.acquire == std::vector<std::string>{"p-cmcc"}));
  BOOST_TEST((providers_of(plan.keep) == std::vector<std::string>{"p-ctcc"}));
  BOOST_TEST(plan.keep[0].epoch == 4);
  BOOST_TEST((providers_of(plan.release) == std::vector<std::string>{"p-cucc", "p-retired"}));
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
  BOOST_TEST(plan_ownership("node-2", providers, live, {held_by("node-2", "p-agg")})
               .changes_nothing());
  BOOST_TEST(!plan_ownership("node-2", providers, live, {}).changes_nothing());
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

BOOST_AUTO_TEST_CASE(a_returning_node_gets_its_share_and_every_release_finds_a_taker) {
  auto providers = synthetic_providers(300);
  auto all = nodes(3);
  auto survivors = without(all, "node-2");

  // node-2 is down: the survivors hold every provider.
  std::map<std::string, std::vector<lease>> held;
  for (const auto& [provider, owner] : owners(providers, survivors))
    held[owner].push_back(held_by(owner, provider));
  std::set<std::string> of_node_2;
  for (const auto& [provider, owner] : owners(providers, all))
    if (owner == "node-2")
      of_node_2.insert(provider);

  // node-2 is back: it acquires its share; each provider a survivor releases is acquired
  // by exactly one node, and no provider is acquired that nobody releases.
  std::multiset<std::string> released;
  std::multiset<std::string> acquired;
  for (const auto& self : all) {
    auto plan = plan_ownership(self, providers, all, held[self]);
    for (const auto& l : plan.release)
      released.insert(l.provider);
    acquired.insert(plan.acquire.begin(), plan.acquire.end());
    if (self == "node-2")
      BOOST_TEST((std::set<std::string>(plan.acquire.begin(), plan.acquire.end()) == of_node_2));
  }
  BOOST_TEST(released == acquired);
  BOOST_TEST(of_node_2.size() == 100u);
  BOOST_TEST(released.size() <= of_node_2.size() + 10,
             released.size() << " providers move for node-2's " << of_node_2.size());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(forwards_waiting_for_a_holder)

std::vector<order> orders_named(std::initializer_list<const char*> ids) {
  std::vector<order> orders;
  for (auto id : ids) {
    order o;
    o.id = id;
    orders.push_back(o);
  }
  return orders;
}

std::vector<std::string> ids_of(const std::vector<order>& orders) {
  std::vector<std::string> ids;
  for (const auto& o : orders)
    ids.push_back(o.id);
  return ids;
}

BOOST_AUTO_TEST_CASE(parked_orders_come_back_by_provider_in_order_once) {
  forward_backlog backlog{10};
  BOOST_TEST(backlog.park("p-cmcc", orders_named({"a", "b"})) == 0u);
  BOOST_TEST(backlog.park("p-agg", orders_named({"c"})) == 0u);
  BOOST_TEST(backlog.park("p-cmcc", orders_named({"d"})) == 0u);
  BOOST_TEST(backlog.size() == 4u);
  auto parked = backlog.take_all();
  BOOST_TEST(parked.size() == 2u);
  BOOST_TEST((ids_of(parked["p-cmcc"]) == std::vector<std::string>{"a", "b", "d"}));
  BOOST_TEST((ids_of(parked["p-agg"]) == std::vector<std::string>{"c"}));
  BOOST_TEST(backlog.empty());
  BOOST_TEST(backlog.take_all().empty());
}

BOOST_AUTO_TEST_CASE(beyond_its_capacity_the_backlog_keeps_the_first_and_counts_the_rest) {
  forward_backlog backlog{3};
  BOOST_TEST(backlog.park("p-cmcc", orders_named({"a", "b"})) == 0u);
  BOOST_TEST(backlog.park("p-cucc", orders_named({"c", "d", "e"})) == 2u);
  BOOST_TEST(backlog.park("p-cucc", orders_named({"f"})) == 1u);
  BOOST_TEST(backlog.size() == 3u);
  auto parked = backlog.take_all();
  BOOST_TEST((ids_of(parked["p-cucc"]) == std::vector<std::string>{"c"}));
  // Taking them frees the room again.
  BOOST_TEST(backlog.park("p-cucc", orders_named({"g", "h", "i"})) == 0u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(leases_held_and_drained)

BOOST_AUTO_TEST_CASE(a_lease_drains_while_the_router_serves_it_and_is_released_after) {
  lease_holding holding;
  holding.acquired(held_by("node-1", "p-cmcc", 3), at_ms(0));
  BOOST_TEST(holding.serves("p-cmcc"));
  BOOST_TEST(!holding.start_draining("p-cmcc", at_ms(100), /*router_serving=*/true));
  // Out of the router's set, still held (renewed, and released by a leaving node).
  BOOST_TEST(!holding.serves("p-cmcc"));
  BOOST_TEST((providers_of(holding.held()) == std::vector<std::string>{"p-cmcc"}));
  BOOST_TEST((holding.draining() == std::vector<std::string>{"p-cmcc"}));
  // The router's released_atom counts only for the epoch that drains.
  BOOST_TEST(holding.draining_under("p-cmcc", 3));
  BOOST_TEST(!holding.draining_under("p-cmcc", 2));
  auto released = holding.finish_draining("p-cmcc");
  BOOST_TEST_REQUIRE(released.has_value());
  BOOST_TEST(released->epoch == 3);
  BOOST_TEST(holding.held().empty());
  BOOST_TEST(!holding.finish_draining("p-cmcc"));
}

BOOST_AUTO_TEST_CASE(without_a_router_a_leaving_lease_is_released_at_once) {
  lease_holding holding;
  holding.acquired(held_by("node-1", "p-agg", 5), at_ms(0));
  auto release_now = holding.start_draining("p-agg", at_ms(100), /*router_serving=*/false);
  BOOST_TEST_REQUIRE(release_now.has_value());
  BOOST_TEST(release_now->provider == "p-agg");
  BOOST_TEST(holding.held().empty());
  BOOST_TEST(holding.draining().empty());
  // A provider not served has nothing to drain.
  BOOST_TEST(!holding.start_draining("p-agg", at_ms(200), true));
}

BOOST_AUTO_TEST_CASE(drains_reaching_the_limit_are_overdue) {
  lease_holding holding;
  holding.acquired(held_by("node-1", "p-cmcc"), at_ms(0));
  holding.acquired(held_by("node-1", "p-cucc"), at_ms(0));
  holding.start_draining("p-cmcc", at_ms(100), true);
  holding.start_draining("p-cucc", at_ms(400), true);
  BOOST_TEST(holding.overdue(at_ms(1099), milliseconds(1000)).empty());
  BOOST_TEST((holding.overdue(at_ms(1100), milliseconds(1000))
              == std::vector<std::string>{"p-cmcc"}));
  BOOST_TEST(holding.overdue(at_ms(1400), milliseconds(1000)).size() == 2u);
  holding.finish_draining("p-cmcc");
  BOOST_TEST((holding.overdue(at_ms(1400), milliseconds(1000))
              == std::vector<std::string>{"p-cucc"}));
}

BOOST_AUTO_TEST_CASE(a_renewal_confirms_the_lease_and_a_lost_one_is_dropped) {
  lease_holding holding;
  for (const auto* provider : {"p-agg", "p-cmcc", "p-cucc"})
    holding.acquired(held_by("node-1", provider), at_ms(0));
  holding.start_draining("p-cucc", at_ms(10), true);
  auto lost = holding.renew([](const lease& held) -> std::optional<mono_time> {
    if (held.provider == "p-agg")
      return at_ms(500);
    return std::nullopt;
  });
  // Only the served lease lost is reported (its lanes served it); the draining one is gone
  // with its drain.
  BOOST_TEST((providers_of(lost) == std::vector<std::string>{"p-cmcc"}));
  BOOST_TEST((providers_of(holding.held()) == std::vector<std::string>{"p-agg"}));
  BOOST_TEST((holding.served().at("p-agg").confirmed == at_ms(500)));
  BOOST_TEST(holding.overdue(at_ms(1'000'000), milliseconds(1)).empty());
}

BOOST_AUTO_TEST_CASE(a_renewal_that_fails_keeps_every_lease_renewed_before_it) {
  lease_holding holding;
  holding.acquired(held_by("node-1", "p-agg"), at_ms(0));
  holding.acquired(held_by("node-1", "p-cmcc"), at_ms(0));
  auto renew = [](const lease& held) -> std::optional<mono_time> {
    if (held.provider == "p-cmcc")
      throw std::runtime_error("the database went away");
    return at_ms(300);
  };
  BOOST_CHECK_THROW(holding.renew(renew), std::runtime_error);
  BOOST_TEST(holding.served().size() == 2u);
  BOOST_TEST((holding.served().at("p-agg").confirmed == at_ms(300)));
  BOOST_TEST((holding.served().at("p-cmcc").confirmed == at_ms(0)));
}

BOOST_AUTO_TEST_CASE(leaving_forgets_every_lease) {
  lease_holding holding;
  holding.acquired(held_by("node-1", "p-agg"), at_ms(0));
  holding.acquired(held_by("node-1", "p-cmcc"), at_ms(0));
  holding.start_draining("p-cmcc", at_ms(10), true);
  BOOST_TEST(holding.held().size() == 2u);
  holding.clear();
  BOOST_TEST(holding.held().empty());
  BOOST_TEST(holding.overdue(at_ms(1'000'000), milliseconds(1)).empty());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(forwarding_to_the_holder)

/// The gateway address of node-N in these tests: 10.0.0.1:N.
std::string gateway_of(const std::string& node) {
  return "10.0.0.1:" + node.substr(node.rfind('-') + 1);
}

membership_view live_members(std::initializer_list<const char*> names) {
  std::vector<member_record> rows;
  for (auto name : names)
    rows.push_back({name, gateway_of(name), 1, 1'000});
  return membership_view{rows, 1'000, 5'000};
}

std::map<std::string, lease> holding_p_cmcc(const std::string& node) {
  return {{"p-cmcc", held_by(node, "p-cmcc", 4)}};
}

auto connected_to(std::set<std::string> addresses) {
  return [addresses](const std::string& address) { return addresses.count(address) > 0; };
}

using destination = forward_route::destination;

BOOST_AUTO_TEST_CASE(orders_wait_while_nobody_holds_their_provider) {
  auto route = route_forward("node-1", "p-cmcc", {}, live_members({"node-1", "node-2"}), false,
                             connected_to({"10.0.0.1:2"}));
  BOOST_TEST((route.to == destination::wait));
  BOOST_TEST(std::string{route.why} == "no live node holds it");
}

BOOST_AUTO_TEST_CASE(orders_for_this_nodes_lease_go_to_its_router_once_it_serves_it) {
  auto live = live_members({"node-1", "node-2"});
  auto taking_over = route_forward("node-1", "p-cmcc", holding_p_cmcc("node-1"), live, false,
                                   connected_to({}));
  BOOST_TEST((taking_over.to == destination::wait));
  BOOST_TEST(std::string{taking_over.why} == "this node is taking it over");
  auto served = route_forward("node-1", "p-cmcc", holding_p_cmcc("node-1"), live, true,
                              connected_to({}));
  BOOST_TEST((served.to == destination::this_router));
}

BOOST_AUTO_TEST_CASE(orders_go_to_the_holders_gateway_once_it_is_connected) {
  auto live = live_members({"node-1", "node-2", "node-3"});
  auto connected = route_forward("node-1", "p-cmcc", holding_p_cmcc("node-3"), live, false,
                                 connected_to({"10.0.0.1:2", "10.0.0.1:3"}));
  BOOST_TEST((connected.to == destination::member));
  BOOST_TEST(connected.address == "10.0.0.1:3");
  auto not_yet = route_forward("node-1", "p-cmcc", holding_p_cmcc("node-3"), live, false,
                               connected_to({"10.0.0.1:2"}));
  BOOST_TEST((not_yet.to == destination::wait));
  BOOST_TEST(std::string{not_yet.why} == "its holder is not connected yet");
  // A holder missing from the live members has no gateway to go to either.
  auto gone = route_forward("node-1", "p-cmcc", holding_p_cmcc("node-4"), live, false,
                            connected_to({"10.0.0.1:4"}));
  BOOST_TEST((gone.to == destination::wait));
}

BOOST_AUTO_TEST_SUITE_END()
