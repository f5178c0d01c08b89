#include "domain/throughput_history.hpp"

#include <algorithm>

namespace topup {
namespace {

uint64_t grown(uint64_t now, uint64_t before) {
  return now >= before ? now - before : now;
}

void add(throughput_counts& sum, const throughput_counts& x) {
  sum.accepted += x.accepted;
  sum.finished += x.finished;
  sum.within_deadline += x.within_deadline;
}

int64_t index_of(int64_t second, size_t size) {
  auto n = static_cast<int64_t>(size);
  return ((second % n) + n) % n;
}

} // namespace

throughput_history::throughput_history(int64_t window_s)
  : slots_(static_cast<size_t>(std::max<int64_t>(window_s, 1))) {}

void throughput_history::record(int64_t now_s, const throughput_counts& totals) {
  auto base = last_;
  last_ = totals;
  now_s = std::max(now_s, latest_s_);
  latest_s_ = now_s;
  auto& at = slots_[static_cast<size_t>(index_of(now_s, slots_.size()))];
  if (at.second != now_s)
    at = {now_s, {}};
  add(at.counts, {grown(totals.accepted, base.accepted), grown(totals.finished, base.finished),
                  grown(totals.within_deadline, base.within_deadline)});
}

const throughput_history::slot* throughput_history::slot_of(int64_t second) const {
  const auto& at = slots_[static_cast<size_t>(index_of(second, slots_.size()))];
  return at.second == second ? &at : nullptr;
}

std::vector<throughput_point> throughput_history::points(int64_t now_s, int64_t width_s) const {
  width_s = std::clamp<int64_t>(width_s, 1, window_s());
  auto count = window_s() / width_s;
  std::vector<throughput_point> result;
  result.reserve(static_cast<size_t>(count));
  auto first = now_s - count * width_s + 1;
  for (int64_t p = 0; p < count; ++p) {
    throughput_point point{first + p * width_s, {}};
    for (int64_t s = point.start_s; s < point.start_s + width_s; ++s)
      if (auto at = slot_of(s))
        add(point.counts, at->counts);
    result.push_back(point);
  }
  return result;
}

throughput_counts throughput_history::sum(int64_t now_s, int64_t seconds) const {
  throughput_counts total;
  seconds = std::clamp<int64_t>(seconds, 0, window_s());
  for (int64_t s = now_s - seconds + 1; s <= now_s; ++s)
    if (auto at = slot_of(s))
      add(total, at->counts);
  return total;
}

} // namespace topup
