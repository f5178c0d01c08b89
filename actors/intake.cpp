#include "actors/intake.hpp"

#include "domain/intake_rules.hpp"
#include "messages/errors.hpp"

#include <spdlog/spdlog.h>

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

/// Validates each request; returns the orders to write and fills `results` for the rest.
std::vector<order> admit(self_pointer self, const std::vector<order_request>& requests,
                         std::vector<submit_result>& results, std::vector<size_t>& positions) {
  auto& st = self->state;
  std::vector<order> orders;
  for (size_t i = 0; i < requests.size(); ++i) {
    auto checked = validate(requests[i], st.options.rules);
    if (auto f = std::get_if<failure>(&checked)) {
      st.stats.rejected++;
      results[i].error = make_error(*f);
      continue;
    }
    if (st.stats.in_flight + orders.size() >= st.options.max_in_flight) {
      st.stats.overloaded++;
      results[i].error = make_error(errc::overloaded,
                                    std::to_string(st.stats.in_flight)
                                      + " orders are already waiting to be stored");
      continue;
    }
    orders.push_back(make_order(std::get<validated_request>(checked), st.ids->next(),
                                st.time->wall_ms(), st.options.deadline_limit_ms));
    positions.push_back(i);
  }
  return orders;
}

/// Writes the admitted orders, then fills their results, hands new ones on and calls `done`.
template <class Done>
void persist(self_pointer self, std::vector<order> orders, std::vector<order_request> requests,
             std::vector<submit_result> results, std::vector<size_t> positions, Done done) {
  auto& st = self->state;
  auto count = orders.size();
  st.stats.in_flight += count;
  self->request(st.store, st.options.store_timeout, insert_atom::value, std::move(orders))
    .then(
      [=](std::vector<insert_outcome>& outcomes) mutable {
        auto& state = self->state;
        state.stats.in_flight -= count;
        std::vector<order> fresh;
        for (size_t k = 0; k < outcomes.size() && k < positions.size(); ++k) {
          auto i = positions[k];
          results[i] = settle(state, outcomes[k], requests[i]);
          if (!results[i].error && !results[i].existing)
            fresh.push_back(results[i].accepted);
        }
        if (!fresh.empty() && state.sink)
          self->send(state.sink, dispatch_atom::value, std::move(fresh));
        done(std::move(results));
      },
      [=](caf::error& error) mutable {
        auto& state = self->state;
        state.stats.in_flight -= count;
        state.stats.unavailable += count;
        auto reason = as_failure(error) ? error : make_error(errc::unavailable, describe(error));
        for (auto i : positions)
          results[i].error = reason;
        done(std::move(results));
      });
}

} // namespace

intake_actor::behavior_type intake(self_pointer self, intake_options options,
                                   std::shared_ptr<const clock> time, store_actor store,
                                   order_sink_actor sink) {
  auto& st = self->state;
  st.ids = std::make_unique<order_id_generator>(options.node_name, time->wall_ms());
  st.options = std::move(options);
  st.time = std::move(time);
  st.store = std::move(store);
  st.sink = std::move(sink);
  return {
    [=](submit_atom, order_request& request) -> caf::result<order> {
      std::vector<order_request> requests{std::move(request)};
      std::vector<submit_result> results(1);
      std::vector<size_t> positions;
      auto orders = admit(self, requests, results, positions);
      if (orders.empty())
        return std::move(results[0].error);
      auto promise = self->make_response_promise<order>();
      persist(self, std::move(orders), std::move(requests), std::move(results),
              std::move(positions), [promise](std::vector<submit_result> done) mutable {
                if (done[0].error)
                  promise.deliver(std::move(done[0].error));
                else
                  promise.deliver(std::move(done[0].accepted));
              });
      return promise;
    },
    [=](submit_atom, std::vector<order_request>& requests)
      -> caf::result<std::vector<submit_result>> {
      if (requests.empty())
        return make_error(errc::invalid_argument, "a batch needs at least one order");
      std::vector<submit_result> results(requests.size());
      std::vector<size_t> positions;
      auto orders = admit(self, requests, results, positions);
      if (orders.empty())
        return results;
      auto promise = self->make_response_promise<std::vector<submit_result>>();
      persist(self, std::move(orders), std::move(requests), std::move(results),
              std::move(positions), [promise](std::vector<submit_result> done) mutable {
                promise.deliver(std::move(done));
              });
      return promise;
    },
    [=](stats_atom) { return self->state.stats; },
    [=](caf::update_atom, store_actor& new_store, order_sink_actor& new_sink) {
      self->state.store = std::move(new_store);
      self->state.sink = std::move(new_sink);
      return true;
    },
  };
}

} // namespace topup
