#pragma once

// The bench's live progress on stderr: on a terminal one line redrawn a few times a second,
// elsewhere (a log file, CI) one plain line every few seconds.

#include <chrono>
#include <cstdint>
#include <string>

namespace topup::bench {

struct progress_sample {
  double elapsed_s = 0;
  double rate = 0;        ///< acknowledgements per second, recently
  uint64_t offered = 0;
  uint64_t total = 0;
  uint64_t accepted = 0;
  uint64_t done = 0;      ///< terminal orders
  uint64_t in_flight = 0; ///< submitted, not yet answered
  std::string phase;      ///< "load", "draining", "node down", ...
};

/// "[#####-----]  42% load 12.0s  4310/s  acc 51720  done 50110  in flight 256".
std::string render_progress_line(const progress_sample& sample, size_t bar_width = 20);

/// Decides when to draw: every `terminal_interval` on a terminal, `plain_interval` otherwise.
class progress_throttle {
public:
  using clock = std::chrono::steady_clock;
  explicit progress_throttle(bool terminal,
                             clock::duration terminal_interval = std::chrono::milliseconds(250),
                             clock::duration plain_interval = std::chrono::seconds(5))
    : terminal_(terminal), interval_(terminal ? terminal_interval : plain_interval) {}

  /// True when a line is due at `now` (and counts it as drawn).
  bool due(clock::time_point now);
  bool terminal() const { return terminal_; }

private:
  bool terminal_;
  clock::duration interval_;
  bool drawn_ = false;
  clock::time_point last_{};
};

} // namespace topup::bench
