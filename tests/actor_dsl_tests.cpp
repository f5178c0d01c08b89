// Deterministic actor tests: CAF's test coordinator runs one message at a time, in an order
// the test chooses, and its clock moves only when the test moves it (together with the
// engine's manual clock). Each test states the exact messages an actor exchanges with stub
// neighbours. The wall-clock engine tests (engine_tests and the others) are the second tier.

#define CAF_SUITE actor_dsl

#include "actors/deadline.hpp"
#include "actors/recharge.hpp"
#include "actors/router.hpp"
#include "domain/clock.hpp"
#include "messages/protocol.hpp"
#include "tests/test_support.hpp"

#include <caf/test/dsl.hpp>
#include <caf/test/unit_test_impl.hpp>

#include <map>
#include <memory>
#include <string>
#include <vector>

using namespace topup;
using topup::testing::stored_order;

namespace {

struct dsl_config : caf::actor_system_config {
  dsl_config() { register_protocol(*this); }
};

/// What a stub neighbour saw, shared with the test.
struct store_log {
  std::vector<transition> transitions;
  std::vector<order> page;  ///< the page of unfinished orders the stub store answers a load with
  int loads = 0;
  std::map<std::string, order> rows;  ///< what a read of orders by id finds
  std::vector<std::vector<std::string>> reads_by_id;
};

struct provider_log {
  std::vector<recharge_call> calls;
  std::vector<status_query> queries;
  /// Requests the provider holds unanswered (a provider that never answers).
  std::vector<caf::response_promise> unanswered;
};

/// A store that writes every state change and answers a recovery load with one page.
caf::behavior stub_store(caf::event_based_actor*, std::shared_ptr<store_log> log) {
  return {
    [=](transition_atom, const std::vector<transition>& changes) {
      log->transitions.insert(log->transitions.end(), changes.begin(), changes.end());
      return std::vector<bool>(changes.size(), true);
    },
    [=](load_atom, int64_t, const std::string&, uint32_t) {
      log->loads++;
      return log->page;
    },
    [=](load_atom, const std::vector<std::string>& ids) {
      log->reads_by_id.push_back(ids);
      std::vector<order> unfinished;
      for (const auto& id : ids)
        if (auto row = log->rows.find(id); row != log->rows.end() && !is_final(row->second.status))
          unfinished.push_back(row->second);
      return unfinished;
    },
  };
}

/// A cluster actor of a node that holds no lease: it keeps what the router forwards (and
/// delivers none of it, as a connection lost with the forwards in it).
caf::behavior stub_cluster(std::shared_ptr<std::vector<std::vector<std::string>>> forwarded) {
  return {
    [](own_atom) { return std::vector<provider_lease>{}; },
    [=](forward_atom, const std::vector<order>& orders, const std::string&) {
      std::vector<std::string> ids;
      for (const auto& o : orders)
        ids.push_back(o.id);
      forwarded->push_back(ids);
    },
  };
}

/// A provider that recharges every call, or (answers = false) answers nothing until told to.
caf::behavior stub_provider(caf::event_based_actor* self, std::shared_ptr<provider_log> log,
                            bool answers) {
  return {
    [=](recharge_atom, const recharge_call& call) -> caf::result<recharge_reply> {
      log->calls.push_back(call);
      if (!answers) {
        log->unanswered.push_back(self->make_response_promise());
        return caf::delegated<recharge_reply>{};
      }
      return recharge_reply{recharge_outcome::success, "txn-" + call.order_id, ""};
    },
    [=](query_atom, const status_query& query) -> caf::result<query_reply> {
      log->queries.push_back(query);
      log->unanswered.push_back(self->make_response_promise());
      return caf::delegated<query_reply>{};
    },
    // The calls held so far are answered after all: recharged.
    [=](caf::ok_atom) {
      for (auto& promise : log->unanswered)
        promise.deliver(recharge_reply{recharge_outcome::success, "txn-late", ""});
      log->unanswered.clear();
    },
  };
}

/// A router that takes what the actors under test send it; the test expects each message.
caf::behavior stub_router() {
  return {
    [](done_atom, const std::vector<std::string>&) {},
    [](report_atom, const provider_report&) {},
    [](resend_atom, const std::vector<std::string>&) {},
    [](expire_atom, const std::vector<std::string>&) {},
    [](reroute_atom, const std::vector<order>&, const std::string&) {},
  };
}

/// The argument at `index` of the next message in `whom`'s mailbox.
template <class T, class Handle>
const T& next_argument(const Handle& whom, size_t index) {
  auto ptr = caf::actor_cast<caf::abstract_actor*>(whom);
  auto element = ptr->peek_at_next_mailbox_element();
  CAF_REQUIRE(element != nullptr);
  CAF_REQUIRE(element->content().template match_element<T>(index));
  return element->content().template get_as<T>(index);
}

std::vector<std::string> ids_of(const std::vector<order>& orders) {
  std::vector<std::string> ids;
  for (const auto& o : orders)
    ids.push_back(o.id);
  return ids;
}

order waiting_order(const std::string& id, const std::string& carrier = "cmcc") {
  auto o = stored_order(id, "ref-" + id);
  o.carrier = carrier;
  return o;
}

struct fixture : test_coordinator_fixture<dsl_config> {
  std::shared_ptr<manual_clock> time = std::make_shared<manual_clock>();
  std::shared_ptr<store_log> stored = std::make_shared<store_log>();
  std::shared_ptr<provider_log> provided = std::make_shared<provider_log>();
  std::shared_ptr<node_metrics> metrics = std::make_shared<node_metrics>("test-node", 1);
  caf::actor store_stub = sys.spawn(stub_store, stored);
  caf::actor router_stub = sys.spawn(stub_router);
  std::vector<caf::actor> spawned{store_stub, router_stub};

