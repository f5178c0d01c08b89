#pragma once

// What the Redis and RabbitMQ consumers share: their counters and log lines, how each
// reacts to a broker that fails and to messages refused for now, and the actor shell around
// their one round of taking, submitting and settling a batch.

#include "actors/intake_submission.hpp"
#include "domain/clock.hpp"
#include "domain/queue_ingress.hpp"
#include "domain/retry_backoff.hpp"
#include "messages/interfaces.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace topup {

/// The state every consumer keeps besides its broker connection.
struct consumer_common {
  std::string label;  ///< "redis ingress shop:orders", for log lines
  std::string where;  ///< host:port of the broker
  retry_backoff backoff;
  bool busy = false;         ///< a batch waits for intake
  bool stopping = false;     ///< stop once the batch in hand is settled
  bool broker_down = false;  ///< logged once per outage

  struct counts {
    uint64_t taken = 0;         ///< messages submitted (again, for retries)
    uint64_t done = 0;          ///< removed or acknowledged after intake answered
    uint64_t dead_letters = 0;  ///< removed to the dead letters
    uint64_t retries = 0;       ///< kept to be tried again

    bool operator==(const counts& other) const {
      return taken == other.taken && done == other.done && dead_letters == other.dead_letters
             && retries == other.retries;
    }
  };
  counts total;
  counts logged;

  /// Logs what was consumed since the last summary, if anything.
  void log_summary() {
    if (total == logged)
      return;
    spdlog::info("{}: {} messages submitted, {} done, {} dead letters, {} kept for later", label,
                 total.taken, total.done, total.dead_letters, total.retries);
    logged = total;
  }

  /// The broker failed at `now`: the wait before trying again (logged once per outage).
  std::chrono::milliseconds broker_failed(const std::string& why, mono_time now) {
    auto wait = backoff.failed(now);
    if (!broker_down)
      spdlog::warn("{} cannot use {}: {}; trying again with backoff", label, where, why);
    else
      spdlog::debug("{} cannot use {}: {}; next try in {} ms", label, where, why, wait.count());
    broker_down = true;
    return wait;
  }

  /// The broker is usable again.
  void broker_up() {
    if (broker_down)
      spdlog::info("{} reconnected to {}", label, where);
    broker_down = false;
  }

  /// Counts a batch settled at `now`; the wait before the next one when some messages were
  /// refused for now, none when the next batch may start at once.
  std::optional<std::chrono::milliseconds> settled(const std::vector<message_outcome>& outcomes,
                                                   mono_time now) {
    busy = false;
    auto counted = count_fates(outcomes);
    total.done += counted.done;
    total.dead_letters += counted.dead_letters;
    total.retries += counted.retries;
    if (counted.retries == 0) {
      backoff.succeeded();
      return std::nullopt;
    }
    auto first = std::find_if(outcomes.begin(), outcomes.end(), [](const message_outcome& o) {
      return o.fate == message_fate::retry;
    });
    auto wait = backoff.failed(now);
    spdlog::info("{} keeps {} messages for now ({}); next try in {} ms", label, counted.retries,
                 first->why.describe(), wait.count());
    return wait;
  }
};

/// How often a consumer logs its summary.
inline constexpr std::chrono::seconds consumer_summary_interval{10};

/// The state of a consumer actor besides its broker connection; `Config` is its section of
/// the configuration (backoff, intake_timeout_ms).
template <class Config>
struct consumer_state {
  Config cfg;
  std::string node;
  supervisor_actor supervisor;
  std::shared_ptr<const clock> time;
  consumer_common common;

  /// Fills the state at the consumer's start; `label` and `where` name it in log lines.
  void start(Config config, std::string node_name, supervisor_actor node_supervisor,
             std::shared_ptr<const clock> clock_used, std::string label, std::string where) {
    common.label = std::move(label);
    common.where = std::move(where);
    common.backoff = retry_backoff{config.backoff.policy()};
    cfg = std::move(config);
    node = std::move(node_name);
    supervisor = std::move(node_supervisor);
    time = std::move(clock_used);
  }
};

/// Logs the summary and quits. `Self` is a consumer whose state has a consumer_common
/// `common`.
template <class Self>
void stop_consumer(Self self) {
  self->state.common.log_summary();
  spdlog::info("{} stops", self->state.common.label);
  self->quit();
}

/// Whether a round may take messages: not while a batch waits for intake, nor once the node
/// asked the consumer to stop (it stops then).
template <class Self>
bool round_may_start(Self self) {
  if (self->state.common.busy)
    return false;
  if (self->state.common.stopping) {
    stop_consumer(self);
    return false;
  }
  return true;
}

/// Submits the bodies of the messages taken to intake as orders of `ingress`, as one batch;
/// `done(outcomes)` settles them (submit_to_intake).
template <class Self, class Done>
void submit_messages(Self self, const std::vector<std::string>& messages,
                     std::string_view ingress, Done done) {
  auto& st = self->state;
  st.common.busy = true;
  st.common.total.taken += messages.size();
  submit_to_intake(self, st.supervisor, std::make_shared<const ingress_batch>(messages),
                   std::string{ingress},
                   caf::duration{std::chrono::milliseconds{st.cfg.intake_timeout_ms}},
                   std::move(done));
}

/// After a batch was settled (consumer_common::settled gave `wait`): stops when the node
/// asked it to, else starts the next round at once or after the wait.
template <class Self>
void next_round(Self self, std::optional<std::chrono::milliseconds> wait) {
  if (self->state.common.stopping)
    stop_consumer(self);
  else if (wait)
    self->delayed_send(self, *wait, pump_atom::value);
  else
    self->send(self, pump_atom::value);
}

/// The behavior of a consumer: `step(self)` runs one round on each pump (it does nothing
/// while a batch waits for intake, and ends by sending the next pump itself); a summary is
/// logged every consumer_summary_interval; close stops it once the batch in hand is settled.
template <class Self, class Step>
queue_consumer_actor::behavior_type consumer_behavior(Self self, Step step) {
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
        stop_consumer(self);
    },
  };
}

} // namespace topup
