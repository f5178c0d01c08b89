#pragma once

// The calls (and status queries) a lane awaits an answer to, each with the moment it counts
// as unanswered. A CAF request with a timeout costs two events on the actor system's one
// clock thread (set, then cancel), which at thousands of calls per second was a tenth of the
// node's CPU. The lane instead watches its calls here and looks for overdue ones whenever it
// wakes up, with the one timer it keeps anyway for its pacer and retries.
//
// An answer that comes after its call was given up finds nothing here and is ignored: the
// lane has already treated the outcome as unknown and will ask the provider.

#include "domain/clock.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <utility>
#include <vector>

namespace topup {

template <class Call>
class call_watch {
public:
  using ticket = uint64_t;

  /// Watches `call` until it is answered or `due` passes; the ticket names it in the answer.
  ticket watch(Call call, mono_time due) {
    auto id = ++last_ticket_;
    calls_.emplace(id, watched{std::move(call), due});
    by_due_.emplace(due, id);
    return id;
  }

  /// The call `id` was answered: it is returned and no longer watched. Nothing when it was
  /// given up already (taken by take_overdue) or never watched.
  std::optional<Call> answered(ticket id) {
    auto found = calls_.find(id);
    if (found == calls_.end())
      return std::nullopt;
    auto call = std::move(found->second.call);
    by_due_.erase({found->second.due, id});
    calls_.erase(found);
    return call;
  }

  /// The calls due by `now`, earliest first; none of them is watched any more.
  std::vector<Call> take_overdue(mono_time now) {
    std::vector<Call> overdue;
    while (!by_due_.empty() && by_due_.begin()->first <= now) {
      auto id = by_due_.begin()->second;
      by_due_.erase(by_due_.begin());
      auto found = calls_.find(id);
      overdue.push_back(std::move(found->second.call));
      calls_.erase(found);
    }
    return overdue;
  }

  /// When the earliest watched call becomes overdue, if any is watched.
  std::optional<mono_time> next_due() const {
    if (by_due_.empty())
      return std::nullopt;
    return by_due_.begin()->first;
  }

  size_t size() const { return calls_.size(); }

private:
  struct watched {
    Call call;
    mono_time due;
  };

  ticket last_ticket_ = 0;
  std::map<ticket, watched> calls_;
  std::set<std::pair<mono_time, ticket>> by_due_;
};

} // namespace topup
