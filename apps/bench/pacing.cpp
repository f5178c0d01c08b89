#include "apps/bench/pacing.hpp"

#include <algorithm>
#include <cmath>

namespace topup::bench {

double seconds_between(steady_time from, steady_time to) {
  return std::chrono::duration<double>(to - from).count();
}

int64_t wall_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

uint64_t open_loop_schedule::due_by(double elapsed_s) const {
  if (elapsed_s < 0 || total_ == 0)
    return 0;
  auto due = std::floor(elapsed_s * rate_) + 1;
  return due >= static_cast<double>(total_) ? total_ : static_cast<uint64_t>(due);
}

uint64_t closed_loop_quota(uint64_t limit, uint64_t outstanding, uint64_t batch,
                           uint64_t remaining) {
  if (outstanding >= limit)
    return 0;
  return std::min({limit - outstanding, batch, remaining});
}

submission_book::submission_book(uint64_t total, steady_time start)
  : total_(total), start_(start), last_wait_(total, std::chrono::milliseconds{0}),
    first_offered_(total), acked_(total, false) {}

uint64_t submission_book::offer(uint64_t count, steady_time now) {
  if (giving_up_)
    return 0;
  count = std::min(count, total_ - offered_);
  for (uint64_t i = 0; i < count; ++i) {
    first_offered_[offered_] = now;
    queue_.push_back(offered_++);
  }
  return count;
}

submission_book::batch submission_book::take(uint64_t max_orders) {
  batch next;
  auto count = std::min<uint64_t>(max_orders, queue_.size());
  if (count == 0)
    return next;
  next.id = next_batch_++;
  next.orders.assign(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(count));
  queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(count));
  in_flight_orders_ += count;
  in_flight_.emplace(next.id, next.orders);
  return next;
}

void submission_book::requeue(const std::vector<uint64_t>& orders) {
  if (giving_up_) {
    given_up_ += orders.size();
    return;
  }
  // Retries go first: they are the oldest offers.
  queue_.insert(queue_.begin(), orders.begin(), orders.end());
  retries_ += orders.size();
}

void submission_book::release_due(steady_time now) {
  std::vector<uint64_t> due;
  while (!delayed_.empty() && delayed_.begin()->first <= now) {
    due.push_back(delayed_.begin()->second);
    delayed_.erase(delayed_.begin());
  }
  if (!due.empty())
    requeue(due);
}

void submission_book::give_up() {
  if (giving_up_)
    return;
  giving_up_ = true;
  given_up_ += queue_.size() + delayed_.size();
  queue_.clear();
  delayed_.clear();
}

bool submission_book::answered(uint64_t id, const std::vector<answer>& answers,
                               steady_time now) {
  return answered(id, answers, {}, now);
}

bool submission_book::answered(uint64_t id, const std::vector<answer>& answers,
                               const std::vector<std::chrono::milliseconds>& retry_after,
                               steady_time now) {
  auto found = in_flight_.find(id);
  if (found == in_flight_.end())
    return false;
  auto orders = std::move(found->second);
  in_flight_.erase(found);
  in_flight_orders_ -= orders.size();
  std::vector<uint64_t> again;
  for (size_t i = 0; i < orders.size(); ++i) {
    auto n = orders[i];
    // A short answer leaves the rest unanswered: they are offered again.
    auto what = i < answers.size() ? answers[i] : answer::retry;
    if (acked_[n])
      continue;
    switch (what) {
      case answer::acknowledged:
        acked_[n] = true;
        ++acknowledged_;
        ack_latency_.record(now - first_offered_[n]);
        last_ack_ = std::max(last_ack_, now - start_);
        break;
      case answer::retry: {
        auto hint = i < retry_after.size() ? retry_after[i] : std::chrono::milliseconds{0};
        if (hint <= std::chrono::milliseconds{0} || giving_up_) {
          again.push_back(n);
          break;
        }
        auto wait = std::min(std::max(hint, 2 * last_wait_[n]), max_retry_wait);
        last_wait_[n] = wait;
        delayed_.emplace(now + wait, n);
        break;
      }
      case answer::refused: ++refused_; break;
    }
  }
  requeue(again);
  return true;
}

bool submission_book::unanswered(uint64_t id) {
  auto found = in_flight_.find(id);
  if (found == in_flight_.end())
    return false;
  in_flight_orders_ -= found->second.size();
  requeue(found->second);
  in_flight_.erase(found);
  return true;
}

void submission_book::disconnected() {
  // Oldest batch first, so the queue keeps the order of the first offers.
  std::vector<uint64_t> orders;
  for (auto& [id, batch_orders] : in_flight_)
    orders.insert(orders.end(), batch_orders.begin(), batch_orders.end());
  in_flight_.clear();
  in_flight_orders_ = 0;
  requeue(orders);
}

} // namespace topup::bench
