#pragma once

#include "config/ingress_config.hpp"
#include "domain/clock.hpp"
#include "messages/interfaces.hpp"
#include "queues/result_sink.hpp"

#include <memory>
#include <string>

namespace topup {

/// Writes the result of every order of `ingress` that reaches a final state to `sink`, at
/// least once:
/// - live: the final states made on this node, as the event feed reports them (the writer
///   is one of its listeners from its start);
/// - after a restart: it first catches up with the final orders of its ingress in the store
///   since the point it recorded last (`writer` names that point in the store), minus the
///   margin; the point trails the oldest result not yet written (result_resume_point), and is
///   recorded every second;
/// - while the sink is down it keeps what waits and tries again with the backoff; when that
///   grows beyond a bound it drops it and catches up from the store once the sink is back.
/// Results written again after a restart (those of the margin) are the price of at least
/// once: a result says the same each time it is written.
result_writer_actor spawn_result_writer(caf::actor_system& system,
                                        std::unique_ptr<queues::result_sink> sink,
                                        std::string writer, std::string ingress,
                                        result_writer_config cfg, supervisor_actor supervisor,
                                        std::shared_ptr<const clock> time);

} // namespace topup
