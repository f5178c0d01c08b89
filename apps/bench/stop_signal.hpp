#pragma once

// SIGINT/SIGTERM stop a run: every wait of the bench looks at stop_requested(), so that the
// nodes and simulators it started are stopped and the figures so far printed (exit 130).

namespace topup::bench {

/// Makes SIGINT and SIGTERM set the flag stop_requested() reads, instead of ending the
/// process.
void install_stop_handlers();

/// Whether SIGINT or SIGTERM arrived since install_stop_handlers().
bool stop_requested();

} // namespace topup::bench
