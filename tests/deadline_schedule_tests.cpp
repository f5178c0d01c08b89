#include <boost/test/unit_test.hpp>

#include "domain/deadline_schedule.hpp"

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

using namespace topup;

namespace {

using strings = std::vector<std::string>;

/// The 180 s limit with re-sends at 120 s and 160 s.
deadline_schedule standard() { return deadline_schedule{{60'000, 20'000}}; }

constexpr int64_t D = 1'700'000'180'000;  ///< a deadline in wall ms

strings sorted(strings v) {
  std::sort(v.begin(), v.end());
  return v;
}

int64_t next_due(const deadline_schedule& s) {
  auto due = s.next_due_ms();
  BOOST_TEST_REQUIRE(due.has_value());
  return *due;
}

} // namespace

BOOST_AUTO_TEST_SUITE(deadline_schedule_suite)

BOOST_AUTO_TEST_CASE(an_empty_schedule_has_nothing_due) {
  auto s = standard();
  BOOST_TEST(s.size() == 0u);
  BOOST_TEST(!s.next_due_ms());
  auto due = s.take_due(D);
  BOOST_TEST(due.resend.empty());
  BOOST_TEST(due.expire.empty());
}

BOOST_AUTO_TEST_CASE(one_order_is_reminded_at_each_resend_point_then_expires) {
  auto s = standard();
  s.track("a", D, D - 180'000);
  BOOST_TEST(s.size() == 1u);
  BOOST_TEST(next_due(s) == D - 60'000);

  auto due = s.take_due(D - 60'001);
  BOOST_TEST(due.resend.empty());
  BOOST_TEST(due.expire.empty());

  due = s.take_due(D - 60'000);
  BOOST_TEST(due.resend == (strings{"a"}), boost::test_tools::per_element());
  BOOST_TEST(due.expire.empty());
  BOOST_TEST(s.size() == 1u);
  BOOST_TEST(next_due(s) == D - 20'000);
  BOOST_TEST(s.take_due(D - 60'000).resend.empty(), "reminded twice at the same point");

  due = s.take_due(D - 20'001);
  BOOST_TEST(due.resend.empty());
  BOOST_TEST(due.expire.empty());

  due = s.take_due(D - 20'000);
  BOOST_TEST(due.resend == (strings{"a"}), boost::test_tools::per_element());
  BOOST_TEST(due.expire.empty());
  BOOST_TEST(next_due(s) == D);

  due = s.take_due(D - 1);
  BOOST_TEST(due.resend.empty());
  BOOST_TEST(due.expire.empty());

  due = s.take_due(D);
  BOOST_TEST(due.resend.empty());
  BOOST_TEST(due.expire == (strings{"a"}), boost::test_tools::per_element());
  BOOST_TEST(s.size() == 0u);
  BOOST_TEST(!s.next_due_ms());

  due = s.take_due(D + 1'000'000);
  BOOST_TEST(due.resend.empty());
  BOOST_TEST(due.expire.empty());
}

BOOST_AUTO_TEST_CASE(a_late_tick_past_the_deadline_gives_one_resend_and_the_expiry) {
  auto s = standard();
  s.track("a", D, D - 180'000);
  auto due = s.take_due(D + 5);
  BOOST_TEST(due.resend == (strings{"a"}), boost::test_tools::per_element());
  BOOST_TEST(due.expire == (strings{"a"}), boost::test_tools::per_element());
  BOOST_TEST(s.size() == 0u);
  BOOST_TEST(!s.next_due_ms());
}

BOOST_AUTO_TEST_CASE(a_late_tick_between_points_gives_one_resend_and_skips_the_passed_one) {
  auto s = standard();
  s.track("a", D, D - 180'000);
  auto due = s.take_due(D - 10'000);  // both re-send points have passed
  BOOST_TEST(due.resend == (strings{"a"}), boost::test_tools::per_element());
  BOOST_TEST(due.expire.empty());
  BOOST_TEST(next_due(s) == D);
  due = s.take_due(D - 1);
  BOOST_TEST(due.resend.empty());
  due = s.take_due(D);
  BOOST_TEST(due.expire == (strings{"a"}), boost::test_tools::per_element());
  BOOST_TEST(due.resend.empty());
}

BOOST_AUTO_TEST_CASE(tracking_after_a_resend_point_skips_it) {
  auto s = standard();
  s.track("mid", D, D - 30'000);   // first point passed
  s.track("late", D, D - 10'000);  // both passed
  BOOST_TEST(next_due(s) == D - 20'000);
  auto due = s.take_due(D - 20'000);
  BOOST_TEST(due.resend == (strings{"mid"}), boost::test_tools::per_element());
  BOOST_TEST(due.expire.empty());
  BOOST_TEST(next_due(s) == D);
  due = s.take_due(D);
  BOOST_TEST(due.resend.empty(), "the skipped points never come back");
  BOOST_TEST(sorted(due.expire) == (strings{"late", "mid"}), boost::test_tools::per_element());
  BOOST_TEST(s.size() == 0u);
}

BOOST_AUTO_TEST_CASE(tracking_just_before_a_resend_point_keeps_it) {
  auto s = standard();
  s.track("a", D, D - 60'001);
  BOOST_TEST(next_due(s) == D - 60'000);
}

// Only re-send points already past are skipped: an order (re-)tracked at the very millisecond
// of a re-send point, e.g. when timers are re-armed after a restart, still gets that re-send.
BOOST_AUTO_TEST_CASE(tracking_exactly_at_a_resend_point_still_resends) {
  auto s = standard();
  s.track("a", D, D - 60'000);
  BOOST_TEST(next_due(s) == D - 60'000);
  auto due = s.take_due(D - 60'000);
  BOOST_TEST(due.resend == (strings{"a"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_deadline_already_past_is_due_at_once_as_expiry) {
  auto s = standard();
  s.track("past", D, D + 1'000);
  BOOST_TEST(next_due(s) <= D + 1'000);
  auto due = s.take_due(D + 1'000);
  BOOST_TEST(due.resend.empty(), "no re-send for an order already past its deadline");
  BOOST_TEST(due.expire == (strings{"past"}), boost::test_tools::per_element());
  BOOST_TEST(s.size() == 0u);
}

BOOST_AUTO_TEST_CASE(a_deadline_exactly_now_is_due_at_once) {
  auto s = standard();
  s.track("now", D, D);
  BOOST_TEST(next_due(s) == D);
  auto due = s.take_due(D);
  BOOST_TEST(due.resend.empty());
  BOOST_TEST(due.expire == (strings{"now"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(next_due_is_the_earliest_reminder) {
  auto s = standard();
  s.track("a", D, D - 180'000);            // D - 60000
  BOOST_TEST(next_due(s) == D - 60'000);
  s.track("b", D - 50'000, D - 180'000);   // D - 110000
  BOOST_TEST(next_due(s) == D - 110'000);
  s.track("c", D + 100'000, D - 180'000);  // D + 40000
  BOOST_TEST(next_due(s) == D - 110'000);
  s.track("d", D - 150'000, D - 200'000);  // first point passed: D - 170000
  BOOST_TEST(next_due(s) == D - 170'000);
  BOOST_TEST(s.size() == 4u);
  auto due = s.take_due(D - 170'000);
  BOOST_TEST(due.resend == (strings{"d"}), boost::test_tools::per_element());
  BOOST_TEST(next_due(s) == D - 150'000);  // d's deadline
  due = s.take_due(D - 110'000);
  BOOST_TEST(due.expire == (strings{"d"}), boost::test_tools::per_element());
  BOOST_TEST(due.resend == (strings{"b"}), boost::test_tools::per_element());
  BOOST_TEST(next_due(s) == D - 70'000);  // b's second point
}

BOOST_AUTO_TEST_CASE(orders_due_together_are_all_returned) {
  auto s = standard();
  for (int i = 0; i < 50; ++i)
    s.track("o" + std::to_string(i), D, D - 180'000);
  auto due = s.take_due(D - 60'000);
  BOOST_TEST(due.resend.size() == 50u);
  std::set<std::string> unique(due.resend.begin(), due.resend.end());
  BOOST_TEST(unique.size() == 50u);
  due = s.take_due(D);
  BOOST_TEST(due.resend.size() == 50u);
  BOOST_TEST(due.expire.size() == 50u);
  BOOST_TEST(s.size() == 0u);
}

BOOST_AUTO_TEST_CASE(the_constructor_sorts_the_resend_points) {
  deadline_schedule s{{20'000, 60'000}};
  s.track("a", D, D - 180'000);
  BOOST_TEST(next_due(s) == D - 60'000);
  BOOST_TEST(s.take_due(D - 60'000).resend == (strings{"a"}), boost::test_tools::per_element());
  BOOST_TEST(next_due(s) == D - 20'000);
  BOOST_TEST(s.take_due(D - 20'000).resend == (strings{"a"}), boost::test_tools::per_element());
  BOOST_TEST(next_due(s) == D);
  BOOST_TEST(s.take_due(D).expire == (strings{"a"}), boost::test_tools::per_element());

  deadline_schedule three{{5'000, 90'000, 30'000}};
  three.track("b", D, D - 100'000);
  BOOST_TEST(next_due(three) == D - 90'000);
  three.take_due(D - 90'000);
  BOOST_TEST(next_due(three) == D - 30'000);
  three.take_due(D - 30'000);
  BOOST_TEST(next_due(three) == D - 5'000);
}

BOOST_AUTO_TEST_CASE(without_resend_points_only_the_deadline_reminds) {
  deadline_schedule s{std::vector<int64_t>{}};
  s.track("a", D, D - 180'000);
  BOOST_TEST(next_due(s) == D);
  auto due = s.take_due(D - 1);
  BOOST_TEST(due.resend.empty());
  BOOST_TEST(due.expire.empty());
  due = s.take_due(D);
  BOOST_TEST(due.resend.empty());
  BOOST_TEST(due.expire == (strings{"a"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(many_orders_get_every_reminder_once_in_due_order) {
  // 3000 orders: 1500 tracked up front with random deadlines, 1500 accepted while time runs
  // (deadline 180 s later). Time moves in random steps of 1..997 ms, shorter than the gap
  // between any two points of one order, so nothing may be skipped: every order gets exactly
  // two re-sends then its expiry, each at the first tick at or after its due time.
  const std::vector<int64_t> offsets = {60'000, 20'000};
  deadline_schedule s{offsets};
  std::mt19937_64 random{12345};
  const int64_t start = 1'700'000'000'000;

  struct tracked {
    int64_t deadline;
    size_t stage = 0;  // reminders received so far
  };
  std::unordered_map<std::string, tracked> orders;
  std::multiset<int64_t> pending;  // due time of every order's next reminder
  auto due_of = [&](const tracked& t) {
    return t.stage < offsets.size() ? t.deadline - offsets[t.stage] : t.deadline;
  };

  std::uniform_int_distribution<int64_t> deadline_in(60'001, 400'000);
  for (int i = 0; i < 1500; ++i) {
    auto id = "u" + std::to_string(i);
    tracked t{start + deadline_in(random)};
    s.track(id, t.deadline, start);
    pending.insert(due_of(t));
    orders.emplace(id, t);
  }

  std::uniform_int_distribution<int64_t> step(1, 997);
  std::bernoulli_distribution accept_now(0.25);
  int accepted_later = 0;
  int64_t previous = start;
  size_t reminders = 0;
  size_t wrong_kind = 0;
  size_t wrong_time = 0;
  size_t unknown_ids = 0;
  for (int64_t now = start; !pending.empty() || accepted_later < 1500;
       previous = now, now += step(random)) {
    BOOST_TEST_REQUIRE(now < start + 20'000'000, "schedule never drained");
    auto due = s.take_due(now);
    auto check = [&](const std::string& id, bool expiry) {
      auto it = orders.find(id);
      if (it == orders.end()) {
        ++unknown_ids;
        return;
      }
      auto& t = it->second;
      auto expected_due = due_of(t);
      if (expiry != (t.stage == offsets.size()))
        ++wrong_kind;
      // Due since the previous tick: late by less than one step, never early.
      if (!(expected_due > previous && expected_due <= now))
        ++wrong_time;
      pending.erase(pending.find(expected_due));
      ++t.stage;
      ++reminders;
      if (t.stage <= offsets.size())
        pending.insert(due_of(t));
    };
    for (const auto& id : due.resend)
      check(id, false);
    for (const auto& id : due.expire)
      check(id, true);
    if (accepted_later < 1500 && accept_now(random)) {
      auto id = "l" + std::to_string(accepted_later++);
      tracked t{now + 180'000};
      s.track(id, t.deadline, now);
      pending.insert(due_of(t));
      orders.emplace(id, t);
    }
    // The schedule agrees with the model on what is left and what comes next.
    BOOST_TEST_REQUIRE(s.size() == pending.size());
    if (pending.empty())
      BOOST_TEST_REQUIRE(!s.next_due_ms());
    else
      BOOST_TEST_REQUIRE(next_due(s) == *pending.begin());
  }
  BOOST_TEST(unknown_ids == 0u);
  BOOST_TEST(wrong_kind == 0u);
  BOOST_TEST(wrong_time == 0u);
  BOOST_TEST(orders.size() == 3000u);
  BOOST_TEST(reminders == 3000u * (offsets.size() + 1));
  for (const auto& [id, t] : orders)
    BOOST_TEST(t.stage == offsets.size() + 1, id);
}

BOOST_AUTO_TEST_CASE(late_ticks_match_a_per_order_model) {
  // Long random gaps between ticks (up to 100 s): a tick delivers at most one re-send per
  // order, skips the other re-send points it passed, and delivers the expiry in the same tick
  // when the deadline has passed too. Checked against a direct per-order model.
  const std::vector<int64_t> offsets = {60'000, 20'000};
  deadline_schedule s{offsets};
  std::mt19937_64 random{777};
  const int64_t start = 0;
  struct model {
    int64_t deadline;
    size_t stage = 0;
    bool done = false;
  };
  std::map<std::string, model> orders;
  std::uniform_int_distribution<int64_t> deadline_in(-5'000, 500'000);
  for (int i = 0; i < 2000; ++i) {
    auto id = "o" + std::to_string(i);
    model m{start + deadline_in(random)};
    while (m.stage < offsets.size() && m.deadline - offsets[m.stage] <= start)
      ++m.stage;
    s.track(id, m.deadline, start);
    orders.emplace(id, m);
  }
  std::uniform_int_distribution<int64_t> step(1, 100'000);
  size_t mismatches = 0;
  for (int64_t now = start; now < start + 700'000; now += step(random)) {
    strings expected_resend;
    strings expected_expire;
    for (auto& [id, m] : orders) {
      if (m.done)
        continue;
      if (m.stage < offsets.size() && m.deadline - offsets[m.stage] <= now) {
        expected_resend.push_back(id);
        while (m.stage < offsets.size() && m.deadline - offsets[m.stage] <= now)
          ++m.stage;
      }
      if (m.stage == offsets.size() && m.deadline <= now) {
        expected_expire.push_back(id);
        m.done = true;
      }
    }
    auto due = s.take_due(now);
    if (sorted(due.resend) != expected_resend || sorted(due.expire) != expected_expire)
      ++mismatches;
  }
  BOOST_TEST(mismatches == 0u);
  auto last = s.take_due(start + 10'000'000);
  BOOST_TEST(last.resend.empty());
  BOOST_TEST(last.expire.empty());
  BOOST_TEST(s.size() == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
