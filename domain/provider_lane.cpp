#include "domain/provider_lane.hpp"

#include <algorithm>
#include <cmath>

namespace topup {

provider_lane::provider_lane(lane_settings settings, mono_time now, uint64_t seed)
  : settings_(settings),
    tokens_(settings.rate, settings.burst, now),
    breaker_(settings.breaker_threshold, settings.breaker_open_for),
    random_(seed) {}

bool provider_lane::enqueue(order o, bool urgent) {
  if (holds(o.id))
    return false;
  auto id = o.id;
  auto deadline = o.deadline_ms;
  return queue_.push(std::move(id), deadline, std::move(o), urgent);
}

std::optional<order> provider_lane::release(const std::string& id) {
  if (auto queued = queue_.extract(id))
    return std::move(queued->value);
  auto waiting = retry_index_.find(id);
  if (waiting == retry_index_.end())
    return std::nullopt;
  order o = std::move(waiting->second->second);
  retries_.erase(waiting->second);
  retry_index_.erase(waiting);
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
  return released;
}

void provider_lane::retry_later(order o, mono_time now) {
  auto exponent = std::min(std::max(o.attempts, 1) - 1, 16);
  auto ceiling = std::min<int64_t>(settings_.retry_cap.count(),
                                   settings_.retry_base.count() * (int64_t{1} << exponent));
  // Equal jitter: half fixed, half random, so retries of many orders that failed together
  // spread out instead of hitting the provider again in one burst.
  std::uniform_real_distribution<double> jitter(0.5, 1.0);
  auto delay = milliseconds{static_cast<int64_t>(std::llround(ceiling * jitter(random_)))};
  auto id = o.id;
  auto where = retries_.emplace(now + delay, std::move(o));
  retry_index_[id] = where;
}

void provider_lane::query_later(order o, mono_time at) {
  queries_.emplace(at, std::move(o));
}

void provider_lane::move_due_retries(mono_time now) {
  while (!retries_.empty() && retries_.begin()->first <= now) {
    auto& [due, o] = *retries_.begin();
    retry_index_.erase(o.id);
    auto id = o.id;
    auto deadline = o.deadline_ms;
    queue_.push(std::move(id), deadline, std::move(o), false);
    retries_.erase(retries_.begin());
  }
}

bool provider_lane::can_start(mono_time now) const {
  return in_flight_ < settings_.concurrency && tokens_.wait_time(now) == nanoseconds::zero();
}

provider_lane::work provider_lane::take_work(mono_time now, int64_t now_ms) {
  work next;
  move_due_retries(now);
  while (!queries_.empty() && queries_.begin()->first <= now && can_start(now)) {
    tokens_.try_take(now);
    ++in_flight_;
    next.queries.push_back(std::move(queries_.begin()->second));
    queries_.erase(queries_.begin());
  }
  while (const auto* head = queue_.peek()) {
    if (now_ms + settings_.call_timeout.count() > head->deadline_ms) {
      next.expired.push_back(std::move(queue_.pop()->value));
      continue;
    }
    if (!can_start(now) || !breaker_.allow(now))
      break;
    tokens_.try_take(now);
    ++in_flight_;
    next.calls.push_back(std::move(queue_.pop()->value));
  }
  return next;
}

void provider_lane::call_finished(mono_time now, bool provider_healthy) {
  if (in_flight_ > 0)
    --in_flight_;
  if (provider_healthy)
    breaker_.record_success();
  else
    breaker_.record_failure(now);
}

void provider_lane::slot_unused() {
  if (in_flight_ > 0)
    --in_flight_;
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
  bool has_calls = !queue_.empty();
  if ((has_calls || has_due_query) && in_flight_ < settings_.concurrency) {
    auto ready = now + tokens_.wait_time(now);
    if (has_calls && !has_due_query && breaker_.current(now) == circuit_breaker::state::open)
      ready = std::max(ready, now + settings_.breaker_open_for / 4);
    consider(ready);
  }
  return wakeup;
}

bool provider_lane::holds(const std::string& id) const {
  return queue_.contains(id) || retry_index_.count(id) != 0;
}

bool provider_lane::breaker_open(mono_time now) const {
  return breaker_.current(now) == circuit_breaker::state::open;
}

lane_load provider_lane::load(mono_time now) const {
  return {queue_.size(), in_flight_, retries_.size() + queries_.size(), breaker_.current(now)};
}

} // namespace topup
