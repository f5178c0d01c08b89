#pragma once

// A topup-node the bench starts, watches and stops: a child process in the run directory
// (the configuration's relative store and ledger paths land there), its stdout read for the
// "listening on HOST:PORT" line, its stderr appended to a log file.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <sys/types.h>

namespace topup::bench {

/// VmHWM (peak resident set) in KiB from a /proc/<pid>/status text; nothing if absent.
std::optional<uint64_t> parse_vm_hwm_kib(const std::string& status_text);

/// VmHWM of a running process, read from /proc.
std::optional<uint64_t> peak_rss_kib(pid_t pid);

class node_launcher {
public:
  /// Starts `binary --config CONFIG` in `work_dir`, stderr appended to `log_path`; returns
  /// once the node said where it listens, throws (naming the log) otherwise.
  node_launcher(const std::string& binary, const std::string& config_path,
                const std::string& work_dir, const std::string& log_path,
                std::chrono::milliseconds timeout = std::chrono::seconds(30));
  /// Kills the node if it still runs.
  ~node_launcher();

  node_launcher(const node_launcher&) = delete;
  node_launcher& operator=(const node_launcher&) = delete;

  const std::string& host() const { return host_; }
  uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  std::chrono::steady_clock::time_point ready_at() const { return ready_at_; }

  /// SIGKILL and reap (the crash of W3).
  void kill();

  /// SIGTERM, wait up to `timeout` for the exit (SIGKILL after); the exit code, or nothing
  /// when a signal ended it.
  std::optional<int> stop(std::chrono::milliseconds timeout);

private:
  std::optional<int> reap(bool wait);

  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::string host_;
  uint16_t port_ = 0;
  std::chrono::steady_clock::time_point ready_at_;
};

} // namespace topup::bench
