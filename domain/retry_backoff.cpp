#include "domain/retry_backoff.hpp"

#include <algorithm>
#include <cmath>

namespace topup {

milliseconds backoff_policy::delay(uint32_t failures, double jitter) const {
  // 2^30 times any base in milliseconds is beyond every sensible cap: stop doubling there.
  auto exponent = std::min<uint32_t>(std::max<uint32_t>(failures, 1) - 1, 30);
  auto base_ms = std::max<int64_t>(base.count(), 0);
  auto cap_ms = std::max<int64_t>(cap.count(), 0);
  auto ceiling = base_ms > (cap_ms >> exponent) ? cap_ms : base_ms << exponent;
  auto share = 0.5 + 0.5 * std::clamp(jitter, 0.0, 1.0);
  return milliseconds{static_cast<int64_t>(std::llround(static_cast<double>(ceiling) * share))};
}

milliseconds retry_backoff::failed(mono_time now, double jitter) {
  if (failures_ < UINT32_MAX)
    ++failures_;
  auto wait = policy_.delay(failures_, jitter);
  next_try_ = now + wait;
  return wait;
}

} // namespace topup
