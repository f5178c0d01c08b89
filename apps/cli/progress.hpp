#pragma once

// The progress bar of a long `submit --file` on a terminal (stderr only, so stdout stays
// clean for results).

#include <chrono>
#include <cstddef>
#include <iosfwd>
#include <string>

namespace topup::cli {

/// "[##########----------]  50% 5000/10000 orders, 2500/s" with a bar `bar_width` wide.
std::string render_progress(size_t done, size_t total, double elapsed_s, size_t bar_width);

/// Redraws one line of stderr in place, at most ten times a second. Disabled, it does
/// nothing, so callers need not ask whether stderr is a terminal at every step.
class progress_bar {
public:
  progress_bar(std::ostream& out, size_t total, bool enabled);

  /// Shows `done` of the total (throttled; the final count is always drawn).
  void update(size_t done);

  /// Erases the bar, e.g. before other output goes to the same terminal; the next update
  /// draws it again.
  void clear();

private:
  using clock = std::chrono::steady_clock;

  std::ostream& out_;
  size_t total_;
  bool enabled_;
  bool visible_ = false;
  clock::time_point started_ = clock::now();
  clock::time_point last_drawn_{};
};

} // namespace topup::cli
