#include "actors/consumer_support.hpp"
#include "actors/intake_submission.hpp"
#include "actors/queue_ingress.hpp"
#include "queues/redis_client.hpp"
#include "queues/redis_results.hpp"

namespace topup {
namespace {

using std::chrono::milliseconds;

struct redis_consumer_state {
  static constexpr const char* name = "redis_ingress";

  redis_ingress_config cfg;
  std::string node;
  caf::actor supervisor;
  std::shared_ptr<const clock> time;
  consumer_common common;
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
  self->delayed_send(self, st.common.broker_failed(why), pump_atom::value);
}

void stop(self_pointer self) {
  self->state.common.log_summary();
  spdlog::info("{} stops", self->state.common.label);
  self->quit();
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
  auto wait = st.common.settled(outcomes);
  if (st.common.stopping)
    stop(self);
  else if (wait)
    self->delayed_send(self, *wait, pump_atom::value);
  else
    self->send(self, pump_atom::value);
}

/// One round: the messages the processing list holds (earlier runs, retries), else new ones
/// from the source list, to intake as one batch.
void step(self_pointer self) {
  auto& st = self->state;
  if (st.common.busy)
    return;
  if (st.common.stopping) {
    stop(self);
    return;
  }
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
  st.common.busy = true;
  st.common.total.taken += messages.size();
  auto batch = std::make_shared<const ingress_batch>(messages);
  auto in_hand = std::make_shared<const std::vector<std::string>>(std::move(messages));
  submit_to_intake(self, st.supervisor, batch, std::string{redis_ingress_name},
                   caf::duration{milliseconds{st.cfg.intake_timeout_ms}},
                   [=](const std::vector<message_outcome>& outcomes) {
                     settle(self, *in_hand, outcomes);
                   });
}

queue_consumer_actor::behavior_type redis_consumer(self_pointer self, redis_ingress_config cfg,
                                                   std::string node, caf::actor supervisor,
                                                   std::shared_ptr<const clock> time) {
  auto& st = self->state;
  st.common.label = "redis ingress " + cfg.list;
  st.common.where = cfg.host + ":" + std::to_string(cfg.port);
  st.common.backoff =
    ingress_backoff{milliseconds{cfg.backoff.initial_ms}, milliseconds{cfg.backoff.max_ms}};
  st.cfg = std::move(cfg);
  st.node = std::move(node);
  st.supervisor = std::move(supervisor);
  st.time = std::move(time);
  spdlog::info("{} consumes at {} (processing list {}, dead letters {})", st.common.label,
               st.common.where, st.cfg.processing_list, st.cfg.dead_letter_list);
  self->send(self, pump_atom::value);
  self->delayed_send(self, consumer_summary_interval, tick_atom::value);
  return {
    [=](pump_atom) { step(self); },
    [=](tick_atom) {
      self->state.common.log_summary();
      self->delayed_send(self, consumer_summary_interval, tick_atom::value);
    },
    [=](caf::close_atom) {
      self->state.common.stopping = true;
      if (!self->state.common.busy)
        stop(self);
    },
  };
}

} // namespace

queue_consumer_actor spawn_redis_consumer(caf::actor_system& system, redis_ingress_config cfg,
                                          std::string node, caf::actor supervisor,
                                          std::shared_ptr<const clock> time) {
  return system.spawn<caf::detached>(redis_consumer, std::move(cfg), std::move(node),
                                     std::move(supervisor), std::move(time));
}

} // namespace topup
