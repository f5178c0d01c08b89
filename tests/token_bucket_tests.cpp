#include <boost/test/unit_test.hpp>

#include "tests/time_support.hpp"

#include "domain/clock.hpp"
#include "domain/call_pacer.hpp"
#include "domain/token_bucket.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <stdexcept>
#include <vector>

using namespace topup;
using topup::testing::at_ms;
using topup::testing::t0;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;

namespace {

/// Takes tokens at `now` until refused; returns how many were granted.
int drain(token_bucket& bucket, mono_time now) {
  int taken = 0;
  while (bucket.try_take(now)) {
    ++taken;
    BOOST_TEST_REQUIRE(taken <= 1'000'000, "bucket never ran dry");
  }
  return taken;
}

/// The most admissions (times in ms, ascending) in any window [t, t + 1000 ms), sliding the
/// window from every admission.
size_t most_in_one_second(const std::vector<int64_t>& admitted_ms) {
  size_t worst = 0;
  size_t end = 0;
  for (size_t begin = 0; begin < admitted_ms.size(); ++begin) {
    while (end < admitted_ms.size() && admitted_ms[end] < admitted_ms[begin] + 1000)
      ++end;
    worst = std::max(worst, end - begin);
  }
  return worst;
}

/// Takes every token `bucket` grants in [from_ms, to_ms), polling each millisecond.
void take_greedily(token_bucket& bucket, int64_t from_ms, int64_t to_ms,
                   std::vector<int64_t>& admitted_ms) {
  for (int64_t ms = from_ms; ms < to_ms; ++ms)
    while (bucket.try_take(at_ms(ms)))
      admitted_ms.push_back(ms);
}

} // namespace

BOOST_AUTO_TEST_SUITE(token_bucket_suite)

