#include "apps/provider_sim/rate_window.hpp"

#include <algorithm>

namespace topup::provider_sim {

uint64_t rate_window::record(mono_time now) {
  // Half-open [now - width, now]: an arrival exactly one width ago has left the window, so
  // a client that sends `rate` calls per second on a fixed grid counts `rate`, not rate + 1.
  while (!arrivals_.empty() && now - arrivals_.front() >= width_)
    arrivals_.pop_front();
  arrivals_.push_back(now);
  max_ = std::max<uint64_t>(max_, arrivals_.size());
  return arrivals_.size();
}

} // namespace topup::provider_sim
