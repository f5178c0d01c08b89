#pragma once

// A self-contained SVG picture of a run: completions per second over time, and the
// distribution of completion times (the share of orders done by each time, a CDF on a log
// time axis).

#include "apps/latency_histogram.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace topup::bench {

struct chart_input {
  std::string title;                       ///< e.g. "w2 remote: 30000 orders"
  std::vector<uint64_t> completions_per_second;
  const latency_histogram* completion = nullptr;  ///< accept -> terminal, all orders
  std::vector<double> markers_s;           ///< vertical lines on the time axis (kill, restart)
};

/// The SVG document.
std::string render_svg(const chart_input& input);

} // namespace topup::bench
