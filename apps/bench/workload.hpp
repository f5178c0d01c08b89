#pragma once

// The workloads of the workloads (bench/README.md) as parameters of the load generator: what to
// send, how fast, for how long, and what happens to the node meanwhile.

#include <cstdint>
#include <optional>
#include <string>

namespace topup::bench {

enum class loop_kind {
  closed,  ///< keep a fixed number of orders outstanding, send the next on each answer
  open,    ///< send on a fixed schedule, whatever the answers
};

struct workload {
  std::string name;              ///< "w1", "w2", "w3", "w4", "hold"
  loop_kind loop = loop_kind::closed;
  uint64_t orders = 0;           ///< orders to submit in all
  uint64_t outstanding = 256;    ///< closed loop: orders submitted and not yet answered, at most
  double rate = 0;               ///< open loop: orders per second
  uint64_t batch = 64;           ///< orders per submit message, at most
  int64_t deadline_ms = 180000;  ///< WORKLOAD's "within 180 s of accept"
  int64_t grace_ms = 1000;       ///< an order closed at its deadline counts up to this late
  std::optional<double> kill_at_s;     ///< SIGKILL the node this long after the load starts
  std::optional<double> restart_at_s;  ///< and start it again on the same files
  /// The client stops trying this long after the load starts: orders not acknowledged by
  /// then are given up (w4: at the end of the load). Otherwise it retries until acknowledged.
  std::optional<double> give_up_at_s;

  /// Open loop: the load's length in seconds (orders / rate).
  double duration_s() const;
};

/// The named workload with WORKLOAD's parameters; nothing for an unknown name.
std::optional<workload> workload_named(const std::string& name);

/// A paragraph per workload, for --help.
std::string describe_workloads();

} // namespace topup::bench