  fixture() { deliver(); }

  ~fixture() override {
    // Killed first: run() in the base destructor fires every pending timer, and a live lane
    // re-arms its report timer forever.
    for (const auto& actor : spawned)
      caf::anon_send_exit(actor, caf::exit_reason::kill);
    deliver();
  }

  /// Runs every message already sent (and what they send), firing no timer.
  void deliver() { sched.run(); }

  std::shared_ptr<const topup::clock> engine_time() const { return time; }

  /// Moves the engine's clock and CAF's together: timers due by then fire.
  void pass(milliseconds interval) {
    time->advance(interval);
    sched.clock().advance_time(interval);
  }

  store_actor store() const { return caf::actor_cast<store_actor>(store_stub); }

  router_actor router() const { return caf::actor_cast<router_actor>(router_stub); }

  provider_factory provider(bool answers) {
    return [=](caf::actor_system& system) {
      auto actor = system.spawn(stub_provider, provided, answers);
      spawned.push_back(actor);
      return caf::actor_cast<provider_actor>(actor);
    };
  }

  /// What the stub cluster actor of spawn_cluster_router got forwarded, batch by batch.
  std::shared_ptr<std::vector<std::vector<std::string>>> forwarded =
    std::make_shared<std::vector<std::vector<std::string>>>();

  /// A router of a cluster node holding no lease (its cluster actor a stub_cluster) for one
  /// provider, p1, serving cmcc.
  router_actor spawn_cluster_router() {
    engine_options options;
    provider_config p1;
    p1.name = "p1";
    p1.carriers = {"cmcc"};
    options.providers = {p1};
    options.adapters["p1"] = provider(true);
    options.admission.enabled = false;
    auto cluster = sys.spawn(stub_cluster, forwarded);
    spawned.push_back(cluster);
    options.cluster = caf::actor_cast<cluster_actor>(cluster);
    auto router = sys.spawn(topup::router, options, engine_time(), store());
    spawned.push_back(caf::actor_cast<caf::actor>(router));
    deliver();  // it asks which leases this node holds: none
    return router;
  }

  recharge_actor spawn_lane(bool provider_answers) {
    recharge_options options;
    options.provider = "p1";
    options.lane.call_timeout = milliseconds{2000};
    options.lane.query_interval = milliseconds{1000};
    // Reports only when the test moves the clock this far: none in these tests.
    options.report_interval = std::chrono::hours{1};
    options.metrics = metrics;
    auto lane =
      sys.spawn(recharge, options, engine_time(), store(), router(), provider(provider_answers));
    spawned.push_back(caf::actor_cast<caf::actor>(lane));
    // Its start: the provider spawned, the first report sent to the router.
    deliver();
    return lane;
  }

  caf::actor provider_actor_of(const recharge_actor& lane) {
    return caf::actor_cast<caf::actor>(
      deref<caf::stateful_actor<recharge_state, recharge_actor::base>>(lane).state.provider);
  }

