#include "actors/consumer_support.hpp"
#include "actors/queue_ingress.hpp"
#include "queues/amqp_client.hpp"
#include "queues/rabbitmq_results.hpp"

namespace topup {
namespace {

using std::chrono::milliseconds;

struct rabbitmq_consumer_state : consumer_state<rabbitmq_ingress_config> {
  static constexpr const char* name = "rabbitmq_ingress";

  /// Consumes the queue and acknowledges or rejects its deliveries.
  std::unique_ptr<queues::amqp_connection> consumer;
  /// Publishes dead letters with confirms. A connection of its own: waiting for confirms
  /// on the consuming channel would read, and lose, deliveries that arrive meanwhile.
  std::unique_ptr<queues::amqp_connection> publisher;
  /// Deliveries intake refused for now: submitted again after the backoff. Their tags are
  /// those of `consumer`: a new connection makes the broker deliver them again instead.
  std::vector<queues::amqp_delivery> held;
};

using self_pointer = queue_consumer_actor::stateful_pointer<rabbitmq_consumer_state>;

void connect_if_needed(self_pointer self) {
  auto& st = self->state;
  if (st.consumer)
    return;
  auto publisher = std::make_unique<queues::amqp_connection>(queues::publisher_endpoint_of(st.cfg));
  publisher->declare_exchange(st.cfg.dead_letter_exchange, "topic");
  if (!st.cfg.dead_letter_queue.empty()) {
    publisher->declare_queue(st.cfg.dead_letter_queue);
    publisher->bind_queue(st.cfg.dead_letter_queue, st.cfg.dead_letter_exchange, "#");
  }
  publisher->enable_confirms();
  auto consumer = std::make_unique<queues::amqp_connection>(queues::endpoint_of(st.cfg));
  consumer->declare_queue(st.cfg.queue);
  consumer->set_prefetch(static_cast<uint16_t>(st.cfg.prefetch));
  consumer->consume(st.cfg.queue);
  st.publisher = std::move(publisher);
  st.consumer = std::move(consumer);
  st.common.broker_up();
}

/// Drops both connections and tries again after the backoff: the broker delivers what was
/// in hand again (unacknowledged), and intake answers those as existing orders.
void broker_failed(self_pointer self, const std::string& why) {
  auto& st = self->state;
  st.held.clear();
  st.consumer.reset();
  st.publisher.reset();
  self->delayed_send(self, st.common.broker_failed(why, st.time->now()), pump_atom::value);
}

/// Publishes the dead letters (confirmed) before rejecting their messages, then acknowledges
/// what intake answered for good and keeps what it refused for now.
void settle(self_pointer self, std::vector<queues::amqp_delivery> deliveries,
            const std::vector<message_outcome>& outcomes) {
  auto& st = self->state;
  std::vector<queues::amqp_outgoing> dead_letters;
  auto now = st.time->wall_ms();
  for (size_t i = 0; i < deliveries.size() && i < outcomes.size(); ++i)
    if (outcomes[i].fate == message_fate::dead_letter)
      dead_letters.push_back({st.cfg.dead_letter_exchange, st.cfg.queue, deliveries[i].body,
                              dead_letter_headers(outcomes[i].why, st.node, now), ""});
  try {
    if (!st.consumer)
      throw queues::amqp_error("the connection was lost while intake answered");
    if (!dead_letters.empty())
      st.publisher->publish_confirmed(dead_letters, milliseconds{st.cfg.confirm_timeout_ms});
    for (size_t i = 0; i < deliveries.size(); ++i) {
      auto fate = i < outcomes.size() ? outcomes[i].fate : message_fate::retry;
      if (fate == message_fate::done)
        st.consumer->ack(deliveries[i].tag);
      else if (fate == message_fate::dead_letter)
        st.consumer->reject(deliveries[i].tag);
      else
        st.held.push_back(std::move(deliveries[i]));
    }
  } catch (const queues::amqp_error& error) {
    // Unacknowledged: delivered again after the reconnection, answered as existing orders.
    st.common.busy = false;
    broker_failed(self, error.what());
    return;
  }
  next_round(self, st.common.settled(outcomes, st.time->now()));
}

/// Up to `batch` deliveries: waits up to block_ms for the first, then takes what has
/// arrived already.
std::vector<queues::amqp_delivery> take(rabbitmq_consumer_state& st) {
  std::vector<queues::amqp_delivery> deliveries;
  auto first = st.consumer->next(milliseconds{st.cfg.block_ms});
  if (!first)
    return deliveries;
  deliveries.push_back(std::move(*first));
  while (deliveries.size() < st.cfg.batch) {
    auto more = st.consumer->next(milliseconds{0});
    if (!more)
      break;
    deliveries.push_back(std::move(*more));
  }
  return deliveries;
}

/// One round: the deliveries held for a retry, else new ones, to intake as one batch.
void step(self_pointer self) {
  if (!round_may_start(self))
    return;
  auto& st = self->state;
  std::vector<queues::amqp_delivery> deliveries;
  try {
    connect_if_needed(self);
    deliveries = st.held.empty() ? take(st) : std::exchange(st.held, {});
  } catch (const queues::amqp_error& error) {
    broker_failed(self, error.what());
    return;
  }
  if (deliveries.empty()) {
    self->send(self, pump_atom::value);
    return;
  }
  std::vector<std::string> messages;
  messages.reserve(deliveries.size());
  for (const auto& delivery : deliveries)
    messages.push_back(delivery.body);
  auto in_hand = std::make_shared<std::vector<queues::amqp_delivery>>(std::move(deliveries));
  submit_messages(self, messages, rabbitmq_ingress_name,
                  [=](const std::vector<message_outcome>& outcomes) {
                    settle(self, std::move(*in_hand), outcomes);
                  });
}

queue_consumer_actor::behavior_type rabbitmq_consumer(self_pointer self,
                                                      rabbitmq_ingress_config cfg,
                                                      std::string node, supervisor_actor supervisor,
                                                      std::shared_ptr<const clock> time) {
  auto& st = self->state;
  auto label = "rabbitmq ingress " + cfg.queue;
  auto where = cfg.host + ":" + std::to_string(cfg.port) + cfg.vhost;
  st.start(std::move(cfg), std::move(node), std::move(supervisor), std::move(time),
           std::move(label), std::move(where));
  spdlog::info("{} consumes at {} (prefetch {}, dead letters to exchange {})", st.common.label,
               st.common.where, st.cfg.prefetch, st.cfg.dead_letter_exchange);
  return consumer_behavior(self, step);
}

} // namespace

queue_consumer_actor spawn_rabbitmq_consumer(caf::actor_system& system,
                                             rabbitmq_ingress_config cfg, std::string node,
                                             supervisor_actor supervisor,
                                             std::shared_ptr<const clock> time) {
  return system.spawn<caf::detached>(rabbitmq_consumer, std::move(cfg), std::move(node),
                                     std::move(supervisor), std::move(time));
}

} // namespace topup
