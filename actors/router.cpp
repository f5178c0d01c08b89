#include "actors/router.hpp"

#include "actors/deadline.hpp"
#include "messages/errors.hpp"
#include "providers/http_provider.hpp"
#include "providers/simulated_provider.hpp"

#include <spdlog/spdlog.h>

namespace topup {
namespace {

using self_pointer = router_actor::stateful_pointer<router_state>;

std::vector<deadline_entry> reminders_for(const std::vector<order>& orders) {
  std::vector<deadline_entry> entries;
  entries.reserve(orders.size());
  for (const auto& o : orders)
    entries.push_back({o.id, o.deadline_ms});
  return entries;
}

/// Sends each provider its share of `orders`, picking providers with `choose`.
template <class Choose>
void route(self_pointer self, std::vector<order> orders, bool urgent, Choose choose) {
  auto& st = self->state;
  std::vector<std::vector<order>> per_provider(st.lanes.size());
  for (auto& o : orders) {
    auto index = choose(o);
    if (!index) {
      spdlog::error("router has no provider for carrier {} (order {})", o.carrier, o.id);
      continue;
    }
    st.owner[o.id] = static_cast<uint16_t>(*index);
    per_provider[*index].push_back(std::move(o));
  }
  for (size_t i = 0; i < per_provider.size(); ++i)
    if (!per_provider[i].empty())
      self->send(st.lanes[i], dispatch_atom::value, std::move(per_provider[i]), urgent);
}

void route_new(self_pointer self, std::vector<order> orders) {
  auto& st = self->state;
  std::vector<order> fresh;
  for (auto& o : orders)
    if (st.owner.count(o.id) == 0)
      fresh.push_back(std::move(o));
  if (fresh.empty())
    return;
  self->send(st.reminders, track_atom::value, reminders_for(fresh));
  route(self, std::move(fresh), false, [&](const order& o) {
    return choose_provider(st.views, o.carrier, routing_goal::preferred, st.budget_ms);
  });
}

/// Orders with an attempt in flight go back to the provider of that attempt, which queries
/// them before anything else. Returns how many were handed on.
size_t hand_in_flight(self_pointer self, std::vector<order> orders) {
  auto& st = self->state;
  std::vector<std::vector<order>> per_provider(st.lanes.size());
  size_t handed = 0;
  for (auto& o : orders) {
    auto known = st.provider_index.find(o.provider);
    if (known == st.provider_index.end()) {
      spdlog::error("router cannot query order {}: its attempt went to provider '{}', which is "
                    "no longer configured; it needs reconciliation",
                    o.id, o.provider);
      continue;
    }
    st.owner[o.id] = static_cast<uint16_t>(known->second);
    per_provider[known->second].push_back(std::move(o));
    ++handed;
  }
  for (size_t i = 0; i < per_provider.size(); ++i)
    if (!per_provider[i].empty())
      self->send(st.lanes[i], recover_atom::value, std::move(per_provider[i]));
  return handed;
}

/// Start-up: accepted orders are routed afresh; orders with an attempt in flight go back to
/// the provider of that attempt.
void recover(self_pointer self, std::vector<order> orders) {
  auto& st = self->state;
  // A second recovery (intake restarted) finds most orders already served here.
  orders.erase(std::remove_if(orders.begin(), orders.end(),
                              [&](const order& o) { return st.owner.count(o.id) != 0; }),
               orders.end());
  self->send(st.reminders, track_atom::value, reminders_for(orders));
  std::vector<order> waiting;
  std::vector<order> in_flight;
  for (auto& o : orders)
    (o.status == order_status::accepted ? waiting : in_flight).push_back(std::move(o));
  auto queried = hand_in_flight(self, std::move(in_flight));
  auto routed = waiting.size();
  route(self, std::move(waiting), false, [&](const order& o) {
    return choose_provider(st.views, o.carrier, routing_goal::preferred, st.budget_ms);
  });
  spdlog::info("router recovered {} waiting orders and {} with an attempt in flight", routed,
               queried);
}

/// Why an order that is not waiting in a queue cannot be cancelled (or that it is unknown).
void explain_refused_cancel(self_pointer self, const std::string& id,
                            caf::typed_response_promise<order> promise) {
  self->request(self->state.store, std::chrono::seconds(10), caf::get_atom::value, id)
    .then(
      [=](order& o) mutable {
        promise.deliver(make_error(errc::illegal_transition,
                                   "order " + id + " is " + std::string{to_string(o.status)}
                                     + "; only an order waiting for a provider can be cancelled"));
      },
      [=](caf::error& error) mutable { promise.deliver(error); });
}

/// Cancels an order taken out of its queue: failed (refunded) in the store, or put back.
void cancel_waiting(self_pointer self, order o, recharge_actor lane,
                    caf::typed_response_promise<order> promise) {
  transition change;
  change.order_id = o.id;
  change.from = o.status;
  change.event = order_event::cancel;
  change.at_ms = self->state.time->wall_ms();
  change.detail = "cancelled by the client";
  self->request(self->state.store, std::chrono::seconds(30), transition_atom::value,
                std::vector<transition>{change})
    .then(
      [=](std::vector<bool>& applied) mutable {
        if (applied.empty() || !applied[0]) {
          self->send(lane, dispatch_atom::value, std::vector<order>{o}, false);
          explain_refused_cancel(self, o.id, promise);
          return;
        }
        self->state.owner.erase(o.id);
        o.status = order_status::failed;
        o.updated_at_ms = change.at_ms;
        o.last_error = change.detail;
        if (auto& events = self->state.options.events)
          events->publish({{o, "cancel"}});
        promise.deliver(std::move(o));
      },
      [=](caf::error& error) mutable {
        self->send(lane, dispatch_atom::value, std::vector<order>{o}, false);
        promise.deliver(error);
      });
}

} // namespace

std::map<std::string, provider_factory> configured_adapters(const config& cfg,
                                                            std::shared_ptr<const clock> time) {
  std::map<std::string, provider_factory> adapters;
  for (const auto& provider : cfg.providers) {
    if (auto simulated = std::get_if<simulated_adapter_config>(&provider.adapter)) {
      adapters[provider.name] = [name = provider.name, sim = *simulated,
                                 time](caf::actor_system& system) {
        return spawn_simulated_provider(system, name, sim, time);
      };
    } else if (auto http = std::get_if<http_adapter_config>(&provider.adapter)) {
      adapters[provider.name] = [name = provider.name, http = *http,
                                 call_timeout = milliseconds{provider.timeout_ms},
                                 time](caf::actor_system& system) {
        return spawn_http_provider(system, name, http, call_timeout, time);
      };
    }
  }
  return adapters;
}

router_actor::behavior_type router(self_pointer self, engine_options options,
                                   std::shared_ptr<const clock> time, store_actor store) {
  auto& st = self->state;
  st.time = time;
  st.store = store;
  st.budget_ms = static_cast<double>(options.deadline.resend_at_ms.empty()
                                       ? options.deadline.limit_ms
                                       : options.deadline.resend_at_ms.front());
  st.reminders = self->spawn<caf::linked>(deadline, options.deadline, time,
                                          router_actor{self});
  for (size_t i = 0; i < options.providers.size(); ++i) {
    const auto& provider = options.providers[i];
    auto adapter = options.adapters.find(provider.name);
    if (adapter == options.adapters.end())
      throw std::invalid_argument("no adapter for provider " + provider.name);
    st.provider_index[provider.name] = i;
    provider_view view;
    view.name = provider.name;
    view.carriers = provider.carriers;
    view.preference = i;
    view.rate = provider.rate;
    view.concurrency = provider.concurrency;
    st.views.push_back(view);
    auto lane_options = make_recharge_options(provider, options.deadline);
    lane_options.events = options.events;
    st.lanes.push_back(self->spawn<caf::linked>(recharge, std::move(lane_options), time, store,
                                                router_actor{self}, adapter->second));
  }
  st.options = std::move(options);
  return {
    [=](dispatch_atom, std::vector<order>& orders) { route_new(self, std::move(orders)); },
    [=](done_atom, const std::vector<std::string>& ids) {
      for (const auto& id : ids)
        self->state.owner.erase(id);
    },
    [=](reroute_atom, std::vector<order>& orders, const std::string& from) {
      auto& state = self->state;
      route(self, std::move(orders), false, [&](const order& o) {
        return choose_provider(state.views, o.carrier, routing_goal::preferred,
                               state.budget_ms, from);
      });
    },
    [=](report_atom, const provider_report& report) {
      auto& state = self->state;
      auto index = state.provider_index.find(report.provider);
      if (index == state.provider_index.end())
        return;
      auto& view = state.views[index->second];
      view.queued = report.queued;
      view.in_flight = report.in_flight;
      view.accepting = report.accepting;
      view.latency_ms = report.latency_ms;
    },
    [=](resend_atom, const std::vector<std::string>& ids) {
      for (const auto& id : ids) {
        auto owner = self->state.owner.find(id);
        if (owner == self->state.owner.end())
          continue;  // finished already
        self->request(self->state.lanes[owner->second], std::chrono::seconds(10),
                      release_atom::value, id)
          .then(
            [=](std::vector<order>& released) {
              if (released.empty())
                return;  // in flight or finished: nothing to re-send
              auto& state = self->state;
              route(self, std::move(released), true, [&](const order& o) {
                return choose_provider(state.views, o.carrier, routing_goal::fastest,
                                       state.budget_ms);
              });
            },
            [=](caf::error& error) {
              spdlog::warn("router could not re-send order {}: {}", id, describe(error));
            });
      }
    },
    [=](expire_atom, const std::vector<std::string>& ids) {
      auto& state = self->state;
      std::vector<std::vector<std::string>> per_provider(state.lanes.size());
      for (const auto& id : ids) {
        auto owner = state.owner.find(id);
        if (owner != state.owner.end())
          per_provider[owner->second].push_back(id);
      }
      for (size_t i = 0; i < per_provider.size(); ++i)
        if (!per_provider[i].empty())
          self->send(state.lanes[i], expire_atom::value, std::move(per_provider[i]));
    },
    [=](stats_atom) -> caf::result<std::vector<provider_stats>> {
      auto promise = self->make_response_promise<std::vector<provider_stats>>();
      auto gathered = std::make_shared<std::vector<provider_stats>>();
      auto expected = self->state.lanes.size();
      for (auto& lane : self->state.lanes)
        self->request(lane, std::chrono::seconds(5), stats_atom::value)
          .then(
            [=](provider_stats& stats) mutable {
              gathered->push_back(std::move(stats));
              if (gathered->size() == expected)
                promise.deliver(std::move(*gathered));
            },
            [=](caf::error& error) mutable { promise.deliver(error); });
      return promise;
    },
    [=](cancel_atom, const std::string& id) -> caf::result<order> {
      auto promise = self->make_response_promise<order>();
      auto owner = self->state.owner.find(id);
      if (owner == self->state.owner.end()) {
        explain_refused_cancel(self, id, promise);
        return promise;
      }
      auto lane = self->state.lanes[owner->second];
      self->request(lane, std::chrono::seconds(10), release_atom::value, id)
        .then(
          [=](std::vector<order>& released) mutable {
            if (released.empty()) {
              explain_refused_cancel(self, id, promise);
              return;
            }
            cancel_waiting(self, std::move(released.front()), lane, promise);
          },
          [=](caf::error& error) mutable { promise.deliver(error); });
      return promise;
    },
    [=](caf::close_atom) {
      for (auto& lane : self->state.lanes)
        self->send(lane, caf::close_atom::value);
    },
    [=](recover_atom, std::vector<order>& in_flight) {
      hand_in_flight(self, std::move(in_flight));
    },
    [=](recover_atom) {
      self->request(self->state.store, std::chrono::seconds(120), load_atom::value)
        .then(
          [=](std::vector<order>& orders) {
            self->state.recovered = true;
            recover(self, std::move(orders));
          },
          [=](caf::error& error) {
            spdlog::error("router cannot load unfinished orders yet: {}", describe(error));
            self->delayed_send(self, self->state.options.recover_retry, recover_atom::value);
          });
    },
  };
}

} // namespace topup
