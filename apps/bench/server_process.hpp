#pragma once

// A server the bench starts, watches and stops (topup-node, topup-provider-sim): a child
// process in the run directory (relative paths of its configuration land there), its stdout
// read for the "listening on HOST:PORT" line, its stderr appended to a log file. And what
// /proc says of its memory.

#include "apps/process/child_process.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace topup::bench {

/// A "Name:   1234 kB" field (VmRSS, VmHWM, ...) of a /proc/<pid>/status text, in KiB;
/// nothing if absent.
std::optional<uint64_t> parse_status_kib(const std::string& status_text,
                                         const std::string& field);

/// VmHWM (peak resident set) in KiB from a /proc/<pid>/status text; nothing if absent.
std::optional<uint64_t> parse_vm_hwm_kib(const std::string& status_text);

/// A field of /proc/<pid>/status of a running process, in KiB.
std::optional<uint64_t> status_kib(pid_t pid, const std::string& field);

/// VmHWM of a running process, read from /proc.
std::optional<uint64_t> peak_rss_kib(pid_t pid);

class server_process {
public:
  /// Starts `command` in `work_dir`, stderr appended to `log_path`; returns once the server
  /// said where it listens, throws (naming `what` and the log) otherwise.
  server_process(const std::string& what, std::vector<std::string> command,
                 const std::string& work_dir, const std::string& log_path,
                 std::chrono::milliseconds timeout = std::chrono::seconds(30));

  server_process(const server_process&) = delete;
  server_process& operator=(const server_process&) = delete;

  const std::string& host() const { return host_; }
  uint16_t port() const { return port_; }
  /// The pid while it runs, -1 once reaped.
  pid_t pid() const { return child_.running() ? child_.pid() : -1; }
  std::chrono::steady_clock::time_point started_at() const { return started_at_; }
  std::chrono::steady_clock::time_point ready_at() const { return ready_at_; }

  /// SIGKILL and reap (the crash of W3).
  void kill() { child_.kill_and_reap(); }

  /// SIGTERM, wait up to `timeout` for the exit (SIGKILL after); the exit code, or nothing
  /// when a signal ended it.
  std::optional<int> stop(std::chrono::milliseconds timeout) { return child_.terminate(timeout); }

private:
  std::chrono::steady_clock::time_point started_at_;
  process::child_process child_;
  std::string host_;
  uint16_t port_ = 0;
  std::chrono::steady_clock::time_point ready_at_;
};

} // namespace topup::bench
