#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace topup {

/// What topup-node tells its service manager (systemd's sd_notify protocol): READY once it
/// serves, STOPPING when it drains, WATCHDOG pings while it is alive. A thin wrapper around
/// libsystemd: without NOTIFY_SOCKET (not started by systemd with Type=notify) every call
/// does nothing.
class service_notifier {
public:
  /// Reads NOTIFY_SOCKET and WATCHDOG_USEC (WATCHDOG_PID, when set, must name this process).
  service_notifier();

  /// The store is open, recovery has run and the listeners are up; `status` is shown by
  /// `systemctl status`.
  void ready(const std::string& status) const;

  /// The node drains: it takes no new orders and lets running calls finish.
  void stopping() const;

  /// The node is alive (see watchdog_interval).
  void watchdog() const;

  /// How often to ping: half the service manager's WatchdogSec; none when it set none.
  std::optional<std::chrono::microseconds> watchdog_interval() const { return interval_; }

private:
  void send(const std::string& state) const;

  std::optional<std::chrono::microseconds> interval_;
};

} // namespace topup
