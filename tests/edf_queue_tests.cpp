#include <boost/test/unit_test.hpp>

#include "domain/edf_queue.hpp"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <tuple>
#include <vector>

using namespace topup;

namespace {

using queue = edf_queue<std::string, int>;

/// Pops everything and returns the ids in the order they left.
std::vector<std::string> drain_ids(queue& q) {
  std::vector<std::string> ids;
  while (auto e = q.pop())
    ids.push_back(e->id);
  return ids;
}

/// The obvious implementation: a vector sorted on demand by (urgent first, deadline, arrival).
class reference_queue {
public:
  struct item {
    std::string id;
    int64_t deadline_ms;
    bool urgent;
    int value;
    uint64_t sequence;
  };

  bool push(const std::string& id, int64_t deadline_ms, int value, bool urgent) {
    if (find(id) != items_.end())
      return false;
    items_.push_back({id, deadline_ms, urgent, value, next_sequence_++});
    return true;
  }

  std::optional<item> pop() {
    if (items_.empty())
      return std::nullopt;
    sort();
    auto first = items_.front();
    items_.erase(items_.begin());
    return first;
  }

  std::optional<item> extract(const std::string& id) {
    auto it = find(id);
    if (it == items_.end())
      return std::nullopt;
    auto taken = *it;
    items_.erase(it);
    return taken;
  }

  bool contains(const std::string& id) const {
    return std::any_of(items_.begin(), items_.end(),
                       [&](const item& i) { return i.id == id; });
  }
  size_t size() const { return items_.size(); }

private:
  std::vector<item>::iterator find(const std::string& id) {
    return std::find_if(items_.begin(), items_.end(), [&](const item& i) { return i.id == id; });
  }

  void sort() {
    std::sort(items_.begin(), items_.end(), [](const item& a, const item& b) {
      return std::make_tuple(!a.urgent, a.deadline_ms, a.sequence)
             < std::make_tuple(!b.urgent, b.deadline_ms, b.sequence);
    });
  }

  std::vector<item> items_;
  uint64_t next_sequence_ = 0;
};

} // namespace

BOOST_AUTO_TEST_SUITE(edf_queue_suite)

BOOST_AUTO_TEST_CASE(a_new_queue_is_empty) {
  queue q;
  BOOST_TEST(q.empty());
  BOOST_TEST(q.size() == 0u);
  BOOST_TEST(q.peek() == nullptr);
  BOOST_TEST(!q.pop().has_value());
  BOOST_TEST(!q.extract("x").has_value());
  BOOST_TEST(!q.contains("x"));
}

BOOST_AUTO_TEST_CASE(pops_in_deadline_order) {
  queue q;
  BOOST_TEST(q.push("c", 300, 3));
  BOOST_TEST(q.push("a", 100, 1));
  BOOST_TEST(q.push("d", 400, 4));
  BOOST_TEST(q.push("b", 200, 2));
  BOOST_TEST(q.push("early", -50, 0));
  auto first = q.pop();
  BOOST_TEST_REQUIRE(first.has_value());
  BOOST_TEST(first->id == "early");
  BOOST_TEST(first->deadline_ms == -50);
  BOOST_TEST(first->value == 0);
  BOOST_TEST(!first->urgent);
  BOOST_TEST(drain_ids(q) == (std::vector<std::string>{"a", "b", "c", "d"}),
             boost::test_tools::per_element());
  BOOST_TEST(q.empty());
}

BOOST_AUTO_TEST_CASE(values_travel_with_their_entries) {
  queue q;
  q.push("x", 20, 42);
  q.push("y", 10, 7);
  auto y = q.pop();
  auto x = q.pop();
  BOOST_TEST_REQUIRE((x && y));
  BOOST_TEST(y->id == "y");
  BOOST_TEST(y->value == 7);
  BOOST_TEST(x->id == "x");
  BOOST_TEST(x->value == 42);
}

