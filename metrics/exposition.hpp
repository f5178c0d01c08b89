#pragma once

// What GET /metrics answers: the node's stats counters (the figures `topup-cli stats` shows,
// from the same actors, read at scrape time) and the live instruments of node_metrics, in
// the Prometheus text format 0.0.4. See README.md, "Metrics".

#include "messages/protocol.hpp"
#include "metrics/node_metrics.hpp"

#include <prometheus/metric_family.h>

#include <string>
#include <string_view>
#include <vector>

namespace topup {

inline constexpr std::string_view metrics_content_type = "text/plain; version=0.0.4; charset=utf-8";

/// The families of this node's stats: intake, store, providers, restarts, start time.
std::vector<prometheus::MetricFamily> stats_families(const node_stats& stats);

/// The whole scrape: `stats`' families when the node answered (null: it did not, in time),
/// topup_stats_up saying which, and the live instruments.
std::string metrics_text(const node_metrics& metrics, const node_stats* stats);

} // namespace topup