  /// Dispatches one waiting order to `lane`, whose provider answered nothing yet: the
  /// attempt is written ahead, and only once that is durable does its call leave.
  void dispatch_until_called(const recharge_actor& lane, const std::string& id) {
    auto provider = provider_actor_of(lane);
    auto written = stored->transitions.size();
    auto called = provided->calls.size();
    self->send(lane, dispatch_atom::value, std::vector<order>{waiting_order(id)}, false);
    expect((dispatch_atom, std::vector<order>, bool), from(self).to(lane).with(_, _, false));
    // The write-ahead rides the store request at the end of the mailbox pass.
    expect((caf::flush_atom), from(lane).to(lane));
    expect((transition_atom, std::vector<transition>), from(lane).to(store_stub));
    CAF_REQUIRE_EQUAL(stored->transitions.size(), written + 1);
    CAF_CHECK(stored->transitions.back().event == order_event::dispatch);
    CAF_CHECK(stored->transitions.back().from == order_status::accepted);
    CAF_CHECK_EQUAL(provided->calls.size(), called);
    expect((std::vector<bool>), from(store_stub).to(lane));
    expect((recharge_atom, recharge_call), from(lane).to(provider));
    CAF_REQUIRE_EQUAL(provided->calls.size(), called + 1);
    CAF_CHECK_EQUAL(provided->calls.back().order_id, id);
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(recharge_actor_flows, fixture)

CAF_TEST(an order is written ahead then called then written final then reported done) {
  auto lane = spawn_lane(true);
  auto provider = provider_actor_of(lane);
  dispatch_until_called(lane, "o1");
  expect((recharge_reply), from(provider).to(lane));
  expect((caf::flush_atom), from(lane).to(lane));
  expect((transition_atom, std::vector<transition>), from(lane).to(store_stub));
  CAF_REQUIRE_EQUAL(stored->transitions.size(), 2u);
  CAF_CHECK(stored->transitions[1].event == order_event::succeed);
  CAF_CHECK_EQUAL(stored->transitions[1].provider_txn, "txn-o1");
  expect((std::vector<bool>), from(store_stub).to(lane));
  // Final and durable: the router hears of it at the next flush.
  expect((caf::flush_atom), from(lane).to(lane));
  CAF_CHECK_EQUAL(next_argument<std::vector<std::string>>(router_stub, 1),
                  std::vector<std::string>{"o1"});
  expect((done_atom, std::vector<std::string>), from(lane).to(router_stub));
  deliver();
  CAF_CHECK_EQUAL(stored->transitions.size(), 2u);
}

CAF_TEST(a provider that never answers leaves the outcome unknown at the call timeout) {
  auto lane = spawn_lane(false);
  auto provider = provider_actor_of(lane);
  dispatch_until_called(lane, "o2");
  deliver();
  CAF_CHECK_EQUAL(stored->transitions.size(), 1u);
  // Just short of the call timeout nothing happens.
  pass(milliseconds{1999});
  deliver();
  CAF_CHECK_EQUAL(stored->transitions.size(), 1u);
  // At the call timeout the lane's own timer gives the call up: the money may have moved.
  pass(milliseconds{1});
  expect((pump_atom, uint64_t), from(lane).to(lane));
  expect((caf::flush_atom), from(lane).to(lane));
  expect((transition_atom, std::vector<transition>), from(lane).to(store_stub));
  CAF_REQUIRE_EQUAL(stored->transitions.size(), 2u);
  CAF_CHECK(stored->transitions[1].event == order_event::lose_outcome);
  CAF_CHECK_EQUAL(stored->transitions[1].detail, "no answer: none within 2000 ms");
  expect((std::vector<bool>), from(store_stub).to(lane));
  deliver();
  CAF_CHECK(provided->queries.empty());
  // The answer comes after all: the call was given up, so it changes nothing (the status
  // query will tell what happened).
  CAF_REQUIRE_EQUAL(provided->unanswered.size(), 1u);
  auto late_calls = metrics->provider("p1").late_answers[0];
  CAF_CHECK_EQUAL(late_calls->Value(), 0.0);
  self->send(provider, caf::ok_atom::value);
  expect((caf::ok_atom), from(self).to(provider));
  expect((recharge_reply), from(provider).to(lane));
  deliver();
  CAF_CHECK_EQUAL(stored->transitions.size(), 2u);
  CAF_CHECK_EQUAL(late_calls->Value(), 1.0);  // what an operator sees: the provider is slow
  // The status query leaves after the query interval, not before.
  pass(milliseconds{999});
  deliver();
  CAF_CHECK(provided->queries.empty());
  pass(milliseconds{1});
  expect((pump_atom, uint64_t), from(lane).to(lane));
  expect((query_atom, status_query), from(lane).to(provider));
  CAF_REQUIRE_EQUAL(provided->queries.size(), 1u);
  CAF_CHECK_EQUAL(provided->queries[0].request_id, provided->calls[0].request_id);
}

CAF_TEST_FIXTURE_SCOPE_END()

CAF_TEST_FIXTURE_SCOPE(deadline_actor_flows, fixture)

CAF_TEST(reminders fire at the resend points and at the deadline in virtual time) {
  deadline_config schedule;  // re-send at 120 s and 160 s, deadline at 180 s
  auto reminders = sys.spawn(deadline, schedule, engine_time(), router());
  spawned.push_back(caf::actor_cast<caf::actor>(reminders));
  auto deadline_ms = steady_ms(time->now() + milliseconds{schedule.limit_ms});
  self->send(reminders, track_atom::value, std::vector<deadline_entry>{{"o3", deadline_ms}});
  expect((track_atom, std::vector<deadline_entry>), from(self).to(reminders));
  pass(milliseconds{119999});
  deliver();
  CAF_CHECK(!sched.has_job());
  pass(milliseconds{1});
  expect((tick_atom, uint64_t), from(reminders).to(reminders));
  expect((resend_atom, std::vector<std::string>), from(reminders).to(router_stub));
  pass(milliseconds{39999});
  CAF_CHECK(!sched.has_job());
  pass(milliseconds{1});
  expect((tick_atom, uint64_t), from(reminders).to(reminders));
  expect((resend_atom, std::vector<std::string>), from(reminders).to(router_stub));
  pass(milliseconds{19999});
  CAF_CHECK(!sched.has_job());
  pass(milliseconds{1});
  expect((tick_atom, uint64_t), from(reminders).to(reminders));
  CAF_CHECK_EQUAL(next_argument<std::vector<std::string>>(router_stub, 1),
                  std::vector<std::string>{"o3"});
  expect((expire_atom, std::vector<std::string>), from(reminders).to(router_stub));
  // Nothing is left to remind of.
  CAF_CHECK_EQUAL(sched.clock().schedule().size(), 0u);
}

CAF_TEST_FIXTURE_SCOPE_END()

CAF_TEST_FIXTURE_SCOPE(router_flows, fixture)

CAF_TEST(recovery hands each loaded order to the lane that serves it) {
  engine_options options;
  provider_config p1;
  p1.name = "p1";
  p1.carriers = {"cmcc"};
  provider_config p2;
  p2.name = "p2";
  p2.carriers = {"cucc"};
  options.providers = {p1, p2};
  options.adapters["p1"] = provider(true);
  options.adapters["p2"] = provider(true);
  options.admission.enabled = false;
  auto in_flight = waiting_order("c", "cmcc");
  in_flight.status = order_status::dispatched;
  in_flight.provider = "p2";
  in_flight.attempts = 1;
  stored->page = {waiting_order("a", "cmcc"), waiting_order("b", "cucc"), in_flight};
  auto router = sys.spawn(topup::router, options, engine_time(), store());
  spawned.push_back(caf::actor_cast<caf::actor>(router));
  self->send(router, recover_atom::value);
  expect((recover_atom), from(self).to(router));
  auto& state = deref<caf::stateful_actor<router_state, router_actor::base>>(router).state;
  auto lane1 = state.lanes[0];
  auto lane2 = state.lanes[1];
  CAF_REQUIRE(lane1 && lane2);
  expect((load_atom, int64_t, std::string, uint32_t), from(router).to(store_stub));
  expect((std::vector<order>), from(store_stub).to(router));
  CAF_CHECK_EQUAL(stored->loads, 1);
  // Every order gets its reminders; the in-flight one goes back to the lane of its attempt,
  // which queries it first; the waiting ones to the provider of their carrier.
  expect((track_atom, std::vector<deadline_entry>), from(router).to(state.reminders));
  CAF_CHECK_EQUAL(ids_of(next_argument<std::vector<order>>(lane2, 1)),
                  std::vector<std::string>{"c"});
  expect((recover_atom, std::vector<order>), from(router).to(lane2));
  CAF_CHECK_EQUAL(ids_of(next_argument<std::vector<order>>(lane1, 1)),
                  std::vector<std::string>{"a"});
  expect((dispatch_atom, std::vector<order>, bool), from(router).to(lane1).with(_, _, false));
  CAF_CHECK_EQUAL(ids_of(next_argument<std::vector<order>>(lane2, 1)),
                  std::vector<std::string>{"b"});
  expect((dispatch_atom, std::vector<order>, bool), from(router).to(lane2).with(_, _, false));
  CAF_CHECK(state.recovery_done);
  CAF_CHECK_EQUAL(state.owner.at("a"), 0u);
  CAF_CHECK_EQUAL(state.owner.at("b"), 1u);
  CAF_CHECK_EQUAL(state.owner.at("c"), 1u);
}

CAF_TEST(a cluster node reads again at the re-send point what it forwarded unconfirmed) {
  auto router = spawn_cluster_router();

  // Another node holds p1: the orders are forwarded there. That node says it holds "taken";
  // the answer for the others never comes (the forward was lost with its connection).
  auto lost = waiting_order("lost");
  auto served = waiting_order("served");
  auto taken = waiting_order("taken");
  self->send(router, dispatch_atom::value, std::vector<order>{lost, served, taken});
  deliver();
  CAF_REQUIRE_EQUAL(forwarded->size(), 1u);
  CAF_CHECK_EQUAL(forwarded->front(), (std::vector<std::string>{"lost", "served", "taken"}));
  self->send(router, take_atom::value, std::vector<std::string>{"taken"});
  deliver();

  // By the first re-send point the client re-sent "served" to the other node, which finished
  // it; "lost" and "taken" wait in the store.
  served.status = order_status::succeeded;
  stored->rows = {{"lost", lost}, {"served", served}, {"taken", taken}};
  pass(milliseconds{119999});
  deliver();
  CAF_CHECK(stored->reads_by_id.empty());
  pass(milliseconds{1});
  deliver();
  CAF_REQUIRE_EQUAL(stored->reads_by_id.size(), 1u);
  CAF_CHECK_EQUAL(stored->reads_by_id.front(), (std::vector<std::string>{"lost", "served"}));
  CAF_REQUIRE_EQUAL(forwarded->size(), 2u);
  CAF_CHECK_EQUAL(forwarded->back(), std::vector<std::string>{"lost"});

  // Forwarded again and unconfirmed again, it is read again at the second re-send point:
  // final by then, it goes nowhere.
  lost.status = order_status::succeeded;
  stored->rows["lost"] = lost;
  pass(milliseconds{40000});
  deliver();
  CAF_REQUIRE_EQUAL(stored->reads_by_id.size(), 2u);
  CAF_CHECK_EQUAL(stored->reads_by_id.back(), std::vector<std::string>{"lost"});
  CAF_CHECK_EQUAL(forwarded->size(), 2u);
}

CAF_TEST(a cluster node that passes forwarded orders on watches them itself) {
  auto router = spawn_cluster_router();
  // Forwarded here for p1, which another node holds by now: passed on, and answered as
  // held here, so the node that forwarded them stops watching them and this one starts.
  auto passed = waiting_order("passed");
  self->send(router, take_atom::value, std::vector<order>{passed}, std::string{"p1"});
  expect((take_atom, std::vector<order>, std::string), from(self).to(router));
  expect((std::vector<std::string>),
         from(router).to(self).with(std::vector<std::string>{"passed"}));
  auto& state = deref<caf::stateful_actor<router_state, router_actor::base>>(router).state;
  CAF_CHECK(state.unconfirmed.count("passed") == 1);
  deliver();
  CAF_REQUIRE_EQUAL(forwarded->size(), 1u);
  CAF_CHECK_EQUAL(forwarded->front(), std::vector<std::string>{"passed"});

  // The next forward was lost too: at the re-send point this node finds it waiting.
  stored->rows = {{"passed", passed}};
  pass(milliseconds{120000});
  deliver();
  CAF_REQUIRE_EQUAL(stored->reads_by_id.size(), 1u);
  CAF_CHECK_EQUAL(stored->reads_by_id.front(), std::vector<std::string>{"passed"});
  CAF_CHECK_EQUAL(forwarded->size(), 2u);
}

CAF_TEST_FIXTURE_SCOPE_END()
