#pragma once

// The queue ingresses: the consumers of the Redis list and the RabbitMQ queue that producers
// of the seed's design push orders to, and the result writers that tell those producers what
// became of them. Consumers and writers are detached actors (hiredis and rabbitmq-c block)
// talking to intake and the store with requests that have finite timeouts; the decisions are
// domain/queue_ingress's.

#include "actors/event_feed.hpp"
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
                                          std::string node, supervisor_actor supervisor,
                                          std::shared_ptr<const clock> time);

/// Consumes the configured RabbitMQ queue (declared durable if missing) with manual
/// acknowledgement and `prefetch` deliveries at most in hand: submits up to `batch` of them
/// to intake as one batch, then acknowledges each one intake answered for good; a refused one
/// is first published, untouched, to the dead-letter exchange with its error in headers
/// (dead_letter_headers, confirmed), then rejected without requeue. Deliveries refused for
/// now (overloaded, unavailable, shutting_down, no answer) stay unacknowledged in hand and
/// are submitted again after a backoff. A lost connection is opened again with the same
/// backoff; the broker delivers again what was unacknowledged.
queue_consumer_actor spawn_rabbitmq_consumer(caf::actor_system& system,
                                             rabbitmq_ingress_config cfg, std::string node,
                                             supervisor_actor supervisor,
                                             std::shared_ptr<const clock> time);

/// The ingresses a node's configuration asks for, started and listening to `events`.
struct ingress_actors {
  std::vector<queue_consumer_actor> consumers;
  std::vector<result_writer_actor> writers;
};

/// Starts a consumer per configured queue and a result writer per configured results
/// section. Writers listen to `events` from the start, so no final state is missed.
ingress_actors start_ingresses(caf::actor_system& system, const config& cfg,
                               supervisor_actor supervisor, event_feed& events,
                               std::shared_ptr<const clock> time);

} // namespace topup
