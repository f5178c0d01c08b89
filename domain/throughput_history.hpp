#pragma once

// The node's recent throughput for the web console: a ring of per-second counts over the
// last 15 minutes, fed with the node's cumulative counters (sampled about once a second) and
// read as a chart of 10-second points. Pure: the caller supplies the time.

#include <cstddef>
#include <cstdint>
#include <vector>

namespace topup {

/// Counters that only grow while the node runs (an actor restarted by the supervisor counts
/// from zero again).
struct throughput_counts {
  uint64_t accepted = 0;        ///< orders acknowledged by intake
  uint64_t finished = 0;        ///< orders that became final
  uint64_t within_deadline = 0; ///< of those, the ones final before their deadline
};

/// One point of the chart: the orders of [start_s, start_s + width_s).
struct throughput_point {
  int64_t start_s = 0;
  throughput_counts counts;
};

class throughput_history {
public:
  /// `window_s` seconds of history kept, one slot per second.
  explicit throughput_history(int64_t window_s = 15 * 60);

  /// Credits what `totals` grew by since the previous record (the first: since zero, the
  /// counters' start) to second `now_s`. A counter that went back (its actor restarted)
  /// counts from zero. A record older than the latest is credited to the latest second.
  void record(int64_t now_s, const throughput_counts& totals);

  /// The last `window_s` seconds up to and including `now_s`, in points of `width_s`
  /// seconds, oldest first; the last point ends with `now_s`. Seconds never recorded count 0.
  std::vector<throughput_point> points(int64_t now_s, int64_t width_s) const;

  /// Everything counted in the `seconds` seconds up to and including `now_s`.
  throughput_counts sum(int64_t now_s, int64_t seconds) const;

  int64_t window_s() const { return static_cast<int64_t>(slots_.size()); }

private:
  struct slot {
    int64_t second = -1;  ///< which second the slot holds now; -1: none yet
    throughput_counts counts;
  };
  const slot* slot_of(int64_t second) const;

  std::vector<slot> slots_;
  throughput_counts last_;
  int64_t latest_s_ = 0;
};

} // namespace topup
