#include "actors/intake.hpp"

#include "domain/intake_rules.hpp"
#include "messages/errors.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace topup {
namespace {

using self_pointer = intake_actor::stateful_pointer<intake_state>;

/// The answer for one order, given what the store did with it.
submit_result settle(intake_state& st, insert_outcome& outcome, const order_request& request) {
  switch (classify_submission(outcome.inserted, outcome.stored, request)) {
    case submission_kind::new_order:
      st.stats.accepted++;
      return {caf::error{}, std::move(outcome.stored), false};
    case submission_kind::resubmission:
      st.stats.existing++;
      return {caf::error{}, std::move(outcome.stored), true};
    case submission_kind::conflict:
      break;
  }
  st.stats.rejected++;
  return {make_error(reference_conflict(outcome.stored, request)), order{}, false};
}

/// Validates each request: the rejected get their error now, the admitted join the gathered
/// orders and count as in flight (and against their provider, for admission) from this
/// moment, so a burst cannot overshoot the limits. A resubmission is refused like a new order
/// while its carrier's providers are full: the store is not asked about refused orders.
waiting_submit admit(self_pointer self, std::vector<order_request> requests,
                     const std::string& ingress = {}) {
  auto& st = self->state;
  waiting_submit submit;
  submit.arrived = st.time->now();
  submit.results.resize(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    auto checked = validate(requests[i], st.options.rules);
    if (auto f = std::get_if<failure>(&checked)) {
      st.stats.rejected++;
      submit.results[i].error = make_error(*f);
      continue;
    }
    if (st.stats.in_flight >= st.options.max_in_flight) {
      st.stats.overloaded++;
      submit.results[i].error = make_error(errc::overloaded,
                                           std::to_string(st.stats.in_flight)
                                             + " orders are already waiting to be stored");
      continue;
    }
    auto& valid = std::get<validated_request>(checked);
    // The store's row is compared with the request as validated: its merchant filled in.
    requests[i].merchant = valid.request.merchant;
    auto verdict = st.admission.admit(valid.carrier);
    if (!verdict.admitted) {
      st.stats.overloaded++;
      submit.results[i].error = make_error(verdict.refusal);
      continue;
    }
    auto id = st.ids->next_for(valid.request.merchant, valid.request.client_ref);
    st.gathered.push_back(make_order(valid, std::move(id), *st.time, st.options.deadline_limit_ms));
    st.gathered_charges.push_back(verdict.charged);
    st.gathered.back().ingress = ingress;
    st.stats.in_flight++;
    submit.positions.push_back(i);
  }
  submit.requests = std::move(requests);
  return submit;
}

/// Answers a submit whose results are all known.
void answer(waiting_submit& submit) {
  if (auto single = std::get_if<waiting_submit::single_reply>(&submit.reply)) {
    auto& result = submit.results.front();
    if (result.error)
      single->deliver(std::move(result.error));
    else
      single->deliver(std::move(result.accepted));
    return;
  }
  std::get<waiting_submit::batch_reply>(submit.reply).deliver(std::move(submit.results));
}

using charges = std::vector<admission_control::charge>;

/// Fills in the results from the store's outcomes (one per gathered order, in the same order),
/// hands the new orders on in one message and answers every submit.
void stored(self_pointer self, std::vector<waiting_submit>& waiting,
            std::vector<insert_outcome>& outcomes, const charges& charged) {
  auto& st = self->state;
  st.stats.in_flight -= outcomes.size();
  // Copied for the sink only if there is one: the answers keep their own.
  bool hand_on = static_cast<bool>(st.sink);
  std::vector<order> fresh;
  if (hand_on)
    fresh.reserve(outcomes.size());
  auto outcome = outcomes.begin();
  auto charge = charged.begin();
  auto* accept_latency = st.options.metrics ? &st.options.metrics->accept_latency() : nullptr;
  auto now = st.time->now();
  for (auto& submit : waiting)
    for (auto i : submit.positions) {
      auto& result = submit.results[i];
      result = settle(st, *outcome++, submit.requests[i]);
      if (accept_latency && !result.error && !result.existing)
        accept_latency->Observe(seconds_of(now - submit.arrived));
      if (hand_on && !result.error && !result.existing) {
        fresh.push_back(result.accepted);
        st.admission.handed_on(*charge++);
      } else {
        st.admission.withdraw(*charge++);
      }
    }
  if (!fresh.empty()) {
    if (st.options.events && st.options.events->wanted()) {
      std::vector<order_update> accepted;
      for (const auto& o : fresh)
        accepted.push_back({o, "accept"});
      st.options.events->publish(std::move(accepted));
    }
    self->send(st.sink, dispatch_atom::value, std::move(fresh));
  }
  for (auto& submit : waiting)
    answer(submit);
}

/// Answers every gathered order of a failed insert with the same error.
void not_stored(self_pointer self, std::vector<waiting_submit>& waiting, size_t count,
                const caf::error& reason, const charges& charged) {
  auto& st = self->state;
  st.stats.in_flight -= count;
  for (auto charge : charged)
    st.admission.withdraw(charge);
  st.stats.unavailable += count;
  for (auto& submit : waiting) {
    for (auto i : submit.positions)
      submit.results[i].error = reason;
    answer(submit);
  }
}

/// Sends every gathered order to the store in one insert.
void flush(self_pointer self) {
  auto& st = self->state;
  if (st.gathered.empty())
    return;
  auto count = st.gathered.size();
  // Shared by both handlers: one of them answers the submits.
  auto waiting = std::make_shared<std::vector<waiting_submit>>(std::move(st.waiting));
  st.waiting.clear();
  auto orders = std::move(st.gathered);
  st.gathered.clear();
  auto charged = std::make_shared<charges>(std::move(st.gathered_charges));
  st.gathered_charges.clear();
  // The next pass is likely as busy as this one: growing from nothing moves every order
  // several times.
  st.gathered.reserve(std::min(count, st.options.max_gathered));
  self->request(st.store, st.options.store_timeout, insert_atom::value, std::move(orders))
    .then(
      [=](std::vector<insert_outcome>& outcomes) {
        // Outcomes are matched to orders by position: a miscount would answer clients with
        // other clients' orders.
        if (outcomes.size() != count)
          not_stored(self, *waiting, count,
                     make_error(errc::unavailable,
                                "the store answered " + std::to_string(outcomes.size())
                                  + " outcomes for " + std::to_string(count) + " orders"),
                     *charged);
        else
          stored(self, *waiting, outcomes, *charged);
      },
      [=](caf::error& error) {
        not_stored(self, *waiting, count,
                   as_failure(error) ? error : make_error(errc::unavailable, describe(error)),
                   *charged);
      });
}

/// Parks a submit with admitted orders until the store has them and returns the promise of
/// its answer. The flush is queued behind every message already in the mailbox, so the
/// orders of all of them ride one insert.
template <class... Ts>
caf::typed_response_promise<Ts...> wait_for_store(self_pointer self, waiting_submit submit) {
  auto& st = self->state;
  auto promise = self->make_response_promise<Ts...>();
  submit.reply = promise;
  st.waiting.push_back(std::move(submit));
  if (st.gathered.size() >= st.options.max_gathered)
    flush(self);
  else
    st.flush_pass.request(self);
  return promise;
}

caf::result<std::vector<submit_result>>
submit_batch(self_pointer self, std::vector<order_request> requests, const std::string& ingress) {
  if (requests.empty())
    return make_error(errc::invalid_argument, "a batch needs at least one order");
  auto submit = admit(self, std::move(requests), ingress);
  if (submit.positions.empty())
    return std::move(submit.results);
  return wait_for_store<std::vector<submit_result>>(self, std::move(submit));
}

} // namespace

