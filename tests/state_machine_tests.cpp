#include <boost/test/unit_test.hpp>

#include "domain/order.hpp"
#include "domain/order_state_machine.hpp"

#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

using namespace topup;

namespace {

using s = order_status;
using e = order_event;

/// The legal transitions, written out independently of next_status(). Any pair not listed
/// here must be refused.
struct transition {
  order_status from;
  order_event event;
  order_status to;
};

const std::vector<transition> legal_transitions{
  {s::accepted, e::dispatch, s::dispatched},
  {s::accepted, e::expire, s::failed},
  {s::accepted, e::cancel, s::failed},
  {s::dispatched, e::succeed, s::succeeded},
  {s::dispatched, e::fail_retryable, s::accepted},
  {s::dispatched, e::wrong_carrier, s::accepted},
  {s::dispatched, e::fail_final, s::failed},
  {s::dispatched, e::lose_outcome, s::unknown},
  {s::unknown, e::succeed, s::succeeded},
  {s::unknown, e::fail_retryable, s::accepted},
  {s::unknown, e::fail_final, s::failed},
  {s::unknown, e::lose_outcome, s::unknown},
  // Notes: history only.
  {s::unknown, e::query_unanswered, s::unknown},
  {s::accepted, e::resend, s::accepted},
};

std::optional<order_status> expected_next(order_status from, order_event event) {
  for (const auto& t : legal_transitions)
    if (t.from == from && t.event == event)
      return t.to;
  return std::nullopt;
}

std::string name_of(std::optional<order_status> status) {
  return status ? std::string{to_string(*status)} : std::string{"(illegal)"};
}

/// Applies a sequence of events, failing the test at the first refused one.
order_status walk(order_status start, const std::vector<order_event>& events) {
  auto current = start;
  for (auto event : events) {
    auto next = next_status(current, event);
    BOOST_TEST_REQUIRE(next.has_value(),
                       to_string(event) << " refused in " << to_string(current));
    current = *next;
  }
  return current;
}

} // namespace

BOOST_AUTO_TEST_SUITE(order_state_machine)

BOOST_AUTO_TEST_CASE(every_status_event_pair_matches_the_expected_table) {
  size_t pairs = 0;
  size_t legal = 0;
  for (auto from : all_order_statuses) {
    for (auto event : all_order_events) {
      ++pairs;
      auto expected = expected_next(from, event);
      auto actual = next_status(from, event);
      BOOST_TEST(name_of(actual) == name_of(expected),
                 "next_status(" << to_string(from) << ", " << to_string(event) << ") is "
                                << name_of(actual) << ", expected " << name_of(expected));
      if (actual)
        ++legal;
    }
  }
  BOOST_TEST(pairs == 5u * 10u);
  BOOST_TEST(legal == 14u);
  BOOST_TEST(legal_transitions.size() == 14u);
}

BOOST_AUTO_TEST_CASE(the_enumeration_arrays_list_each_value_once) {
  std::set<order_status> statuses(std::begin(all_order_statuses), std::end(all_order_statuses));
  std::set<order_event> events(std::begin(all_order_events), std::end(all_order_events));
  BOOST_TEST(statuses.size() == 5u);
  BOOST_TEST(events.size() == 10u);
  std::set<std::string> event_names;
  for (auto event : all_order_events) {
    BOOST_TEST(to_string(event) != "invalid");
    event_names.emplace(to_string(event));
    BOOST_TEST((order_event_from_string(to_string(event)) == event));
  }
  BOOST_TEST(event_names.size() == 10u);
  BOOST_TEST(!order_event_from_string("accept").has_value());
}

BOOST_AUTO_TEST_CASE(notes_keep_the_status_and_only_notes_do) {
  for (auto from : all_order_statuses)
    for (auto event : all_order_events) {
      auto next = next_status(from, event);
      if (next && is_note(event))
        BOOST_TEST(to_string(*next) == to_string(from), to_string(event));
    }
  BOOST_TEST(is_note(e::query_unanswered));
  BOOST_TEST(is_note(e::resend));
  BOOST_TEST(!is_note(e::lose_outcome), "a lost outcome changes dispatched to unknown");
  // An in-flight or final order is never re-sent; only an unknown outcome is queried.
  BOOST_TEST(!next_status(s::dispatched, e::resend).has_value());
  BOOST_TEST(!next_status(s::dispatched, e::query_unanswered).has_value());
  BOOST_TEST(!next_status(s::accepted, e::query_unanswered).has_value());
}

