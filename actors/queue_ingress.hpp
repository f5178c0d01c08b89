#pragma once

// The queue ingress: the consumer of the Redis list that producers of the seed's design push
// orders to, and the result writer that tells those producers what became of them. The
// consumer and the writer are detached actors (hiredis blocks) talking to intake and the
// store with requests that have finite timeouts; the decisions are domain/queue_ingress's.

#include "actors/watch_hub.hpp"
#include "config/config.hpp"
#include "domain/clock.hpp"
#include "messages/interfaces.hpp"

#include <memory>
#include <string>
#include <vector>

namespace topup {

/// Consumes the configured Redis list with the reliable-queue pattern: moves up to `batch`
/// messages atomically into this node's processing list, submits them to intake as one batch
/// (found through `supervisor`), then removes each one intake answered for good, pushing the
/// refused ones to the dead-letter list with their error in the same MULTI/EXEC. At start it
/// submits what the processing list still holds first. Messages intake refused for now
/// (overloaded, unavailable, shutting_down, no answer) stay in the processing list and are
/// submitted again after a backoff; a lost connection is retried with the same backoff.
queue_consumer_actor spawn_redis_consumer(caf::actor_system& system, redis_ingress_config cfg,
                                          std::string node, caf::actor supervisor,
                                          std::shared_ptr<const clock> time);

/// The ingresses a node's configuration asks for, started and listening to `events`.
struct ingress_actors {
  std::vector<queue_consumer_actor> consumers;
  std::vector<result_writer_actor> writers;
};

/// Starts a consumer per configured queue and a result writer per configured results
/// section. Writers listen to `events` from the start, so no final state is missed.
ingress_actors start_ingresses(caf::actor_system& system, const config& cfg,
                               caf::actor supervisor, event_feed& events,
                               std::shared_ptr<const clock> time);

} // namespace topup
