#include "domain/token_bucket.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace topup {

token_bucket::token_bucket(double rate_per_second, double burst, mono_time now, start fill)
  : rate_(rate_per_second), burst_(burst), theoretical_arrival_(now) {
  if (!(rate_per_second > 0))
    throw std::invalid_argument("token_bucket: rate must be > 0");
  if (!(burst >= 1))
    throw std::invalid_argument("token_bucket: burst must be >= 1");
  interval_ = nanoseconds{static_cast<int64_t>(std::ceil(1e9 / rate_per_second))};
  tolerance_ = interval_ * static_cast<int64_t>(std::floor(burst));
  if (fill == start::empty)
    theoretical_arrival_ = now + tolerance_;
}

bool token_bucket::try_take(mono_time now) {
  auto next = std::max(theoretical_arrival_, now) + interval_;
  if (next - now > tolerance_)
    return false;
  theoretical_arrival_ = next;
  return true;
}

nanoseconds token_bucket::wait_time(mono_time now) const {
  auto next = std::max(theoretical_arrival_, now) + interval_;
  auto excess = (next - now) - tolerance_;
  return excess > nanoseconds::zero() ? std::chrono::duration_cast<nanoseconds>(excess)
                                      : nanoseconds::zero();
}

long token_bucket::available(mono_time now) const {
  auto backlog = std::max(theoretical_arrival_, now) - now;
  auto free_time = tolerance_ - std::chrono::duration_cast<nanoseconds>(backlog);
  return static_cast<long>(free_time.count() / interval_.count());
}

} // namespace topup