BOOST_AUTO_TEST_CASE(urgent_entries_go_before_all_normal_ones_regardless_of_deadline) {
  queue q;
  q.push("normal-early", 1, 0);
  q.push("urgent-late", 1'000'000, 0, true);
  q.push("normal-mid", 500, 0);
  q.push("urgent-early", 900'000, 0, true);
  q.push("normal-late", 2'000'000, 0);
  auto top = q.peek();
  BOOST_TEST_REQUIRE(top != nullptr);
  BOOST_TEST(top->id == "urgent-early");
  BOOST_TEST(top->urgent);
  BOOST_TEST(drain_ids(q)
               == (std::vector<std::string>{"urgent-early", "urgent-late", "normal-early",
                                            "normal-mid", "normal-late"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(equal_deadlines_leave_in_arrival_order) {
  queue q;
  for (auto id : {"first", "second", "third", "fourth"})
    q.push(id, 100, 0);
  q.push("urgent-1", 100, 0, true);
  q.push("urgent-2", 100, 0, true);
  BOOST_TEST(drain_ids(q)
               == (std::vector<std::string>{"urgent-1", "urgent-2", "first", "second", "third",
                                            "fourth"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(re_pushed_entry_goes_behind_equal_deadlines) {
  // An order taken out and put back (e.g. handed back by another provider) loses its place
  // among equal deadlines: arrival order is the order of pushes, not of first appearance.
  queue q;
  q.push("a", 100, 0);
  q.push("b", 100, 0);
  BOOST_TEST_REQUIRE(q.extract("a").has_value());
  BOOST_TEST(q.push("a", 100, 0));
  BOOST_TEST(drain_ids(q) == (std::vector<std::string>{"b", "a"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(duplicate_id_push_is_refused_and_changes_nothing) {
  queue q;
  BOOST_TEST(q.push("a", 100, 1));
  BOOST_TEST(q.push("b", 200, 2));
  BOOST_TEST(!q.push("a", 50, 99, true));
  BOOST_TEST(!q.push("b", 200, 2));
  BOOST_TEST(q.size() == 2u);
  auto first = q.pop();
  BOOST_TEST_REQUIRE(first.has_value());
  BOOST_TEST(first->id == "a");
  BOOST_TEST(first->deadline_ms == 100);
  BOOST_TEST(first->value == 1);
  BOOST_TEST(!first->urgent);
  auto second = q.pop();
  BOOST_TEST_REQUIRE(second.has_value());
  BOOST_TEST(second->id == "b");
  BOOST_TEST(!q.pop().has_value());
}

BOOST_AUTO_TEST_CASE(an_id_can_be_pushed_again_after_it_left) {
  queue q;
  q.push("a", 100, 1);
  q.pop();
  BOOST_TEST(!q.contains("a"));
  BOOST_TEST(q.push("a", 300, 3));
  auto again = q.pop();
  BOOST_TEST_REQUIRE(again.has_value());
  BOOST_TEST(again->deadline_ms == 300);
  BOOST_TEST(again->value == 3);
}

BOOST_AUTO_TEST_CASE(extract_by_id_from_the_middle) {
  queue q;
  q.push("a", 100, 1);
  q.push("b", 200, 2);
  q.push("c", 300, 3);
  q.push("d", 400, 4, true);
  auto taken = q.extract("b");
  BOOST_TEST_REQUIRE(taken.has_value());
  BOOST_TEST(taken->id == "b");
  BOOST_TEST(taken->deadline_ms == 200);
  BOOST_TEST(taken->value == 2);
  BOOST_TEST(!taken->urgent);
  BOOST_TEST(!q.contains("b"));
  BOOST_TEST(q.size() == 3u);
  BOOST_TEST(!q.extract("b").has_value());
  BOOST_TEST(!q.extract("zzz").has_value());
  BOOST_TEST(q.size() == 3u);
  BOOST_TEST(drain_ids(q) == (std::vector<std::string>{"d", "a", "c"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(extract_of_an_urgent_entry_keeps_its_urgency) {
  queue q;
  q.push("u", 500, 5, true);
  q.push("n", 100, 1);
  auto taken = q.extract("u");
  BOOST_TEST_REQUIRE(taken.has_value());
  BOOST_TEST(taken->urgent);
  BOOST_TEST(taken->value == 5);
  auto top = q.peek();
  BOOST_TEST_REQUIRE(top != nullptr);
  BOOST_TEST(top->id == "n");
}

BOOST_AUTO_TEST_CASE(contains_size_and_empty_follow_every_operation) {
  queue q;
  q.push("a", 1, 0);
  BOOST_TEST(q.contains("a"));
  BOOST_TEST(!q.empty());
  BOOST_TEST(q.size() == 1u);
  q.push("b", 2, 0);
  q.push("c", 3, 0);
  BOOST_TEST(q.size() == 3u);
  q.extract("b");
  BOOST_TEST(!q.contains("b"));
  BOOST_TEST(q.size() == 2u);
  q.pop();
  BOOST_TEST(!q.contains("a"));
  BOOST_TEST(q.contains("c"));
  BOOST_TEST(q.size() == 1u);
  q.pop();
  BOOST_TEST(q.empty());
  BOOST_TEST(q.size() == 0u);
  BOOST_TEST(!q.contains("c"));
}

BOOST_AUTO_TEST_CASE(peek_matches_pop) {
  queue q;
  q.push("a", 30, 1);
  q.push("b", 10, 2);
  q.push("c", 20, 3, true);
  while (!q.empty()) {
    auto size_before = q.size();
    auto top = q.peek();
    BOOST_TEST_REQUIRE(top != nullptr);
    BOOST_TEST(q.size() == size_before, "peek changed the size");
    BOOST_TEST(q.peek() == top, "a second peek sees another entry");
    auto id = top->id;
    auto deadline = top->deadline_ms;
    auto value = top->value;
    auto urgent = top->urgent;
    auto popped = q.pop();
    BOOST_TEST_REQUIRE(popped.has_value());
    BOOST_TEST(popped->id == id);
    BOOST_TEST(popped->deadline_ms == deadline);
    BOOST_TEST(popped->value == value);
    BOOST_TEST(popped->urgent == urgent);
    BOOST_TEST(q.size() == size_before - 1);
  }
  BOOST_TEST(q.peek() == nullptr);
}

BOOST_AUTO_TEST_CASE(randomized_operations_match_a_reference_model) {
  std::mt19937 rng{20240601};
  std::uniform_int_distribution<int> op_dist{0, 99};
  std::uniform_int_distribution<int> id_dist{0, 199};       // collisions happen often
  std::uniform_int_distribution<int64_t> deadline_dist{0, 50};  // so do equal deadlines
  std::uniform_int_distribution<int> value_dist{0, 1'000'000};

  queue q;
  reference_queue model;
  size_t pushes = 0, refused = 0, pops = 0, extracts = 0, misses = 0;
  for (int step = 0; step < 10'000; ++step) {
    BOOST_TEST_CONTEXT("step " << step) {
      auto op = op_dist(rng);
      auto id = "o" + std::to_string(id_dist(rng));
      if (op < 50) {
        auto deadline = deadline_dist(rng);
        auto value = value_dist(rng);
        bool urgent = op < 8;
        bool expected = model.push(id, deadline, value, urgent);
        BOOST_TEST_REQUIRE(q.push(id, deadline, value, urgent) == expected);
        ++(expected ? pushes : refused);
      } else if (op < 80) {
        auto top = q.peek();
        // Copied now: pop() frees the entry peek() pointed at.
        std::optional<std::string> peeked_id;
        if (top)
          peeked_id = top->id;
        auto expected = model.pop();
        auto actual = q.pop();
        BOOST_TEST_REQUIRE(actual.has_value() == expected.has_value());
        BOOST_TEST_REQUIRE(peeked_id.has_value() == expected.has_value());
        if (expected) {
          BOOST_TEST_REQUIRE(*peeked_id == expected->id);
          BOOST_TEST_REQUIRE(actual->id == expected->id);
          BOOST_TEST_REQUIRE(actual->deadline_ms == expected->deadline_ms);
          BOOST_TEST_REQUIRE(actual->urgent == expected->urgent);
          BOOST_TEST_REQUIRE(actual->value == expected->value);
          ++pops;
        }
      } else {
        auto expected = model.extract(id);
        auto actual = q.extract(id);
        BOOST_TEST_REQUIRE(actual.has_value() == expected.has_value());
        if (expected) {
          BOOST_TEST_REQUIRE(actual->id == expected->id);
          BOOST_TEST_REQUIRE(actual->deadline_ms == expected->deadline_ms);
          BOOST_TEST_REQUIRE(actual->urgent == expected->urgent);
          BOOST_TEST_REQUIRE(actual->value == expected->value);
          ++extracts;
        } else {
          ++misses;
        }
      }
      BOOST_TEST_REQUIRE(q.size() == model.size());
      BOOST_TEST_REQUIRE(q.empty() == (model.size() == 0));
      BOOST_TEST_REQUIRE(q.contains(id) == model.contains(id));
    }
  }
  // The run exercised every path, not just one of them.
  BOOST_TEST(pushes > 1000u);
  BOOST_TEST(refused > 100u);
  BOOST_TEST(pops > 1000u);
  BOOST_TEST(extracts > 100u);
  BOOST_TEST(misses > 100u);

  // Whatever is left leaves in the same order.
  while (auto expected = model.pop()) {
    auto actual = q.pop();
    BOOST_TEST_REQUIRE(actual.has_value());
    BOOST_TEST_REQUIRE(actual->id == expected->id);
  }
  BOOST_TEST(q.empty());
}

BOOST_AUTO_TEST_SUITE_END()