BOOST_AUTO_TEST_CASE(final_states_accept_no_event) {
  for (auto from : {s::succeeded, s::failed}) {
    BOOST_TEST(is_final(from));
    for (auto event : all_order_events)
      BOOST_TEST(!next_status(from, event).has_value(),
                 to_string(event) << " accepted in final state " << to_string(from));
  }
}

BOOST_AUTO_TEST_CASE(unknown_outcome_can_never_be_expired_or_cancelled) {
  BOOST_TEST(!next_status(s::unknown, e::expire).has_value());
  BOOST_TEST(!next_status(s::unknown, e::cancel).has_value());
  // Nor can an order with a call in flight: money may be moving.
  BOOST_TEST(!next_status(s::dispatched, e::expire).has_value());
  BOOST_TEST(!next_status(s::dispatched, e::cancel).has_value());
  // And unknown stays non-final, so a later query still resolves it.
  BOOST_TEST(!is_final(s::unknown));
}

BOOST_AUTO_TEST_CASE(unknown_is_resolved_only_by_what_the_provider_says) {
  BOOST_TEST((next_status(s::unknown, e::succeed) == s::succeeded));
  BOOST_TEST((next_status(s::unknown, e::fail_final) == s::failed));
  BOOST_TEST((next_status(s::unknown, e::fail_retryable) == s::accepted));
  BOOST_TEST((next_status(s::unknown, e::lose_outcome) == s::unknown));
  BOOST_TEST(!next_status(s::unknown, e::dispatch).has_value());
}

BOOST_AUTO_TEST_CASE(an_accepted_order_cannot_be_resolved_without_a_dispatch) {
  BOOST_TEST(!next_status(s::accepted, e::succeed).has_value());
  BOOST_TEST(!next_status(s::accepted, e::fail_retryable).has_value());
  BOOST_TEST(!next_status(s::accepted, e::fail_final).has_value());
  BOOST_TEST(!next_status(s::accepted, e::lose_outcome).has_value());
}

BOOST_AUTO_TEST_CASE(a_dispatched_order_cannot_be_dispatched_again) {
  BOOST_TEST(!next_status(s::dispatched, e::dispatch).has_value());
}

BOOST_AUTO_TEST_CASE(full_lifecycle_with_lost_outcome_and_retry_succeeds) {
  auto current = s::accepted;
  const std::vector<std::pair<order_event, order_status>> steps{
    {e::dispatch, s::dispatched},
    {e::lose_outcome, s::unknown},
    {e::fail_retryable, s::accepted},
    {e::dispatch, s::dispatched},
    {e::succeed, s::succeeded},
  };
  for (const auto& [event, expected] : steps) {
    auto next = next_status(current, event);
    BOOST_TEST_REQUIRE(next.has_value(), to_string(event) << " refused in " << to_string(current));
    BOOST_TEST(to_string(*next) == to_string(expected));
    current = *next;
  }
  BOOST_TEST(is_final(current));
}

BOOST_AUTO_TEST_CASE(other_paths_reach_the_expected_terminal_state) {
  BOOST_TEST(to_string(walk(s::accepted, {e::cancel})) == "failed");
  BOOST_TEST(to_string(walk(s::accepted, {e::expire})) == "failed");
  BOOST_TEST(to_string(walk(s::accepted, {e::dispatch, e::fail_final})) == "failed");
  BOOST_TEST(to_string(walk(s::accepted, {e::dispatch, e::lose_outcome, e::lose_outcome,
                                          e::succeed}))
             == "succeeded");
  BOOST_TEST(to_string(walk(s::accepted, {e::dispatch, e::fail_retryable, e::dispatch,
                                          e::fail_retryable, e::expire}))
             == "failed");
}

BOOST_AUTO_TEST_CASE(every_non_final_state_can_reach_a_final_state) {
  // Guarantee 4: no accepted order can get stuck. Breadth-first over the transition graph.
  for (auto start : all_order_statuses) {
    std::set<order_status> seen{start};
    std::vector<order_status> frontier{start};
    bool reaches_final = is_final(start);
    while (!frontier.empty() && !reaches_final) {
      auto current = frontier.back();
      frontier.pop_back();
      for (auto event : all_order_events) {
        auto next = next_status(current, event);
        if (!next || !seen.insert(*next).second)
          continue;
        reaches_final = reaches_final || is_final(*next);
        frontier.push_back(*next);
      }
    }
    BOOST_TEST(reaches_final, to_string(start) << " cannot reach a final state");
  }
}

BOOST_AUTO_TEST_SUITE_END()
