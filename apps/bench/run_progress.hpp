#pragma once

// What a run shows while it goes: one progress line on stderr (redrawn in place on a
// terminal, a line every 5 s otherwise; apps/bench/progress_line), with the count of the
// run's orders the store holds final.

#include "apps/bench/pacing.hpp"
#include "apps/bench/progress_line.hpp"
#include "apps/bench/store_reader.hpp"
#include "apps/bench/submission_feed.hpp"
#include "apps/bench/workload.hpp"
#include "config/config.hpp"

#include <cstdint>
#include <memory>
#include <string>

namespace topup::bench {

class run_progress {
public:
  /// The orders whose client references start with `ref_prefix`, in `store` (shared by a
  /// cluster's nodes when `clustered`); the load started at `start`.
  run_progress(const workload& load, store_config store, bool clustered,
               std::string ref_prefix, steady_time start);

  /// The run's orders the store holds final, counted at most once a second (hold: never,
  /// 0); the last count in between, and while the store cannot be read.
  uint64_t terminal_now();
  /// The next terminal_now() counts, however recent the last count.
  void count_anew() { last_done_poll_ = {}; }
  /// Draws the line when it is due, or at once with `force`.
  void show(shared_book& shared, steady_time now, const std::string& phase, bool force = false);
  /// Ends a line redrawn in place, so that what follows starts on its own.
  void end_line();

private:
  bool counts_terminal_;
  store_config store_config_;
  bool clustered_;
  std::string ref_prefix_;
  steady_time start_;
  progress_throttle throttle_;
  std::unique_ptr<store_reader> store_;
  uint64_t last_done_ = 0;
  steady_time last_done_poll_{};
  uint64_t rate_base_ = 0;
  steady_time rate_at_;
  double rate_ = 0;
};

} // namespace topup::bench
