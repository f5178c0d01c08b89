#include "apps/node/service_notify.hpp"

#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include <cstring>

namespace topup {

service_notifier::service_notifier() {
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0)
    interval_ = std::chrono::microseconds{static_cast<int64_t>(usec / 2)};
}

void service_notifier::send(const std::string& state) const {
  // sd_notify answers 0 without NOTIFY_SOCKET: the node was not started as a notify service.
  int sent = sd_notify(0, state.c_str());
  if (sent < 0)
    spdlog::warn("node cannot notify its service manager: {}", std::strerror(-sent));
}

void service_notifier::ready(const std::string& status) const {
  send("READY=1\nSTATUS=" + status);
}

void service_notifier::stopping() const {
  send("STOPPING=1\nSTATUS=draining");
}

void service_notifier::watchdog() const {
  send("WATCHDOG=1");
}

} // namespace topup
