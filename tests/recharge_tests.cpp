#define BOOST_TEST_MODULE recharge_tests
#include <boost/test/unit_test.hpp>

// One provider's recharge actor on a real SQLite store and the simulated provider, with the
// test standing in for the router: what the lane gives back when its node gives the provider
// up (cluster ownership moving to another node), and that no call or status query leaves
// under a lease whose validity has passed (a node paused between write-ahead and send).

#include "actors/recharge.hpp"
#include "messages/errors.hpp"
#include "persistence/lease_store.hpp"
#include "persistence/store_actor.hpp"
#include "providers/ledger.hpp"
#include "providers/simulated_provider.hpp"
#include "tests/test_support.hpp"

#include <atomic>
#include <filesystem>
#include <optional>
#include <set>
#include <thread>

using namespace topup;
using namespace topup::testing;
using namespace std::chrono_literals;

namespace {

constexpr const char* provider_name = "p-test";

struct recharge_fixture : actor_fixture {
  temp_dir dir;
  std::shared_ptr<system_clock> clock = std::make_shared<system_clock>();
  store_actor store = spawn_store(system, sqlite_store(dir), clock);
  recharge_actor lane;

  recharge_fixture() { wait_until_opened(self, store); }

  ~recharge_fixture() {
    for (auto handle : {caf::actor_cast<caf::actor>(lane), caf::actor_cast<caf::actor>(store)}) {
      if (!handle)
        continue;
      self->send_exit(handle, caf::exit_reason::user_shutdown);
      self->wait_for(handle);
    }
  }

  /// `count` accepted orders in the store, due a second apart from three minutes on, so
  /// that the lane (earliest deadline first) calls them in this order.
  std::vector<order> store_orders(size_t count) {
    std::vector<order> orders;
    auto now = clock->wall_ms();
    for (size_t i = 0; i < count; ++i) {
      auto o = stored_order("o-" + std::to_string(i), "r-" + std::to_string(i), i);
      o.accepted_at_ms = now;
      o.updated_at_ms = now;
      o.deadline_ms = now + 180000 + static_cast<int64_t>(i) * 1000;
      orders.push_back(o);
    }
    self->request(store, 10s, insert_atom::value, orders)
      .receive([&](std::vector<insert_outcome>& outcomes) { BOOST_REQUIRE_EQUAL(outcomes.size(), count); },
               [](caf::error& e) { BOOST_FAIL(describe(e)); });
    return orders;
  }

  /// A lane of one call at a time on a provider that answers success after `latency_ms`;
  /// the test's scoped actor is its router. It writes to `on` (the fixture's store unless
  /// given).
  void start_lane(double latency_ms, std::optional<store_actor> on = std::nullopt) {
    simulated_adapter_config sim;
    sim.latency.fixed_ms = latency_ms;
    sim.outcomes = {1, 0, 0, 0};
    provider_config provider;
    provider.name = provider_name;
    provider.carriers = {"cmcc"};
    provider.rate = 1000;
    provider.burst = 100;
    provider.concurrency = 1;
    provider.timeout_ms = 5000;
    deadline_config deadline;
    auto options = make_recharge_options(provider, deadline);
    lane = system.spawn(recharge, options, clock, on.value_or(store),
                        caf::actor_cast<router_actor>(self),
                        provider_factory{[=](caf::actor_system& sys) {
                          return spawn_simulated_provider(sys, provider_name, sim,
                                                          options.lane.call_timeout, clock);
                        }});
  }