BOOST_AUTO_TEST_CASE(starts_empty_with_the_first_token_one_interval_later) {
  token_bucket bucket{10, 5, t0, token_bucket::start::empty};
  BOOST_TEST(bucket.available(t0) == 0);
  BOOST_TEST(!bucket.try_take(t0));
  BOOST_TEST(bucket.wait_time(t0).count() == 100'000'000);
  BOOST_TEST(!bucket.try_take(at_ms(99)));
  BOOST_TEST(bucket.try_take(at_ms(100)));
  BOOST_TEST(!bucket.try_take(at_ms(100)));
  // Idle long enough, it holds the whole burst like any other.
  BOOST_TEST(bucket.available(at_ms(10'000)) == 5);
}

// A provider's lane moving to another node (or restarting) mid-load: the old limiter spent
// its burst and then its rate; the new one takes everything it is granted from then on.
BOOST_AUTO_TEST_CASE(a_limiter_taking_over_empty_keeps_rate_plus_burst_across_the_handover) {
  const double rate = 300;
  const double burst = 15;
  auto handover = [&](token_bucket::start fill) {
    std::vector<int64_t> admitted_ms;
    token_bucket previous{rate, burst, t0};
    take_greedily(previous, 0, 400, admitted_ms);
    token_bucket next{rate, burst, at_ms(400), fill};
    take_greedily(next, 400, 3000, admitted_ms);
    return most_in_one_second(admitted_ms);
  };
  BOOST_TEST(static_cast<double>(handover(token_bucket::start::empty)) <= rate + burst);
  // Starting full, the second burst lands in the same second as the first.
  BOOST_TEST(static_cast<double>(handover(token_bucket::start::full)) > rate + burst);
}

BOOST_AUTO_TEST_CASE(starts_full_with_exactly_burst_tokens) {
  token_bucket bucket{10, 5, t0};
  BOOST_TEST(bucket.rate() == 10.0);
  BOOST_TEST(bucket.burst() == 5.0);
  BOOST_TEST(bucket.available(t0) == 5);
  BOOST_TEST(bucket.wait_time(t0).count() == 0);
  for (int i = 0; i < 5; ++i)
    BOOST_TEST(bucket.try_take(t0), "token " << i << " refused");
  BOOST_TEST(!bucket.try_take(t0));
  BOOST_TEST(bucket.available(t0) == 0);
}

BOOST_AUTO_TEST_CASE(available_counts_down_as_tokens_are_taken) {
  token_bucket bucket{100, 4, t0};
  for (long left = 4; left > 0; --left) {
    BOOST_TEST(bucket.available(t0) == left);
    BOOST_TEST(bucket.try_take(t0));
  }
  BOOST_TEST(bucket.available(t0) == 0);
}

BOOST_AUTO_TEST_CASE(burst_of_one_allows_one_call_at_a_time) {
  token_bucket bucket{1, 1, t0};
  BOOST_TEST(bucket.try_take(t0));
  BOOST_TEST(!bucket.try_take(t0));
  BOOST_TEST(!bucket.try_take(at_ms(999)));
  BOOST_TEST(bucket.try_take(at_ms(1000)));
  BOOST_TEST(!bucket.try_take(at_ms(1000)));
}

BOOST_AUTO_TEST_CASE(fractional_burst_rounds_down) {
  token_bucket bucket{10, 2.9, t0};
  BOOST_TEST(drain(bucket, t0) == 2);
}

BOOST_AUTO_TEST_CASE(refills_one_token_per_interval_exactly) {
  token_bucket bucket{10, 3, t0};
  BOOST_TEST(drain(bucket, t0) == 3);
  BOOST_TEST(!bucket.try_take(at_ms(99)));
  BOOST_TEST(bucket.available(at_ms(99)) == 0);
  BOOST_TEST(bucket.available(at_ms(100)) == 1);
  BOOST_TEST(bucket.try_take(at_ms(100)));
  BOOST_TEST(!bucket.try_take(at_ms(100)));
  BOOST_TEST(!bucket.try_take(at_ms(199)));
  BOOST_TEST(bucket.try_take(at_ms(200)));
  // A refused attempt costs nothing: the next token still comes at 300 ms.
  BOOST_TEST(!bucket.try_take(at_ms(250)));
  BOOST_TEST(bucket.try_take(at_ms(300)));
}

BOOST_AUTO_TEST_CASE(refills_gradually_up_to_burst) {
  token_bucket bucket{10, 3, t0};
  BOOST_TEST(drain(bucket, t0) == 3);
  BOOST_TEST(bucket.available(at_ms(150)) == 1);
  BOOST_TEST(bucket.available(at_ms(250)) == 2);
  BOOST_TEST(bucket.available(at_ms(300)) == 3);
  BOOST_TEST(bucket.available(at_ms(400)) == 3);
  BOOST_TEST(drain(bucket, at_ms(250)) == 2);
}

BOOST_AUTO_TEST_CASE(wait_time_is_exact) {
  token_bucket bucket{10, 2, t0};
  BOOST_TEST(bucket.wait_time(t0).count() == 0);
  BOOST_TEST(bucket.try_take(t0));
  BOOST_TEST(bucket.wait_time(t0).count() == 0);
  BOOST_TEST(bucket.try_take(t0));
  BOOST_TEST(bucket.wait_time(t0).count() == 100'000'000);
  BOOST_TEST(bucket.wait_time(at_ms(1)).count() == 99'000'000);
  BOOST_TEST(bucket.wait_time(at_ms(40)).count() == 60'000'000);
  BOOST_TEST(bucket.wait_time(at_ms(99)).count() == 1'000'000);
  BOOST_TEST(bucket.wait_time(at_ms(100)).count() == 0);
  BOOST_TEST(bucket.wait_time(at_ms(5000)).count() == 0);
}

BOOST_AUTO_TEST_CASE(waiting_the_wait_time_always_yields_a_token) {
  token_bucket bucket{7, 1, t0};
  auto now = t0;
  for (int i = 0; i < 50; ++i) {
    auto wait = bucket.wait_time(now);
    if (wait.count() > 0) {
      BOOST_TEST(!bucket.try_take(now));
      BOOST_TEST(!bucket.try_take(now + wait - nanoseconds{1}));
      now += wait;
    }
    BOOST_TEST_REQUIRE(bucket.try_take(now), "no token after waiting, step " << i);
  }
  // 50 calls at 7/s with a burst of 1: the last one is 49 intervals after the first.
  auto interval = nanoseconds{static_cast<int64_t>(std::ceil(1e9 / 7))};
  BOOST_TEST((now - t0).count() == (49 * interval).count());
}

BOOST_AUTO_TEST_CASE(wait_time_with_non_integral_interval_rounds_up) {
  // 3 calls per second: 333,333,334 ns per token (rounded up, never looser).
  token_bucket bucket{3, 1, t0};
  BOOST_TEST(bucket.try_take(t0));
  BOOST_TEST(bucket.wait_time(t0).count() == 333'333'334);
}

BOOST_AUTO_TEST_CASE(available_never_exceeds_burst_after_long_idle) {
  token_bucket bucket{300, 30, t0};
  BOOST_TEST(drain(bucket, t0) == 30);
  for (auto idle : {milliseconds(100), milliseconds(10'000), milliseconds(3'600'000),
                    milliseconds(86'400'000LL * 365)}) {
    BOOST_TEST(bucket.available(t0 + idle) <= 30);
  }
  auto later = t0 + milliseconds(86'400'000LL * 365);
  BOOST_TEST(bucket.available(later) == 30);
  BOOST_TEST(drain(bucket, later) == 30);
}

BOOST_AUTO_TEST_CASE(constructor_rejects_impossible_parameters) {
  BOOST_CHECK_THROW(token_bucket(0, 1, t0), std::invalid_argument);
  BOOST_CHECK_THROW(token_bucket(-5, 1, t0), std::invalid_argument);
  BOOST_CHECK_THROW(token_bucket(std::nan(""), 1, t0), std::invalid_argument);
  BOOST_CHECK_THROW(token_bucket(10, 0, t0), std::invalid_argument);
  BOOST_CHECK_THROW(token_bucket(10, 0.5, t0), std::invalid_argument);
  BOOST_CHECK_THROW(token_bucket(10, -1, t0), std::invalid_argument);
  BOOST_CHECK_THROW(token_bucket(10, std::nan(""), t0), std::invalid_argument);
  BOOST_CHECK_NO_THROW(token_bucket(0.5, 1, t0));
  BOOST_CHECK_NO_THROW(token_bucket(10, 1, t0));
}

BOOST_AUTO_TEST_CASE(slow_rate_below_one_per_second) {
  token_bucket bucket{0.5, 1, t0};
  BOOST_TEST(bucket.try_take(t0));
  BOOST_TEST(!bucket.try_take(at_ms(1999)));
  BOOST_TEST(bucket.wait_time(at_ms(1000)).count() == 1'000'000'000);
  BOOST_TEST(bucket.try_take(at_ms(2000)));
}

BOOST_AUTO_TEST_CASE(no_one_second_window_admits_more_than_rate_plus_burst) {
  struct params {
    double rate;
    double burst;
  };
  for (const auto& p : {params{300, 30}, params{200, 20}, params{7, 1}, params{1000, 1},
                        params{50, 50}}) {
    const double rate = p.rate;
    const double burst = p.burst;
    BOOST_TEST_CONTEXT("rate " << rate << ", burst " << burst) {
      token_bucket bucket{rate, burst, t0};
      std::vector<int64_t> admitted_ms;
      for (int64_t ms = 0; ms < 10'000; ++ms)
        if (bucket.try_take(at_ms(ms)))
          admitted_ms.push_back(ms);

      BOOST_TEST(static_cast<double>(most_in_one_second(admitted_ms)) <= rate + burst);

      auto expected = rate * 10 + burst;
      auto total = static_cast<double>(admitted_ms.size());
      BOOST_TEST(total <= expected);
      BOOST_TEST(std::abs(total - expected) <= 1.0,
                 "admitted " << total << ", expected about " << expected);
    }
  }
}

BOOST_AUTO_TEST_CASE(any_span_admits_at_most_burst_plus_rate_times_its_length) {
  // The contract in token_bucket.hpp, checked for every pair of admissions less than a second
  // apart: tighter than the one-second window above, it catches a single extra token.
  struct params {
    double rate;
    double burst;
  };
  for (const auto& p : {params{300, 30}, params{200, 20}, params{7, 1}, params{1000, 1},
                        params{3, 2.5}}) {
    BOOST_TEST_CONTEXT("rate " << p.rate << ", burst " << p.burst) {
      token_bucket bucket{p.rate, p.burst, t0};
      std::vector<int64_t> admitted_ms;
      for (int64_t ms = 0; ms < 5'000; ++ms)
        if (bucket.try_take(at_ms(ms)))
          admitted_ms.push_back(ms);
      BOOST_TEST_REQUIRE(!admitted_ms.empty());
      size_t violations = 0;
      for (size_t i = 0; i < admitted_ms.size(); ++i) {
        for (size_t j = i; j < admitted_ms.size() && admitted_ms[j] - admitted_ms[i] < 1000; ++j) {
          auto count = static_cast<double>(j - i + 1);
          auto span_s = static_cast<double>(admitted_ms[j] - admitted_ms[i]) / 1000;
          if (count > std::floor(p.burst) + p.rate * span_s + 1e-9)
            ++violations;
        }
      }
      BOOST_TEST(violations == 0u);
    }
  }
}

BOOST_AUTO_TEST_CASE(many_calls_at_one_instant_get_only_the_burst) {
  token_bucket bucket{200, 20, t0};
  int granted = 0;
  for (int i = 0; i < 10'000; ++i)
    granted += bucket.try_take(at_ms(500)) ? 1 : 0;
  BOOST_TEST(granted == 20);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(call_pacer_suite)

// Calls scheduled evenly at the limit but released in clumps (each group commit of their
// write-ahead lets 90 ms of them go at once, at irregular moments): sent straight on, the
// provider sees the clumps; through the pacer, rate plus burst at most, in order.
BOOST_AUTO_TEST_CASE(clumped_calls_leave_no_faster_than_the_limit_and_in_order) {
  const double rate = 300;
  const double burst = 15;
  call_pacer<int> pacer{rate, burst, t0, token_bucket::start::empty};
  std::vector<int64_t> unpaced_ms, paced_ms;
  std::vector<int> sent;
  int next_call = 0;
  // Commits end at these moments, each releasing the calls scheduled since the previous one
  // (300 per second: 3 per 10 ms).
  std::vector<int64_t> commits_ms;
  for (int64_t ms = 0; ms < 3000; ms += 90)
    commits_ms.push_back(ms + (ms / 90 % 3) * 40);
  size_t commit = 0;
  for (int64_t ms = 0; ms < 6000; ++ms) {
    if (commit < commits_ms.size() && commits_ms[commit] == ms) {
      for (int k = 0; k < 27; ++k) {
        unpaced_ms.push_back(ms);
        pacer.push(next_call++, at_ms(ms));
      }
      ++commit;
    }
    for (int call : pacer.take_due(at_ms(ms))) {
      paced_ms.push_back(ms);
      sent.push_back(call);
    }
  }
  BOOST_TEST(static_cast<double>(most_in_one_second(unpaced_ms)) > rate + burst);
  BOOST_TEST(static_cast<double>(most_in_one_second(paced_ms)) <= rate + burst);
  BOOST_TEST_REQUIRE(sent.size() == static_cast<size_t>(next_call));
  for (size_t i = 0; i < sent.size(); ++i)
    BOOST_TEST_REQUIRE(sent[i] == static_cast<int>(i));
  BOOST_TEST(pacer.waiting() == 0u);
}

BOOST_AUTO_TEST_CASE(next_due_says_when_the_next_queued_call_may_leave) {
  call_pacer<int> pacer{10, 1, t0, token_bucket::start::full};
  BOOST_TEST(!pacer.next_due(t0).has_value());
  pacer.push(1, t0);
  pacer.push(2, t0);
  BOOST_TEST((pacer.next_due(t0) == t0));
  BOOST_TEST((pacer.take_due(t0) == std::vector<int>{1}));
  BOOST_TEST((pacer.next_due(t0) == at_ms(100)));
  BOOST_TEST(pacer.take_due(at_ms(99)).empty());
  BOOST_TEST((pacer.take_due(at_ms(100)) == std::vector<int>{2}));
  BOOST_TEST(!pacer.next_due(at_ms(100)).has_value());
}

// Tests open a window between a call's write-ahead and its send: each call waits the hold
// after it is queued, tokens or not, and the calls still leave in order.
BOOST_AUTO_TEST_CASE(a_held_call_leaves_once_its_hold_has_passed) {
  call_pacer<int> pacer{1000, 10, t0, token_bucket::start::full, milliseconds(500)};
  pacer.push(1, t0);
  pacer.push(2, at_ms(100));
  BOOST_TEST((pacer.next_due(t0) == at_ms(500)));
  BOOST_TEST(pacer.take_due(at_ms(499)).empty());
  BOOST_TEST((pacer.take_due(at_ms(500)) == std::vector<int>{1}));
  BOOST_TEST((pacer.next_due(at_ms(500)) == at_ms(600)));
  BOOST_TEST(pacer.take_due(at_ms(599)).empty());
  BOOST_TEST((pacer.take_due(at_ms(600)) == std::vector<int>{2}));
  BOOST_TEST(pacer.waiting() == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
