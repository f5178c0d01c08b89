#pragma once

// Tests that run real processes: the pieces every out-of-process node test needs (a node
// configuration in a temp dir, a running topup-node, a CAF client of its gateway) on top of
// the child process of apps/process, which is always killed and reaped.

#include "apps/process/child_process.hpp"
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

// The generic child-process pieces (apps/process/child_process.hpp), under the names the
// tests use.
using process::child_process;
using process::errno_text;
using process::free_port;
using process::line_reader;

/// The last `max_bytes` of a text file (a child's log), for failure messages.
std::string tail_of(const std::string& path, size_t max_bytes = 3000);

/// User plus system CPU seconds process `pid` has used (/proc/PID/stat); 0 when gone.
double process_cpu_seconds(pid_t pid);

/// Writes `value` to `path`, pretty-printed.
void write_json(const std::string& path, const nlohmann::json& value);

/// How one run of a command-line program (topup-cli) ended.
struct program_run {
  std::optional<int> code;  ///< nothing when it hung or a signal ended it
  std::vector<std::string> out;  ///< its stdout, line by line
  std::string err;               ///< the end of its stderr

  std::string describe() const;
};

/// Runs `command` to its end, at most `limit` (then it is killed), its stderr to `err_path`
/// (truncated first).
program_run run_program(const std::vector<std::string>& command, const std::string& err_path,
                        std::chrono::steady_clock::duration limit = std::chrono::seconds(30));

// -- topup-node -------------------------------------------------------------------------------

/// The four WORKLOAD (bench/README.md) providers, in this order.
inline const std::vector<std::string> workload_providers{"p-cmcc", "p-cucc", "p-ctcc", "p-agg"};

/// A node configuration for tests, everything in `dir`: the SQLite store "orders.db" of one
/// shard (so that tests may read the file as the whole store; sharded variants set
/// store.shards), the
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
/// "--config PATH" on its command line; `launcher` comes before the binary (a shell that
/// sets limits and execs the node keeps the node's pid).
class node_process {
public:
  node_process(const std::string& binary, const std::string& config_path,
               const std::string& log_path, const std::vector<std::string>& extra_args = {},
               std::chrono::milliseconds timeout = std::chrono::seconds(30),
               const std::vector<std::string>& launcher = {});

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

// -- raw TCP ----------------------------------------------------------------------------------

/// A plain TCP connection to 127.0.0.1 that the test owns: what a hostile peer opens.
class raw_connection {
public:
  explicit raw_connection(uint16_t port);
  ~raw_connection();
  raw_connection(raw_connection&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  raw_connection(const raw_connection&) = delete;
  raw_connection& operator=(const raw_connection&) = delete;

  bool connected() const { return fd_ >= 0; }

  /// Sends every byte; false when the connection failed.
  bool send_all(const std::vector<uint8_t>& bytes);

  /// Reads and discards until the peer closes (true) or `deadline` passes (false).
  bool closed_by_peer_before(std::chrono::steady_clock::time_point deadline);

  /// Whether the peer has closed already (without waiting).
  bool closed_by_peer_now();

private:
  int fd_ = -1;
};

} // namespace topup::testing
