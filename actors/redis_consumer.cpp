#include "actors/consumer_support.hpp"
#include "actors/queue_ingress.hpp"
#include "queues/redis_client.hpp"
#include "queues/redis_results.hpp"

namespace topup {
namespace {

using std::chrono::milliseconds;

struct redis_consumer_state : consumer_state<redis_ingress_config> {
  static constexpr const char* name = "redis_ingress";

  std::unique_ptr<queues::redis_connection> connection;
  std::unique_ptr<queues::redis_order_lists> lists;
};

using self_pointer = queue_consumer_actor::stateful_pointer<redis_consumer_state>;

void connect_if_needed(self_pointer self) {
  auto& st = self->state;
  if (st.lists)
    return;
  st.connection = std::make_unique<queues::redis_connection>(queues::endpoint_of(st.cfg));
  st.lists = std::make_unique<queues::redis_order_lists>(*st.connection, st.cfg.list,
                                                         st.cfg.processing_list,
                                                         st.cfg.dead_letter_list);
  st.common.broker_up();
}

/// Drops the connection and tries again after the backoff: what the processing list holds
/// stays there and is submitted first.
void broker_failed(self_pointer self, const std::string& why) {
  auto& st = self->state;
  st.lists.reset();
  st.connection.reset();
  self->delayed_send(self, st.common.broker_failed(why, st.time->now()), pump_atom::value);
}

/// Removes what intake answered for good (pushing the dead letters of the refused ones in
/// the same transaction) and takes the next batch, at once or after the backoff when some
/// were refused for now.
void settle(self_pointer self, const std::vector<std::string>& messages,
            const std::vector<message_outcome>& outcomes) {
  auto& st = self->state;
  std::vector<std::string> finished;
  std::vector<std::string> dead_letters;
  finished.reserve(messages.size());
  auto now = st.time->wall_ms();
  for (size_t i = 0; i < messages.size() && i < outcomes.size(); ++i) {
    if (outcomes[i].fate == message_fate::retry)
      continue;
    finished.push_back(messages[i]);
    if (outcomes[i].fate == message_fate::dead_letter)
      dead_letters.push_back(dead_letter_json(messages[i], outcomes[i].why, st.node, now));
  }
  try {
    connect_if_needed(self);
    st.lists->finish(finished, dead_letters);
  } catch (const queues::redis_error& error) {
    // Still in the processing list: submitted again, and answered as existing orders.
    st.common.busy = false;
    broker_failed(self, error.what());
    return;
  }
  next_round(self, st.common.settled(outcomes, st.time->now()));
}

/// One round: the messages the processing list holds (earlier runs, retries), else new ones
/// from the source list, to intake as one batch.
void step(self_pointer self) {
  if (!round_may_start(self))
    return;
  auto& st = self->state;
  std::vector<std::string> messages;
  bool held = false;
  try {
    connect_if_needed(self);
    messages = st.lists->held(st.cfg.batch);
    held = !messages.empty();
    if (!held)
      messages = st.lists->take(st.cfg.batch, milliseconds{st.cfg.block_ms});
  } catch (const queues::redis_error& error) {
    broker_failed(self, error.what());
    return;
  }
  if (messages.empty()) {
    self->send(self, pump_atom::value);
    return;
  }
  if (held && st.common.total.taken == 0)
    spdlog::info("{} submits the {} messages its processing list {} still holds",
                 st.common.label, messages.size(), st.cfg.processing_list);
  auto in_hand = std::make_shared<const std::vector<std::string>>(std::move(messages));
  submit_messages(self, *in_hand, redis_ingress_name,
                  [=](const std::vector<message_outcome>& outcomes) {
                    settle(self, *in_hand, outcomes);
                  });
}

queue_consumer_actor::behavior_type redis_consumer(self_pointer self, redis_ingress_config cfg,
                                                   std::string node, supervisor_actor supervisor,
                                                   std::shared_ptr<const clock> time) {
  auto& st = self->state;
  auto label = "redis ingress " + cfg.list;
  auto where = cfg.host + ":" + std::to_string(cfg.port);
  st.start(std::move(cfg), std::move(node), std::move(supervisor), std::move(time),
           std::move(label), std::move(where));
  spdlog::info("{} consumes at {} (processing list {}, dead letters {})", st.common.label,
               st.common.where, st.cfg.processing_list, st.cfg.dead_letter_list);
  return consumer_behavior(self, step);
}

} // namespace

queue_consumer_actor spawn_redis_consumer(caf::actor_system& system, redis_ingress_config cfg,
                                          std::string node, supervisor_actor supervisor,
                                          std::shared_ptr<const clock> time) {
  return system.spawn<caf::detached>(redis_consumer, std::move(cfg), std::move(node),
                                     std::move(supervisor), std::move(time));
}

} // namespace topup
