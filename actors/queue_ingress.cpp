#include "actors/queue_ingress.hpp"

#include "actors/result_writer.hpp"
#include "domain/queue_ingress.hpp"
#include "queues/rabbitmq_results.hpp"
#include "queues/redis_results.hpp"

namespace topup {

ingress_actors start_ingresses(caf::actor_system& system, const config& cfg,
                               supervisor_actor supervisor, event_feed& events,
                               std::shared_ptr<const clock> time) {
  ingress_actors started;
  // Writers first, listening before any order of theirs can become final.
  auto add_writer = [&](std::unique_ptr<queues::result_sink> sink, std::string_view ingress,
                        const result_writer_config& writer_cfg) {
    auto writer = spawn_result_writer(system, std::move(sink),
                                      std::string{ingress} + "@" + cfg.node.name,
                                      std::string{ingress}, writer_cfg, supervisor, time);
    events.add_listener(caf::actor_cast<update_listener_actor>(writer));
    started.writers.push_back(writer);
  };
  if (const auto& redis = cfg.ingress.redis) {
    if (redis->results)
      add_writer(std::make_unique<queues::redis_result_sink>(queues::endpoint_of(*redis),
                                                             *redis->results),
                 redis_ingress_name, redis->results->writer);
    started.consumers.push_back(
      spawn_redis_consumer(system, *redis, cfg.node.name, supervisor, time));
  }
  if (const auto& rabbitmq = cfg.ingress.rabbitmq) {
    if (rabbitmq->results)
      add_writer(std::make_unique<queues::rabbitmq_result_sink>(
                   queues::publisher_endpoint_of(*rabbitmq), *rabbitmq->results),
                 rabbitmq_ingress_name, rabbitmq->results->writer);
    started.consumers.push_back(
      spawn_rabbitmq_consumer(system, *rabbitmq, cfg.node.name, supervisor, time));
  }
  return started;
}

} // namespace topup
