#pragma once

// A child process started with posix_spawn whose stdout is a pipe to us and that is always
// killed and reaped, and a reader of the complete lines it prints. Used by the programs that
// start servers (topup-bench starts topup-node and topup-provider-sim) and by the tests that
// run real processes.

#include "domain/host_port.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace topup::process {

/// "what: <strerror(errno)>".
std::string errno_text(const char* what);

/// A port on 127.0.0.1 that was free a moment ago (bound with port 0, then released): for
/// servers that must be told their port before they start (cluster members name each other).
uint16_t free_port();

/// A running child process whose stdout is a pipe to us; its stderr goes to a file, or to
/// ours. The destructor kills and reaps it, so a failure never leaves a process behind
/// (writing into a removed directory, holding a port).
class child_process {
public:
  /// Starts args[0] (a path) with `args`. With `stderr_path` set the child's stderr is
  /// appended to that file; with `work_dir` set the child runs there. No other descriptor
  /// of ours reaches the child. With `own_process_group` the child leads a process group of
  /// its own, so that a Ctrl-C at the terminal reaches us alone and we stop it in our order.
  explicit child_process(std::vector<std::string> args, const std::string& stderr_path = {},
                         const std::string& work_dir = {}, bool own_process_group = false);
  ~child_process();

  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  int stdout_fd() const { return read_fd_; }
  pid_t pid() const { return pid_; }

  /// True until the child has been reaped.
  bool running() const { return pid_ > 0; }

  /// Sends `signal` unless the child was reaped already.
  void send_signal(int signal);

  /// SIGKILL unless already reaped, then waits for it; returns how it ended, for messages.
  std::string kill_and_reap();

  /// Waits until the child ends on its own or `deadline` passes; true when it ended (and
  /// was reaped). The child keeps running on false.
  bool wait_for_exit(std::chrono::steady_clock::time_point deadline);

  /// SIGTERM, then waits up to `timeout` for the exit; SIGKILL after. The exit code, or
  /// nothing when it did not exit in time or a signal ended it.
  std::optional<int> terminate(std::chrono::milliseconds timeout);

  /// The exit status of a child that exited normally; nothing while it runs or when a
  /// signal ended it.
  std::optional<int> exit_code() const { return exit_code_; }

  /// "exited with status 0", "killed by signal 9", or "running".
  std::string ended() const { return running() ? "running" : ended_; }

private:
  void reaped(int status);

  pid_t pid_ = -1;
  int read_fd_ = -1;
  std::optional<int> exit_code_;
  std::string ended_;
};

/// Collects the complete lines arriving on a file descriptor; a trailing partial line is not
/// a line (its write did not finish, so it reports nothing).
class line_reader {
public:
  explicit line_reader(int fd) : fd_(fd) {}

  /// Reads until `count` lines have arrived in total, end of file or `deadline`, whichever
  /// comes first. True when the count was reached.
  bool read_until(size_t count, std::chrono::steady_clock::time_point deadline);

  /// Reads what a dead writer left in the pipe. True when end of file came before `deadline`.
  bool read_to_end(std::chrono::steady_clock::time_point deadline);

  const std::vector<std::string>& lines() const { return lines_; }

private:
  void split(const char* data, size_t size);

  int fd_;
  bool at_end_ = false;
  std::string partial_;
  std::vector<std::string> lines_;
};

/// Where a server says it listens.
using listening_address = host_port;

/// The address of a "listening on HOST:PORT" line (what topup-node and topup-provider-sim
/// print first, an IPv6 host in brackets; words after the address, as in "listening on
/// 127.0.0.1:4242 (tls)", are ignored); nothing for any other line or a port outside 1-65535.
std::optional<listening_address> parse_listening_line(const std::string& line);

} // namespace topup::process
