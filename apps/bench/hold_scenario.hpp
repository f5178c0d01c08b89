#pragma once

// The hold workload (bench/README.md): a node holding many pending orders is measured
// (VmRSS, VmHWM), SIGKILLed and started again on the same store; then the time until its
// router logged that it recovered them, and its memory after.

#include "apps/bench/figures.hpp"
#include "apps/bench/node_fleet.hpp"

namespace topup::bench {

/// The memory of the node holding the orders (node 0); false, logged, when it is gone.
bool measure_holding(const node_fleet& fleet, hold_report& report);

/// SIGKILLs node 0 and starts it again, and waits (10 minutes at most, or until a stop is
/// requested) for its router's recovery line: the restart's figures.
void restart_and_measure(node_fleet& fleet, hold_report& report);

} // namespace topup::bench
