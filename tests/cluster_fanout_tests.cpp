#define BOOST_TEST_MODULE cluster_fanout_tests
#include <boost/test/unit_test.hpp>

// The pure pieces behind stats, watch and cancel asked of any node of a cluster: the watch
// registry (who receives which change, what a node asks the other members to relay), the
// answer to a cancel no member could perform, and the cluster's stats put together.

#include "domain/cluster_cancel.hpp"
#include "domain/watch_registry.hpp"
#include "messages/cluster_stats.hpp"

#include <string>
#include <vector>

using namespace topup;

namespace {

using strings = std::vector<std::string>;
using registry = watch_registry<std::string>;

const std::string everything{};

node_stats node_named(const std::string& name, uint64_t accepted) {
  node_stats x;
  x.node = name;
  x.protocol = protocol_version;
  x.intake.accepted = accepted;
  return x;
}

provider_stats provider(const std::string& name, uint64_t calls, const std::string& breaker) {
  provider_stats p;
  p.provider = name;
  p.calls = calls;
  p.succeeded = calls;
  p.queued = 1;
  p.breaker = breaker;
  return p;
}

} // namespace

BOOST_AUTO_TEST_SUITE(watch_registry_of_one_node)

BOOST_AUTO_TEST_CASE(the_interest_is_what_clients_watch_and_grows_once_per_key) {
  registry r;
  BOOST_TEST(r.add("client-a", watch_role::client, {"o-1"}) == strings{"o-1"});
  // A second watcher of the same order adds nothing to ask the other members for.
  BOOST_TEST(r.add("client-b", watch_role::client, {"o-1"}).empty());
  BOOST_TEST(r.add("client-b", watch_role::client, {everything}) == strings{everything});
  BOOST_TEST(r.add("client-a", watch_role::client, {"o-1"}).empty());  // again: no change
  BOOST_TEST(r.interest() == (strings{everything, "o-1"}));
  BOOST_TEST(r.size() == 2u);
  BOOST_TEST(r.has_clients());
}

BOOST_AUTO_TEST_CASE(relays_never_add_to_the_interest) {
  registry r;
  // Another member's hub watching this node must not make this node ask the others: the
  // subscriptions would spread through the whole cluster for nothing.
  BOOST_TEST(r.add("hub-of-node-2", watch_role::relay, {everything, "o-1"}).empty());
  BOOST_TEST(r.interest().empty());
  BOOST_TEST(!r.has_clients());
  BOOST_TEST(r.size() == 1u);  // but this node's changes must be published for it
}

BOOST_AUTO_TEST_CASE(the_interest_shrinks_when_the_last_client_of_a_key_goes) {
  registry r;
  r.add("client-a", watch_role::client, {"o-1", "o-2"});
  r.add("client-b", watch_role::client, {"o-1"});
  r.add("hub-of-node-2", watch_role::relay, {"o-1"});
  BOOST_TEST(r.remove("client-a") == strings{"o-2"});
  BOOST_TEST(!r.contains("client-a"));
  BOOST_TEST(r.remove("client-b", {"o-1"}) == strings{"o-1"});
  // Left with no key, a subscriber is forgotten.
  BOOST_TEST(!r.contains("client-b"));
  BOOST_TEST(r.interest().empty());
  BOOST_TEST(r.contains("hub-of-node-2"));
  BOOST_TEST(r.remove("hub-of-node-2", {"o-1"}).empty());
  BOOST_TEST(r.size() == 0u);
  BOOST_TEST(r.remove("nobody").empty());
}

BOOST_AUTO_TEST_CASE(changes_made_here_go_to_clients_and_relays_once_each) {
  registry r;
  r.add("client-all", watch_role::client, {everything});
  r.add("client-one", watch_role::client, {"o-1", everything});
  r.add("client-other", watch_role::client, {"o-2"});
  r.add("hub-of-node-2", watch_role::relay, {"o-1"});
  r.add("hub-of-node-3", watch_role::relay, {everything, "o-1"});
  BOOST_TEST(r.recipients("o-1", true)
             == (strings{"client-all", "client-one", "hub-of-node-2", "hub-of-node-3"}));
  BOOST_TEST(r.recipients("o-3", true) == (strings{"client-all", "client-one", "hub-of-node-3"}));
}

BOOST_AUTO_TEST_CASE(changes_relayed_from_another_member_never_go_round_again) {
  registry r;
  r.add("client-all", watch_role::client, {everything});
  r.add("client-other", watch_role::client, {"o-2"});
  r.add("hub-of-node-2", watch_role::relay, {everything});
  BOOST_TEST(r.recipients("o-1", false) == strings{"client-all"});
  BOOST_TEST(r.recipients("o-2", false) == (strings{"client-all", "client-other"}));
}

