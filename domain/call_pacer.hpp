#pragma once

// The provider's rate limit as the provider sees it. The lane takes a token when it
// schedules a call, but the call leaves only once its write-ahead is durable, and a group
// commit can hold the calls of a few hundred milliseconds and release them at once (a
// busy store right after a restart): the provider would see them clumped above its limit.
// The pacer lets calls (and status queries) leave in order, no faster than the same limit.

#include "domain/token_bucket.hpp"

#include <deque>
#include <optional>
#include <vector>

namespace topup {

template <class Call>
class call_pacer {
public:
  call_pacer(double rate, double burst, mono_time now, token_bucket::start fill)
    : tokens_(rate, burst, now, fill) {}

  /// Queues a call to leave after those queued before it.
  void push(Call call) { waiting_.push_back(std::move(call)); }

  /// The calls that may leave at `now`, in the order pushed.
  std::vector<Call> take_due(mono_time now) {
    std::vector<Call> due;
    while (!waiting_.empty() && tokens_.try_take(now)) {
      due.push_back(std::move(waiting_.front()));
      waiting_.pop_front();
    }
    return due;
  }

  /// When the next queued call may leave; nothing when none is queued.
  std::optional<mono_time> next_due(mono_time now) const {
    if (waiting_.empty())
      return std::nullopt;
    return now + tokens_.wait_time(now);
  }

  size_t waiting() const { return waiting_.size(); }

private:
  token_bucket tokens_;
  std::deque<Call> waiting_;
};

} // namespace topup
