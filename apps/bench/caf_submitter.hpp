#pragma once

// Orders to the node over the remote protocol: the driver actor, fed from the shared book
// (apps/bench/submission_feed) like the HTTP submitter, sends them to the connected nodes'
// gateways in turn; and the connection to a node's gateway, protocol checked.

#include "apps/bench/order_generator.hpp"
#include "apps/bench/submission_feed.hpp"
#include "apps/bench/workload.hpp"
#include "messages/interfaces.hpp"

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/actor_system.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace topup::bench {

/// The driver: offers what the workload allows every few milliseconds and sends it to the
/// gateways it was given, `(uint64_t node, gateway_actor)`, round the connected ones; a
/// gateway that goes down gives its unanswered orders back to the book.
caf::actor spawn_caf_submitter(caf::actor_system& system, workload load,
                               std::shared_ptr<shared_book> shared,
                               std::shared_ptr<const order_generator> orders, steady_time start,
                               std::chrono::milliseconds submit_timeout);

/// Connects to the gateway at `host`:`port` and checks its protocol, trying again until
/// `timeout`. `stale`: a gateway of a killed node that the middleman may still hand out.
/// `quiet` logs a failure at debug level instead of error.
std::optional<gateway_actor> connect_node(caf::actor_system& system, const std::string& host,
                                          uint16_t port, std::chrono::milliseconds timeout,
                                          const caf::actor_addr& stale = {},
                                          bool quiet = false);

} // namespace topup::bench