  order_status stored_status(const std::string& id) {
    order_status status = order_status::accepted;
    self->request(store, 10s, caf::get_atom::value, id)
      .receive([&](order& o) { status = o.status; },
               [](caf::error& e) { BOOST_FAIL(describe(e)); });
    return status;
  }
};

/// What a store stand-in has seen.
struct write_log {
  std::atomic<int> requests{0};
  std::atomic<int> answered_ok{0};
  std::atomic<bool> failing{false};
};

/// A store whose writes answer `unavailable` while `log->failing` (a full disk), and apply
/// every change otherwise; reads fail. It counts the write requests.
caf::behavior store_stand_in(caf::event_based_actor*, std::shared_ptr<write_log> log) {
  return {
    [=](transition_atom, std::vector<transition>& changes) -> caf::result<std::vector<bool>> {
      log->requests++;
      if (log->failing)
        return make_error(errc::unavailable, "the order store cannot write: sqlite error 13: "
                                             "database or disk is full");
      log->answered_ok++;
      return std::vector<bool>(changes.size(), true);
    },
    [=](caf::get_atom, const std::string&) -> caf::result<order> {
      return make_error(errc::unavailable, "the order store cannot read");
    },
  };
}

/// A store that holds every write unanswered until it gets ack_atom, then answers them and
/// every later write at once, applying every change: a store behind with its writes.
caf::behavior holding_store(caf::event_based_actor* self) {
  struct held_write {
    caf::typed_response_promise<std::vector<bool>> promise;
    size_t changes = 0;
  };
  auto held = std::make_shared<std::vector<held_write>>();
  auto released = std::make_shared<bool>(false);
  return {
    [=](transition_atom, std::vector<transition>& changes) -> caf::result<std::vector<bool>> {
      if (*released)
        return std::vector<bool>(changes.size(), true);
      auto promise = self->make_response_promise<std::vector<bool>>();
      held->push_back({promise, changes.size()});
      return promise;
    },
    [=](ack_atom) {
      *released = true;
      for (auto& write : *held)
        write.promise.deliver(std::vector<bool>(write.changes, true));
      held->clear();
    },
  };
}

/// The store lag of the lane's next report for which `until_true` holds, within 5 s.
template <class Predicate>
std::optional<double> reported_store_lag(caf::scoped_actor& self, Predicate until_true) {
  auto until = std::chrono::steady_clock::now() + 5s;
  while (std::chrono::steady_clock::now() < until) {
    std::optional<double> lag;
    self->receive([&](report_atom, const provider_report& report) { lag = report.store_lag_ms; },
                  [](done_atom, const std::vector<std::string>&) {}, caf::after(50ms) >> [] {});
    if (lag && until_true(*lag))
      return lag;
  }
  return std::nullopt;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(a_store_that_cannot_write, recharge_fixture)

// The lane's reports tell the router (and admission) how far behind the store is: the age of
// its oldest write not answered yet, back to 0 once the store catches up.
BOOST_AUTO_TEST_CASE(reports_say_how_long_the_oldest_unanswered_write_has_waited) {
  auto stand_in = system.spawn(holding_store);
  start_lane(1, caf::actor_cast<store_actor>(stand_in));
  auto orders = store_orders(1);
  auto first = reported_store_lag(self, [](double) { return true; });
  BOOST_TEST_REQUIRE(first.has_value());
  BOOST_TEST(*first == 0.0);  // nothing written yet
  auto sent = std::chrono::steady_clock::now();
  self->send(lane, dispatch_atom::value, orders, false);
  // The write-ahead of its call waits in the store.
  auto lag = reported_store_lag(self, [](double ms) { return ms >= 300; });
  BOOST_TEST_REQUIRE(lag.has_value(), "no report showed the held write's wait");
  auto waited_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - sent);
  BOOST_TEST(*lag <= waited_ms.count());
  // The store catches up: the call leaves, its outcome is written at once, the lag is gone.
  self->send(stand_in, ack_atom::value);
  auto caught_up = reported_store_lag(self, [](double ms) { return ms == 0; });
  BOOST_TEST(caught_up.has_value(), "the lag did not go back to 0 once the store answered");
  self->send_exit(stand_in, caf::exit_reason::user_shutdown);
}

// A full disk refuses every write at once: the lane must wait longer and longer between its
// tries (not try again as soon as the refusal comes back, thousands of times a second), and
// write what it kept once the store takes writes again.
BOOST_AUTO_TEST_CASE(failed_writes_are_tried_again_with_a_growing_delay) {
  auto log = std::make_shared<write_log>();
  auto stand_in = system.spawn(store_stand_in, log);
  start_lane(20, caf::actor_cast<store_actor>(stand_in));
  auto orders = store_orders(3);
  self->send(lane, dispatch_atom::value, orders, false);
  // The first dispatch is written; the disk fills while its call runs.
  auto until = std::chrono::steady_clock::now() + 5s;
  while (log->answered_ok == 0 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(1ms);
  log->failing = true;
  auto requests_before = log->requests.load();
  std::this_thread::sleep_for(3s);
  auto tries = log->requests.load() - requests_before;
  BOOST_TEST_MESSAGE(tries << " write requests in 3 s while the store failed");
  // 200 ms, 400, 800, 1600 after each failure: a handful, never a loop.
  BOOST_TEST(tries >= 2);
  BOOST_TEST(tries <= 12);
  // Room again: within the longest delay (5 s), what was kept is written.
  log->failing = false;
  auto ok_before = log->answered_ok.load();
  until = std::chrono::steady_clock::now() + 8s;
  while (log->answered_ok == ok_before && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(10ms);
  BOOST_TEST(log->answered_ok > ok_before, "nothing was written once the store recovered");
  self->send_exit(stand_in, caf::exit_reason::user_shutdown);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(giving_a_provider_up, recharge_fixture)

// Ownership of a provider moves: the next owner takes over from the store only the orders
// it would route there itself, so those failed over to this provider from another one must
// travel with the lease, not stay behind in the old lane until their deadline.
BOOST_AUTO_TEST_CASE(waiting_orders_go_back_to_the_router_and_the_call_in_flight_finishes) {
  auto orders = store_orders(5);
  start_lane(300);
  self->send(lane, dispatch_atom::value, orders, false);
  // Give the provider up once the first call runs (the lane reports every 100 ms).
  size_t in_flight = 0;
  auto until = std::chrono::steady_clock::now() + 5s;
  while (in_flight == 0 && std::chrono::steady_clock::now() < until)
    self->receive([&](report_atom, const provider_report& report) { in_flight = report.in_flight; },
                  caf::after(50ms) >> [] {});
  BOOST_REQUIRE_EQUAL(in_flight, 1u);
  bool drained = false;
  self->request(lane, 10s, released_atom::value)
    .receive([&](ack_atom) { drained = true; },
             [](caf::error& e) { BOOST_FAIL(describe(e)); });
  BOOST_CHECK(drained);

  // The first order was in flight: the lane finished it before answering.
  BOOST_CHECK(stored_status("o-0") == order_status::succeeded);

  // Reports keep coming every 100 ms: look for the orders given back for a while.
  std::set<std::string> handed_back;
  std::string for_provider;
  until = std::chrono::steady_clock::now() + 5s;
  while (handed_back.empty() && std::chrono::steady_clock::now() < until)
    self->receive(
      [&](forward_atom, std::vector<order>& back, std::string& provider) {
        for (const auto& o : back)
          handed_back.insert(o.id);
        for_provider = provider;
      },
      [](report_atom, const provider_report&) {}, [](done_atom, const std::vector<std::string>&) {},
      caf::after(50ms) >> [] {});
  BOOST_CHECK_EQUAL(for_provider, provider_name);
  BOOST_CHECK((handed_back == std::set<std::string>{"o-1", "o-2", "o-3", "o-4"}));
  // Given back untouched: still waiting for their first call, for the next owner.
  for (const auto& id : handed_back)
    BOOST_CHECK(stored_status(id) == order_status::accepted);
}

BOOST_AUTO_TEST_CASE(a_lane_with_nothing_waiting_answers_at_once_and_gives_nothing_back) {
  start_lane(1);
  bool drained = false;
  self->request(lane, 10s, released_atom::value)
    .receive([&](ack_atom) { drained = true; },
             [](caf::error& e) { BOOST_FAIL(describe(e)); });
  BOOST_CHECK(drained);
  // Reports keep coming every 100 ms: look at what arrives for a while.
  bool forwarded = false;
  auto until = std::chrono::steady_clock::now() + 500ms;
  while (std::chrono::steady_clock::now() < until)
    self->receive([&](forward_atom, std::vector<order>&, std::string&) { forwarded = true; },
                  [](report_atom, const provider_report&) {}, caf::after(50ms) >> [] {});
  BOOST_CHECK(!forwarded);
}

BOOST_AUTO_TEST_SUITE_END()

namespace {

/// The system clock, but a test can move it forward: the lane sees time jump as a process
/// does that was stopped (SIGSTOP) and resumed. Read from the actors' threads, moved from
/// the test's: the offset is atomic.
class jumping_clock final : public topup::clock {
public:
  mono_time now() const override { return base_.now() + offset(); }
  int64_t wall_ms() const override {
    return base_.wall_ms() + std::chrono::duration_cast<milliseconds>(offset()).count();
  }
  void jump(milliseconds by) { offset_ns_ += std::chrono::nanoseconds{by}.count(); }

private:
  nanoseconds offset() const { return nanoseconds{offset_ns_.load()}; }
  system_clock base_;
  std::atomic<int64_t> offset_ns_{0};
};

/// Cluster lanes of p-test on one store, which also holds the provider's lease (the
/// database fence of every write-ahead). Their provider keeps its ledger in the fixture's
/// directory, shared by the lanes of every node.
struct fenced_lane_fixture : actor_fixture {
  temp_dir dir;
  std::shared_ptr<jumping_clock> clock = std::make_shared<jumping_clock>();
  store_actor store = spawn_store(system, sqlite_store(dir), clock);
  std::optional<lease_store> leases;  ///< opened once the store has migrated the file
  std::vector<recharge_actor> lanes;

  fenced_lane_fixture() {
    wait_until_opened(self, store);
    leases.emplace(sqlite_store(dir));
  }

  ~fenced_lane_fixture() {
    for (auto& lane : lanes)
      stop(lane);
    self->send_exit(store, caf::exit_reason::user_shutdown);
    self->wait_for(store);
  }

  void stop(const recharge_actor& lane) {
    self->send_exit(lane, caf::exit_reason::user_shutdown);
    self->wait_for(lane);
  }

  std::string ledger_path() const { return dir.file("p-test.ledger"); }

  /// The lease of p-test for `node`, for a minute by the database's clock (which the test
  /// does not move): the database fence lets its writes through all along.
  int64_t acquire(const std::string& node) {
    auto held = leases->try_acquire(provider_name, node, 60000);
    BOOST_TEST_REQUIRE(held.has_value());
    return held->epoch;
  }

  /// A lane of `node` working p-test under `epoch` of its lease, valid for 5 s from now on
  /// the lane's clock; every call waits `hold` between its write-ahead and its send.
  recharge_actor start_lane(const std::string& node, int64_t epoch, milliseconds hold) {
    simulated_adapter_config sim;
    sim.latency.fixed_ms = 1;
    sim.outcomes = {1, 0, 0, 0};
    sim.ledger_path = ledger_path();
    provider_config provider;
    provider.name = provider_name;
    provider.carriers = {"cmcc"};
    provider.rate = 1000;
    provider.burst = 100;
    provider.timeout_ms = 2000;
    deadline_config deadline;
    deadline.query_interval_ms = 100;
    auto options = make_recharge_options(provider, deadline);
    options.lane.retry_base = milliseconds(20);
    options.lease_owner = node;
    options.lease_epoch = epoch;
    options.lease_valid_until = clock->now() + 5s;
    options.send_hold = hold;
    auto lane = system.spawn(recharge, options, clock, store, caf::actor_cast<router_actor>(self),
                             provider_factory{[=, time = clock](caf::actor_system& sys) {
                               return spawn_simulated_provider(sys, provider_name, sim,
                                                               options.lane.call_timeout, time);
                             }});
    lanes.push_back(lane);
    return lane;
  }

  order store_order(const std::string& id) {
    auto o = stored_order(id, "ref-" + id);
    o.accepted_at_ms = clock->wall_ms();
    o.updated_at_ms = o.accepted_at_ms;
    o.deadline_ms = o.accepted_at_ms + 180000;
    self->request(store, 10s, insert_atom::value, std::vector<order>{o})
      .receive([](std::vector<insert_outcome>&) {}, [](caf::error& e) { BOOST_FAIL(describe(e)); });
    return o;
  }

  order stored(const std::string& id) {
    order found;
    self->request(store, 10s, caf::get_atom::value, id)
      .receive([&](order& o) { found = std::move(o); },
               [](caf::error& e) { BOOST_FAIL(describe(e)); });
    return found;
  }

  /// Polls the store (bounded) until order `id` is in `status`.
  bool wait_for_status(const std::string& id, order_status status,
                       std::chrono::milliseconds timeout = 10s) {
    for (auto until = std::chrono::steady_clock::now() + timeout;
         std::chrono::steady_clock::now() < until; std::this_thread::sleep_for(20ms))
      if (stored(id).status == status)
        return true;
    return false;
  }

  provider_stats stats_of(const recharge_actor& lane) {
    provider_stats stats;
    self->request(lane, 10s, stats_atom::value)
      .receive([&](provider_stats& s) { stats = std::move(s); },
               [](caf::error& e) { BOOST_FAIL(describe(e)); });
    return stats;
  }

  std::vector<ledger_record> recharges() {
    if (!std::filesystem::exists(ledger_path()))
      return {};
    return ledger{ledger_path()}.records();
  }

  /// Lets the lane run for `time` (real time), discarding what it tells its router.
  void run_for(std::chrono::milliseconds time) {
    for (auto until = std::chrono::steady_clock::now() + time;
         std::chrono::steady_clock::now() < until;)
      self->receive([](report_atom, const provider_report&) {},
                    [](done_atom, const std::vector<std::string>&) {},
                    caf::after(20ms) >> [] {});
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(calls_leave_only_under_a_valid_lease, fenced_lane_fixture)

// The window the database fence cannot see: the attempt is written ahead under a live lease,
// and the node pauses before the call leaves. Resumed past its lease's validity, the lane
// sends nothing (neither the call nor a status query) until the lease is renewed; then it
// asks before anything else: it never assumes the call was not made.
BOOST_AUTO_TEST_CASE(a_call_written_ahead_is_not_sent_after_the_lease_lapsed) {
  auto epoch = acquire("node-1");
  auto lane = start_lane("node-1", epoch, 400ms);
  auto o = store_order("o-1");
  self->send(lane, dispatch_atom::value, std::vector<order>{o}, false);
  BOOST_REQUIRE(wait_for_status("o-1", order_status::dispatched));
  // Written ahead, held for the send: now the process "pauses" for 6 s. (The database's
  // lease is still live: its fence cannot see this window.)
  clock->jump(6s);
  run_for(800ms);  // the hold passes, and several query intervals
  auto stats = stats_of(lane);
  BOOST_TEST(stats.calls == 0u);
  BOOST_TEST(stats.queries == 0u);
  BOOST_TEST(stats.in_flight == 0u);
  BOOST_TEST(recharges().empty());
  BOOST_TEST((stored("o-1").status == order_status::dispatched));  // as written ahead

  // Renewed under the same epoch: the first thing to leave is the status query.
  self->send(lane, own_atom::value, provider_lease{provider_name, epoch, clock->now() + 5s});
  BOOST_REQUIRE(wait_for_status("o-1", order_status::succeeded));
  stats = stats_of(lane);
  BOOST_TEST(stats.queries == 1u);
  BOOST_TEST(stats.calls == 1u);
  auto rows = recharges();
  BOOST_REQUIRE_EQUAL(rows.size(), 1u);
  BOOST_TEST(rows[0].node == "node-1");
  BOOST_TEST(rows[0].epoch == epoch);
}

// A renewal of another epoch (an older lease of this node) does not reopen the lane.
BOOST_AUTO_TEST_CASE(a_renewal_of_another_epoch_does_not_reopen_the_lane) {
  auto epoch = acquire("node-1");
  auto lane = start_lane("node-1", epoch, 0ms);
  clock->jump(6s);
  auto o = store_order("o-1");
  self->send(lane, own_atom::value, provider_lease{provider_name, epoch - 1, clock->now() + 5s});
  self->send(lane, dispatch_atom::value, std::vector<order>{o}, false);
  run_for(500ms);
  // Past the validity nothing is even written ahead.
  BOOST_TEST((stored("o-1").status == order_status::accepted));
  BOOST_TEST(stats_of(lane).calls == 0u);
  self->send(lane, own_atom::value, provider_lease{provider_name, epoch, clock->now() + 5s});
  BOOST_REQUIRE(wait_for_status("o-1", order_status::succeeded));
}

// The lease moves instead: the next owner finds the attempt written but never sent. It
// queries it first (never assumes) and recharges it once, under its own epoch.
BOOST_AUTO_TEST_CASE(the_next_owner_queries_an_attempt_written_but_never_sent) {
  auto old_epoch = acquire("node-1");
  auto old_lane = start_lane("node-1", old_epoch, 400ms);
  auto o = store_order("o-1");
  self->send(old_lane, dispatch_atom::value, std::vector<order>{o}, false);
  BOOST_REQUIRE(wait_for_status("o-1", order_status::dispatched));
  clock->jump(6s);
  run_for(600ms);
  BOOST_TEST(stats_of(old_lane).calls == 0u);
  stop(old_lane);

  BOOST_REQUIRE(leases->release(provider_name, "node-1", old_epoch));
  auto next_epoch = acquire("node-2");
  auto next_lane = start_lane("node-2", next_epoch, 0ms);
  // What the router of the next owner does with an order its store read shows in flight.
  self->send(next_lane, recover_atom::value, std::vector<order>{stored("o-1")});
  BOOST_REQUIRE(wait_for_status("o-1", order_status::succeeded));
  auto stats = stats_of(next_lane);
  BOOST_TEST(stats.queries == 1u);
  BOOST_TEST(stats.calls == 1u);
  auto rows = recharges();
  BOOST_REQUIRE_EQUAL(rows.size(), 1u);
  BOOST_TEST(rows[0].node == "node-2");
  BOOST_TEST(rows[0].epoch == next_epoch);
}

BOOST_AUTO_TEST_SUITE_END()
