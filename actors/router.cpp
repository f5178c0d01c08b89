#include "actors/router.hpp"

#include "actors/deadline.hpp"
#include "messages/errors.hpp"
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

/// Start-up: accepted orders are routed afresh; orders with an attempt in flight go back to
/// the provider of that attempt, which queries it before anything else.
void recover(self_pointer self, std::vector<order> orders) {
  auto& st = self->state;
  // A second recovery (intake restarted) finds most orders already served here.
  orders.erase(std::remove_if(orders.begin(), orders.end(),
                              [&](const order& o) { return st.owner.count(o.id) != 0; }),
               orders.end());
  std::vector<order> waiting;
  std::vector<std::vector<order>> in_flight(st.lanes.size());
  self->send(st.reminders, track_atom::value, reminders_for(orders));
  for (auto& o : orders) {
    if (o.status == order_status::accepted) {
      waiting.push_back(std::move(o));
      continue;
    }
    auto known = st.provider_index.find(o.provider);
    if (known == st.provider_index.end()) {
      spdlog::error("router cannot query order {}: its attempt went to provider '{}', which is "
                    "no longer configured; it needs reconciliation",
                    o.id, o.provider);
      continue;
    }
    st.owner[o.id] = static_cast<uint16_t>(known->second);
    in_flight[known->second].push_back(std::move(o));
  }
  size_t queried = 0;
  for (size_t i = 0; i < in_flight.size(); ++i) {
    queried += in_flight[i].size();
    if (!in_flight[i].empty())
      self->send(st.lanes[i], recover_atom::value, std::move(in_flight[i]));
  }
  auto routed = waiting.size();
  route(self, std::move(waiting), false, [&](const order& o) {
    return choose_provider(st.views, o.carrier, routing_goal::preferred, st.budget_ms);
  });
  spdlog::info("router recovered {} waiting orders and {} with an attempt in flight", routed,
               queried);
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
    st.lanes.push_back(self->spawn<caf::linked>(recharge,
                                                make_recharge_options(provider, options.deadline),
                                                time, store, router_actor{self},
                                                adapter->second));
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
