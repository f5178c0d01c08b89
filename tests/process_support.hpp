#pragma once

// Tests that run real processes: a child started with posix_spawn whose stdout we read and
// that is always killed and reaped, and the pieces every out-of-process node test needs (a
// node configuration in a temp dir, a running topup-node, a CAF client of its gateway).

#include "messages/interfaces.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace topup::testing {

/// "what: <strerror(errno)>".
std::string errno_text(const char* what);

/// A running child process whose stdout is a pipe to us; its stderr goes to a file, or to
/// ours. The destructor kills and reaps it, so a failed assertion never leaves a process
/// behind (writing into a removed directory, holding a port).
class child_process {
public:
  /// Starts args[0] (a path) with `args`. With `stderr_path` set the child's stderr is
  /// appended to that file. No other descriptor of ours reaches the child.
  explicit child_process(std::vector<std::string> args, const std::string& stderr_path = {});
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

/// The last `max_bytes` of a text file (a child's log), for failure messages.
std::string tail_of(const std::string& path, size_t max_bytes = 3000);

/// Writes `value` to `path`, pretty-printed.
void write_json(const std::string& path, const nlohmann::json& value);

/// A port on 127.0.0.1 that was free a moment ago (bound with port 0, then released).
uint16_t free_port();

// -- topup-node -------------------------------------------------------------------------------

/// The four WORKLOAD.md providers, in this order.
inline const std::vector<std::string> workload_providers{"p-cmcc", "p-cucc", "p-ctcc", "p-agg"};

/// A node configuration for tests, everything in `dir`: the SQLite store "orders.db", the
/// four WORKLOAD providers simulated with a 2 ms fixed latency and 100% success, ledgers
/// "ledger-<provider>.db"; 127.0.0.1 on `port` (0: any free port); deadlines of 6 s with
/// re-sends at 4 s and 5 s; provider calls time out after 300 ms; heartbeats every 200 ms,
/// connections time out after 2 s; two scheduler threads. Tests adjust the JSON before
/// writing it.
nlohmann::json test_node_config(const std::filesystem::path& dir, uint16_t port = 0);

/// The provider entry named `name` in a configuration made by test_node_config.
nlohmann::json& provider_entry(nlohmann::json& cfg, const std::string& name);

/// The ledger files of test_node_config(dir).
std::vector<std::string> ledger_paths(const std::filesystem::path& dir);

/// A running topup-node. The constructor returns once the node has printed its
/// "listening on HOST:PORT" line, and throws (with the end of its log) if it does not
/// within `timeout`. The node's stderr goes to `log_path`, appended; `extra_args` follow
/// "--config PATH" on its command line.
class node_process {
public:
  node_process(const std::string& binary, const std::string& config_path,
               const std::string& log_path, const std::vector<std::string>& extra_args = {},
               std::chrono::milliseconds timeout = std::chrono::seconds(30));

  uint16_t port() const { return port_; }
  child_process& process() { return child_; }
  const std::string& log_path() const { return log_path_; }

  /// SIGKILL and reap.
  std::string kill() { return child_.kill_and_reap(); }

  /// SIGTERM, then waits up to `timeout` for the node to exit; the exit code, or nothing
  /// when it did not exit in time (it is killed then) or a signal ended it.
  std::optional<int> terminate(std::chrono::milliseconds timeout);

private:
  std::string log_path_;
  child_process child_;
  uint16_t port_ = 0;
};

/// The CAF side of a client, configured like topup's programs (configure_caf): two
/// scheduler threads, heartbeats every 200 ms, connections time out after 2 s.
struct client_config : caf::actor_system_config {
  client_config();
};

/// Connects to the gateway published at 127.0.0.1:`port`, trying again until `timeout`.
/// CAF's middleman caches the proxy of each host:port and forgets it only once it has seen
/// that proxy go down, a moment after the client did; `stale` (the gateway of a node that
/// died) is therefore not taken for an answer: connecting is tried again.
caf::expected<gateway_actor> connect_gateway(caf::actor_system& system, uint16_t port,
                                             std::chrono::milliseconds timeout
                                             = std::chrono::seconds(10),
                                             const caf::actor_addr& stale = {});

} // namespace topup::testing
