#pragma once

// What every topup executable sets up the same way: logging to stderr (stdout carries each
// program's output) and CAF's configuration.

#include <caf/actor_system_config.hpp>

#include <string>

namespace topup {

/// Sends spdlog's default logger to stderr at `level` ("info", "debug", ...).
void log_to_stderr(const std::string& program, const std::string& level = "info");

/// CAF as topup runs it: `threads` scheduler threads with the fair "sharing" policy (the
/// default work stealing can starve timers on two cores), BASP heartbeats so that a hung peer
/// is noticed, CAF's own logging quiet, the protocol registered, the middleman loaded.
void configure_caf(caf::actor_system_config& cfg, size_t threads, int64_t heartbeat_interval_ms,
                   int64_t connection_timeout_ms);

} // namespace topup