intake_actor::behavior_type intake(self_pointer self, intake_options options,
                                   std::shared_ptr<const clock> time, store_actor store,
                                   order_sink_actor sink) {
  auto& st = self->state;
  st.ids = std::make_unique<order_id_generator>(options.node_name, time->wall_ms(),
                                                options.store_shards);
  st.options = std::move(options);
  st.time = std::move(time);
  st.store = std::move(store);
  st.sink = std::move(sink);
  return {
    [=](submit_atom, order_request& request) -> caf::result<order> {
      std::vector<order_request> requests;
      requests.push_back(std::move(request));
      auto submit = admit(self, std::move(requests));
      if (submit.positions.empty())
        return std::move(submit.results.front().error);
      return wait_for_store<order>(self, std::move(submit));
    },
    [=](submit_atom, std::vector<order_request>& requests)
      -> caf::result<std::vector<submit_result>> {
      return submit_batch(self, std::move(requests), {});
    },
    [=](submit_atom, std::vector<order_request>& requests, const std::string& ingress)
      -> caf::result<std::vector<submit_result>> {
      return submit_batch(self, std::move(requests), ingress);
    },
    [=](caf::flush_atom) {
      self->state.flush_pass.arrived();
      flush(self);
    },
    [=](stats_atom) { return self->state.stats; },
    [=](caf::update_atom, store_actor& new_store, order_sink_actor& new_sink) {
      auto& state = self->state;
      if (new_sink != state.sink)
        state.admission.router_changed();
      state.store = std::move(new_store);
      state.sink = std::move(new_sink);
      return ack_atom::value;
    },
    [=](admission_atom, admission_snapshot& snapshot) {
      // Only the router intake hands its orders to counts them: a replaced one's late
      // snapshot would not.
      auto& state = self->state;
      if (state.sink
          && self->current_sender() == caf::actor_cast<caf::strong_actor_ptr>(state.sink))
        state.admission.update(std::move(snapshot));
    },
  };
}

} // namespace topup
