#include "domain/deadline_schedule.hpp"

#include <algorithm>

namespace topup {

deadline_schedule::deadline_schedule(std::vector<int64_t> resend_before_deadline_ms)
  : resend_before_deadline_ms_(std::move(resend_before_deadline_ms)) {
  // Earliest re-send first: the largest distance from the deadline.
  std::sort(resend_before_deadline_ms_.begin(), resend_before_deadline_ms_.end(),
            std::greater<>());
}

int64_t deadline_schedule::due_at(int64_t deadline_ms, uint32_t stage) const {
  if (stage < resend_before_deadline_ms_.size())
    return deadline_ms - resend_before_deadline_ms_[stage];
  return deadline_ms;
}

void deadline_schedule::push(entry e) {
  heap_.push_back(std::move(e));
  std::push_heap(heap_.begin(), heap_.end(), later);
}

void deadline_schedule::track(std::string order_id, int64_t deadline_ms, int64_t now_ms) {
  uint32_t stage = 0;
  auto last = static_cast<uint32_t>(resend_before_deadline_ms_.size());
  while (stage < last && due_at(deadline_ms, stage) < now_ms)
    ++stage;
  push({due_at(deadline_ms, stage), deadline_ms, stage, std::move(order_id)});
}

deadline_schedule::due_reminders deadline_schedule::take_due(int64_t now_ms) {
  due_reminders due;
  auto last = static_cast<uint32_t>(resend_before_deadline_ms_.size());
  while (!heap_.empty() && heap_.front().due_ms <= now_ms) {
    std::pop_heap(heap_.begin(), heap_.end(), later);
    entry e = std::move(heap_.back());
    heap_.pop_back();
    if (e.stage == last) {
      due.expire.push_back(std::move(e.order_id));
      continue;
    }
    due.resend.push_back(e.order_id);
    // Skip further re-send points that are already past too (a late tick).
    uint32_t next = e.stage + 1;
    while (next < last && due_at(e.deadline_ms, next) <= now_ms)
      ++next;
    e.stage = next;
    e.due_ms = due_at(e.deadline_ms, next);
    push(std::move(e));
  }
  return due;
}

std::optional<int64_t> deadline_schedule::next_due_ms() const {
  if (heap_.empty())
    return std::nullopt;
  return heap_.front().due_ms;
}

} // namespace topup
