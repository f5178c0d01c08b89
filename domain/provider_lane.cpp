#include "domain/provider_lane.hpp"

#include "domain/errors.hpp"

#include <algorithm>
#include <cmath>

namespace topup {

provider_lane::provider_lane(lane_settings settings, mono_time now, uint64_t seed)
  : settings_(settings),
    tokens_(settings.rate, settings.burst, now, settings.tokens_at_start),
    breaker_(settings.breaker_threshold, settings.breaker_open_for),
    random_(seed) {}

int64_t provider_lane::deadline_key(const order& o) {
  return steady_ms(steady_deadline_of(o));
}

mono_time provider_lane::last_chance(int64_t key) const {
  return mono_time{} + milliseconds{key} - settings_.call_timeout;
}

bool provider_lane::enqueue(order o, bool urgent) {
  if (holds(o.id))
    return false;
  auto id = o.id;
  auto key = deadline_key(o);
  return queue_.push(std::move(id), key, std::move(o), urgent);
}

std::optional<order> provider_lane::release(const std::string& id) {
  if (auto queued = queue_.extract(id))
    return std::move(queued->value);
  auto waiting = retry_index_.find(id);
  if (waiting == retry_index_.end())
    return std::nullopt;
  return take_retry(waiting);
}

order provider_lane::take_retry(
  std::unordered_map<std::string, timed_orders::iterator>::iterator indexed) {
  order o = std::move(indexed->second->second);
  auto [first, last] = retry_deadlines_.equal_range(deadline_key(o));
  for (auto it = first; it != last; ++it)
    if (it->second == o.id) {
      retry_deadlines_.erase(it);
      break;
    }
  retries_.erase(indexed->second);
  retry_index_.erase(indexed);
  return o;
}

std::vector<order> provider_lane::release_all() {
  std::vector<order> released;
  while (auto queued = queue_.pop())
    released.push_back(std::move(queued->value));
  for (auto& [due, o] : retries_)
    released.push_back(std::move(o));
  retries_.clear();
  retry_index_.clear();
  retry_deadlines_.clear();
  return released;  // orders waiting for a status query stay: their outcome is unknown
}

void provider_lane::retry_later(order o, mono_time now, milliseconds at_least) {
  if (holds(o.id))
    return;
  // Equal jitter: half fixed, half random, so retries of many orders that failed together
  // spread out instead of hitting the provider again in one burst.
  std::uniform_real_distribution<double> jitter(0.0, 1.0);
  backoff_policy policy{settings_.retry_base, settings_.retry_cap};
  auto failures = static_cast<uint32_t>(std::max(o.attempts, 1));
  auto delay = std::max(policy.delay(failures, jitter(random_)), at_least);
  auto id = o.id;
  retry_deadlines_.emplace(deadline_key(o), id);
  retry_index_[id] = retries_.emplace(now + delay, std::move(o));
}

after_call_action provider_lane::after_call(const order& o, call_answer answer,
                                            std::string detail, mono_time now,
                                            bool another_provider_left) const {
  using step = after_call_action::step;
  switch (answer) {
    case call_answer::recharged: return {step::finish, order_event::succeed, ""};
    case call_answer::refused: return {step::finish, order_event::fail_final, std::move(detail)};
    case call_answer::unknown:
      if (o.status == order_status::unknown)
        return {step::query_again, order_event::query_unanswered, std::move(detail)};
      return {step::query, order_event::lose_outcome, std::move(detail)};
    case call_answer::wrong_carrier:
      if (!another_provider_left)
        return {step::finish, order_event::fail_final,
                failure{errc::wrong_carrier,
                        detail + "; no provider is left that might serve the number"}
                  .describe()};
      break;
    case call_answer::not_recharged: break;
  }
  auto earliest_start = now + settings_.retry_base / 2;
  if (earliest_start + settings_.call_timeout > steady_deadline_of(o))
    return {step::finish, order_event::fail_final, std::string{no_time_to_retry} + ": " + detail};
  if (answer == call_answer::wrong_carrier)
    return {step::move_on, order_event::wrong_carrier, std::move(detail)};
  return {step::retry, order_event::fail_retryable, std::move(detail)};
}

std::optional<order> provider_lane::requeue(order o, mono_time now) {
  if (breaker_open(now))
    return o;
  retry_later(std::move(o), now);
  return std::nullopt;
}

void provider_lane::query_later(order o, mono_time at) {
  auto id = o.id;
  if (auto old = query_index_.find(id); old != query_index_.end()) {
    queries_.erase(old->second);
    query_index_.erase(old);
  }
  query_index_[id] = queries_.emplace(at, std::move(o));
}

size_t provider_lane::query_now(const std::vector<std::string>& ids, mono_time now) {
  size_t moved = 0;
  for (const auto& id : ids) {
    auto waiting = query_index_.find(id);
    if (waiting == query_index_.end() || waiting->second->first <= now)
      continue;
    auto o = std::move(waiting->second->second);
    queries_.erase(waiting->second);
    waiting->second = queries_.emplace(now, std::move(o));
    ++moved;
  }
  return moved;
}

void provider_lane::move_due_retries(mono_time now) {
  while (!retries_.empty() && retries_.begin()->first <= now) {
    auto o = take_retry(retry_index_.find(retries_.begin()->second.id));
    auto id = o.id;
    auto key = deadline_key(o);
    queue_.push(std::move(id), key, std::move(o), false);
  }
}

bool provider_lane::can_start(mono_time now) const {
  return in_flight_ < settings_.concurrency && tokens_.wait_time(now) == nanoseconds::zero();
}

provider_lane::work provider_lane::take_work(mono_time now) {
  work next;
  move_due_retries(now);
  while (!sends_held_ && !queries_.empty() && queries_.begin()->first <= now && can_start(now)) {
    tokens_.try_take(now);
    ++in_flight_;
    auto& o = queries_.begin()->second;
    query_index_.erase(o.id);
    next.queries.push_back(std::move(o));
    queries_.erase(queries_.begin());
  }
  // An order that can no longer time out before its deadline is failed now, wherever it is
  // in the queue or its backoff.
  auto latest_deadline = steady_ms(now) + settings_.call_timeout.count() - 1;
  for (auto& late : queue_.take_due(latest_deadline))
    next.expired.push_back(std::move(late.value));
  while (!retry_deadlines_.empty() && retry_deadlines_.begin()->first <= latest_deadline)
    next.expired.push_back(take_retry(retry_index_.find(retry_deadlines_.begin()->second)));
  while (!calls_stopped_ && !sends_held_ && !queue_.empty() && can_start(now)) {
    bool half_open = breaker_.current(now) == circuit_breaker::state::half_open;
    if (!breaker_.allow(now))
      break;
    probe_out_ = half_open;
    tokens_.try_take(now);
    ++in_flight_;
    next.calls.push_back(std::move(queue_.pop()->value));
  }
  return next;
}

void provider_lane::call_finished(mono_time now, bool provider_healthy) {
  if (in_flight_ > 0)
    --in_flight_;
  probe_out_ = false;
  if (provider_healthy)
    breaker_.record_success();
  else
    breaker_.record_failure(now);
}

void provider_lane::slot_unused() {
  if (in_flight_ > 0)
    --in_flight_;
  if (probe_out_) {
    // A returned slot is taken right after take_work(): if a probe went out, it is this one.
    breaker_.probe_abandoned();
    probe_out_ = false;
  }
}

std::optional<mono_time> provider_lane::next_wakeup(mono_time now) const {
  std::optional<mono_time> wakeup;
  auto consider = [&](mono_time t) {
    if (!wakeup || t < *wakeup)
      wakeup = t;
  };
  if (!retries_.empty())
    consider(retries_.begin()->first);
  bool has_due_query = !queries_.empty() && queries_.begin()->first <= now;
  if (!queries_.empty() && !has_due_query)
    consider(queries_.begin()->first);
  // Just after the last chance to start of the most urgent waiting order, take_work() fails
  // it.
  auto chance_ends = [&](int64_t key) { consider(last_chance(key) + milliseconds{1}); };
  if (auto head = queue_.peek())
    chance_ends(head->deadline_ms);
  if (!retry_deadlines_.empty())
    chance_ends(retry_deadlines_.begin()->first);
  bool slot_free = in_flight_ < settings_.concurrency && !sends_held_;
  auto breaker = breaker_.current(now);
  if (slot_free && has_due_query)
    consider(now + tokens_.wait_time(now));
  if (slot_free && !queue_.empty() && !calls_stopped_) {
    if (breaker == circuit_breaker::state::open)
      consider(breaker_.reopens_at());
    else if (breaker_.would_allow(now))
      consider(now + tokens_.wait_time(now));
    // half-open with the probe out: its result (call_finished) decides what comes next
  }
  return wakeup;
}

bool provider_lane::holds(const std::string& id) const {
  return queue_.contains(id) || retry_index_.count(id) != 0 || query_index_.count(id) != 0;
}

bool provider_lane::breaker_open(mono_time now) const {
  return breaker_.current(now) == circuit_breaker::state::open;
}

lane_load provider_lane::load(mono_time now) const {
  return {queue_.size(), in_flight_, retries_.size() + queries_.size(), breaker_.current(now),
          static_cast<size_t>(std::max(tokens_.available(now), 0L))};
}

} // namespace topup
