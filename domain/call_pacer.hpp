#pragma once

// The provider's rate limit as the provider sees it. The lane takes a token when it
// schedules a call, but the call leaves only once its write-ahead is durable, and a group
// commit can hold the calls of a few hundred milliseconds and release them at once (a
// busy store right after a restart): the provider would see them clumped above its limit.
// The pacer lets calls (and status queries) leave in order, no faster than the same limit.
// Tests can make it hold every call for a fixed time after it is queued: a window between
// the write-ahead and the send that a test can aim at (a process paused right there).

#include "domain/token_bucket.hpp"

#include <algorithm>
#include <deque>
#include <optional>
#include <vector>

namespace topup {

template <class Call>
class call_pacer {
public:
  /// `hold`: how long each call waits at least after it is queued (zero but in tests).
  call_pacer(double rate, double burst, mono_time now, token_bucket::start fill,
             nanoseconds hold = nanoseconds::zero())
    : tokens_(rate, burst, now, fill), hold_(hold) {}

  /// Queues a call to leave after those queued before it.
  void push(Call call, mono_time now) { waiting_.push_back({std::move(call), now + hold_}); }

  /// The calls that may leave at `now`, in the order pushed.
  std::vector<Call> take_due(mono_time now) {
    std::vector<Call> due;
    while (!waiting_.empty() && waiting_.front().held_until <= now && tokens_.try_take(now)) {
      due.push_back(std::move(waiting_.front().call));
      waiting_.pop_front();
    }
    return due;
  }

  /// When the next queued call may leave; nothing when none is queued.
  std::optional<mono_time> next_due(mono_time now) const {
    if (waiting_.empty())
      return std::nullopt;
    auto at = now + tokens_.wait_time(now);
    return std::max(at, waiting_.front().held_until);
  }

  size_t waiting() const { return waiting_.size(); }

private:
  struct queued {
    Call call;
    mono_time held_until;  ///< every call is held alike, so the front is due first
  };

  token_bucket tokens_;
  nanoseconds hold_;
  std::deque<queued> waiting_;
};

} // namespace topup