BOOST_AUTO_TEST_CASE(keys_sent_while_the_interest_changed_are_taken_back_or_kept) {
  BOOST_TEST(no_longer_wanted({"o-1", "o-2", "o-3"}, {"o-2"}) == (strings{"o-1", "o-3"}));
  BOOST_TEST(no_longer_wanted({everything}, {everything, "o-9"}).empty());
  BOOST_TEST(still_wanted({"o-1", "o-2"}, {everything, "o-2", "o-5"}) == strings{"o-2"});
  BOOST_TEST(still_wanted({}, {"o-2"}).empty());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(cancel_no_member_performed)

BOOST_AUTO_TEST_CASE(an_order_no_longer_waiting_is_an_illegal_transition) {
  for (auto status : {order_status::dispatched, order_status::succeeded, order_status::failed,
                      order_status::unknown}) {
    auto refusal = refused_cancel("o-1", status, {{"node-3", "no answer within 5 s"}});
    BOOST_TEST((refusal.code == errc::illegal_transition), to_string(status));
    BOOST_TEST(refusal.reason
               == "order o-1 is " + std::string{to_string(status)}
                    + "; only an order waiting for a provider can be cancelled");
  }
}

BOOST_AUTO_TEST_CASE(a_waiting_order_names_the_members_that_did_not_answer) {
  auto refusal = refused_cancel("o-1", order_status::accepted,
                                {{"node-2", "not connected"}, {"node-3", "no answer within 5 s"}});
  BOOST_TEST((refusal.code == errc::unavailable));
  BOOST_TEST(refusal.reason
             == "order o-1 waits for a provider and may wait at node-2 (not connected), node-3 "
                "(no answer within 5 s), which did not answer; try again");
}

BOOST_AUTO_TEST_CASE(a_waiting_order_no_live_member_holds_is_between_owners) {
  auto refusal = refused_cancel("o-1", order_status::accepted, {});
  BOOST_TEST((refusal.code == errc::unavailable));
  BOOST_TEST(refusal.reason.find("no live node holds it") != std::string::npos, refusal.reason);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(cluster_stats_put_together)

BOOST_AUTO_TEST_CASE(a_single_node_is_a_cluster_of_one) {
  auto alone = node_named("solo", 7);
  alone.orders = {{"succeeded", 7}};
  alone.providers = {provider("p-cmcc", 7, "closed")};
  auto stats = make_cluster_stats(alone, {}, {});
  BOOST_REQUIRE_EQUAL(stats.nodes.size(), 1u);
  BOOST_TEST(stats.nodes.front().node == "solo");
  BOOST_TEST(stats.unreachable.empty());
  BOOST_TEST(stats.totals.node.empty());
  BOOST_TEST(stats.totals.intake.accepted == 7u);
  BOOST_REQUIRE_EQUAL(stats.totals.orders.size(), 1u);
  BOOST_TEST(stats.totals.orders.front().count == 7u);
  BOOST_REQUIRE_EQUAL(stats.totals.providers.size(), 1u);
  BOOST_TEST(stats.totals.providers.front().breaker == "closed");
}

BOOST_AUTO_TEST_CASE(nodes_come_asked_first_then_by_name_and_counters_add_up) {
  auto asked = node_named("node-2", 20);
  asked.restarts = 1;
  asked.store.commits = 5;
  asked.orders = {{"accepted", 1}, {"succeeded", 59}};
  asked.providers = {provider("p-agg", 4, "closed")};
  auto third = node_named("node-3", 30);
  third.store.commits = 7;
  third.store.healthy = false;
  third.providers = {provider("p-cmcc", 10, "closed"), provider("p-ctcc", 3, "open")};
  auto first = node_named("node-1", 10);
  first.intake.rejected = 2;
  // p-ctcc moving from node-1 to node-3: both show it for a moment.
  first.providers = {provider("p-ctcc", 1, "closed"), provider("p-cucc", 2, "closed")};
  auto stats = make_cluster_stats(asked, {third, first},
                                  {{"node-5", "", "not connected"}, {"node-4", "h:1", "x"}});

  std::vector<std::string> order;
  for (const auto& node : stats.nodes)
    order.push_back(node.node);
  BOOST_TEST(order == (strings{"node-2", "node-1", "node-3"}));
  BOOST_REQUIRE_EQUAL(stats.unreachable.size(), 2u);
  BOOST_TEST(stats.unreachable[0].node == "node-4");

  const auto& totals = stats.totals;
  BOOST_TEST(totals.intake.accepted == 60u);
  BOOST_TEST(totals.intake.rejected == 2u);
  BOOST_TEST(totals.restarts == 1u);
  BOOST_TEST(totals.store.commits == 12u);
  BOOST_TEST(!totals.store.healthy);
  BOOST_TEST(totals.protocol == protocol_version);
  // The order counts are the shared store's, read once by the node asked: not summed.
  BOOST_REQUIRE_EQUAL(totals.orders.size(), 2u);
  BOOST_TEST(totals.orders[1].count == 59u);

  std::vector<std::string> names;
  for (const auto& p : totals.providers)
    names.push_back(p.provider);
  BOOST_TEST(names == (strings{"p-agg", "p-ctcc", "p-cucc", "p-cmcc"}));
  const auto& ctcc = totals.providers[1];
  BOOST_TEST(ctcc.calls == 4u);
  BOOST_TEST(ctcc.queued == 2u);
  BOOST_TEST(ctcc.breaker == "closed/open");
}

BOOST_AUTO_TEST_CASE(a_breaker_state_seen_twice_is_named_once) {
  auto a = node_named("a", 0);
  a.providers = {provider("p", 1, "half_open")};
  auto b = node_named("b", 0);
  b.providers = {provider("p", 1, "open")};
  auto c = node_named("c", 0);
  c.providers = {provider("p", 1, "half_open")};
  BOOST_TEST(sum_of({a, b, c}).providers.front().breaker == "half_open/open");
  BOOST_TEST(sum_of({}).providers.empty());
}

BOOST_AUTO_TEST_SUITE_END()
