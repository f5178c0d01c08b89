#include "apps/bench/progress_line.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace topup::bench {

std::string render_progress_line(const progress_sample& s, size_t bar_width) {
  auto fraction =
    s.total > 0 ? static_cast<double>(std::min(s.done, s.total)) / static_cast<double>(s.total)
                : 0.0;
  auto filled = static_cast<size_t>(fraction * static_cast<double>(bar_width));
  return fmt::format("[{}{}] {:3}% {} {:.1f}s  {:.0f}/s  offered {}  acc {}  done {}  in flight {}",
                     std::string(filled, '#'), std::string(bar_width - filled, '-'),
                     static_cast<int>(fraction * 100.0), s.phase, s.elapsed_s, s.rate, s.offered,
                     s.accepted, s.done, s.in_flight);
}

bool progress_throttle::due(clock::time_point now) {
  if (drawn_ && now - last_ < interval_)
    return false;
  drawn_ = true;
  last_ = now;
  return true;
}

} // namespace topup::bench
