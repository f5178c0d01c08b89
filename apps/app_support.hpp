#pragma once

// What every topup executable sets up the same way: logging to stderr (stdout carries each
// program's output) and CAF's configuration.

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <cstddef>
#include <string>

namespace topup {

/// Sends spdlog's default logger to stderr at `level` ("info", "debug", ...), as `format`
/// says: "text" (a line of time, level, program and message) or "json" (one object per line,
/// domain/log_line). Either way every phone number a message quotes is masked.
void log_to_stderr(const std::string& program, const std::string& level = "info",
                   const std::string& format = "text");

/// CAF as topup runs it: `threads` scheduler threads with the fair "sharing" policy (the
/// default work stealing can starve timers on two cores), BASP heartbeats so that a hung peer
/// is noticed, CAF's own logging quiet, the protocol registered, the middleman loaded.
void configure_caf(caf::actor_system_config& cfg, size_t threads, int64_t heartbeat_interval_ms,
                   int64_t connection_timeout_ms);

/// Cuts every connection of the middleman (clients, cluster peers) at once: both directions
/// of each socket are shut down, so that the peer reads the end of the stream and the
/// middleman's event loop sees it too. Returns how many were cut.
///
/// Why: ~actor_system stops the middleman by joining its event loop, which runs until every
/// connection is gone, and CAF 0.17 closes a connection gracefully: it first writes out
/// everything queued for the peer. A peer that reads slowly or not at all (a `watch` client
/// that cannot keep up with a node under load, a stopped or hung process) thereby holds the
/// process for as long as it takes to read megabytes of queued events, or forever. Call this
/// once every actor of the program has ended: what is still queued then is for peers that
/// are not reading it. Bytes already handed to the kernel still reach the peer.
size_t cut_remote_connections(caf::actor_system& system);

} // namespace topup
