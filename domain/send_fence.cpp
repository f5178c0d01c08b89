#include "domain/send_fence.hpp"

#include <algorithm>

namespace topup {

milliseconds lease_send_margin(milliseconds ttl, milliseconds heartbeat_interval) {
  return std::max(milliseconds{0}, (ttl - heartbeat_interval) / 2);
}

mono_time lease_valid_until(mono_time confirmed, milliseconds ttl, milliseconds margin) {
  return confirmed + ttl - margin;
}

void send_fence::extend(mono_time valid_until) {
  if (!valid_until_ || valid_until > *valid_until_)
    valid_until_ = valid_until;
}

} // namespace topup
