#include "actors/router.hpp"

#include "actors/deadline.hpp"
#include "domain/ownership.hpp"
#include "messages/errors.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>
#include <map>
#include <optional>

namespace topup {
namespace {

using self_pointer = router_actor::stateful_pointer<router_state>;

deadline_entry reminder_of(const order& o) {
  return {o.id, steady_ms(steady_deadline_of(o))};
}

std::vector<deadline_entry> reminders_for(const std::vector<order>& orders) {
  std::vector<deadline_entry> entries;
  entries.reserve(orders.size());
  for (const auto& o : orders)
    entries.push_back(reminder_of(o));
  return entries;
}

/// Orders entering the engine from intake carry their steady deadline already; those read
/// from the store or sent by another node get it here, once (see steady_time_of).
void anchor(self_pointer self, std::vector<order>& orders) {
  for (auto& o : orders)
    anchor_deadline(o, *self->state.time);
}

bool clustered(self_pointer self) {
  return static_cast<bool>(self->state.options.cluster);
}

/// Whether the message being handled comes from `handle`.
template <class Handle>
bool sent_by(self_pointer self, const Handle& handle) {
  return handle && self->current_sender() == caf::actor_cast<caf::strong_actor_ptr>(handle);
}

/// Sends orders to the lane of `provider`, counting them in its view until its next report
/// counts them itself.
void send_to_lane(self_pointer self, size_t provider, std::vector<order> orders, bool urgent) {
  auto& st = self->state;
  st.sent_to_lane[provider] += orders.size();
  st.views[provider].queued += orders.size();
  self->send(st.lanes[provider], dispatch_atom::value, std::move(orders), urgent);
}

/// The view of a provider whose lane (re)starts here, or that another node holds now: no
/// load known yet, or none at all.
void reset_load(self_pointer self, size_t provider, bool known) {
  auto& st = self->state;
  auto& view = st.views[provider];
  view.queued = 0;
  view.in_flight = 0;
  view.waiting = 0;
  view.accepting = true;
  view.calls_per_order = 1;
  view.store_lag_ms = 0;
  view.load_known = known;
  st.sent_to_lane[provider] = 0;
}

/// Hands intake the providers' load as this router knows it now (admission).
void publish_admission(self_pointer self) {
  auto& st = self->state;
  if (!st.intake || !st.options.admission.enabled)
    return;
  self->send(st.intake, admission_atom::value,
             admission_snapshot{st.orders_from_intake, st.budget_ms, st.views,
                                st.latest_start_ms,
                                static_cast<double>(st.options.admission.store_lag_limit_ms)});
}

/// Cluster: orders for a provider another node holds go to that node; this node keeps no
/// track of them.
void forward_to_owner(self_pointer self, size_t provider, std::vector<order> orders) {
  auto& st = self->state;
  if (!clustered(self)) {
    spdlog::error("router has no lane for provider {}", st.options.providers[provider].name);
    return;
  }
  for (const auto& o : orders) {
    st.owner.erase(o.id);
    st.unconfirmed.insert(o.id);
  }
  self->send(st.options.cluster, forward_atom::value, std::move(orders),
             st.options.providers[provider].name);
}

/// Hands each provider's share to its lane with `send(index, share)` (the router holds those
/// orders from now on), or to the provider's owner when another node holds it.
template <class Send>
void hand_to_lanes(self_pointer self, std::vector<std::vector<order>> per_provider, Send send) {
  auto& st = self->state;
  for (size_t i = 0; i < per_provider.size(); ++i) {
    if (per_provider[i].empty())
      continue;
    if (!st.lanes[i]) {
      forward_to_owner(self, i, std::move(per_provider[i]));
      continue;
    }
    for (const auto& o : per_provider[i])
      st.owner[o.id] = static_cast<uint16_t>(i);
    send(i, std::move(per_provider[i]));
  }
}

/// Sends each provider its share of `orders`, picking providers with `choose`.
template <class Choose>
void route(self_pointer self, std::vector<order> orders, bool urgent, Choose choose) {
  auto& st = self->state;
  std::vector<std::vector<order>> per_provider(st.lanes.size());
  for (auto& o : orders) {
    auto index = choose(o);
    if (!index) {
      spdlog::error("router has no provider for carrier {} (order={}): it is closed at its "
                    "deadline",
                    o.carrier, o.id);
      continue;
    }
    per_provider[*index].push_back(std::move(o));
  }
  hand_to_lanes(self, std::move(per_provider), [&](size_t index, auto share) {
    send_to_lane(self, index, std::move(share), urgent);
  });
}

void route_new(self_pointer self, std::vector<order> orders) {
  auto& st = self->state;
  anchor(self, orders);
  std::vector<order> fresh;
  for (auto& o : orders)
    if (st.owner.count(o.id) == 0)
      fresh.push_back(std::move(o));
  if (fresh.empty())
    return;
  self->send(st.reminders, track_atom::value, reminders_for(fresh));
  route(self, std::move(fresh), false, [&](const order& o) {
    return choose_provider_for(st.views, o, routing_goal::preferred, st.budget_ms);
  });
}

/// Orders with an attempt in flight go back to the provider of that attempt, which queries
/// them before anything else. Returns how many were handed on.
size_t hand_in_flight(self_pointer self, std::vector<order> orders) {
  auto& st = self->state;
  anchor(self, orders);
  std::vector<std::vector<order>> per_provider(st.lanes.size());
  size_t handed = 0;
  for (auto& o : orders) {
    auto known = st.provider_index.find(o.provider);
    if (known == st.provider_index.end()) {
      spdlog::error("router cannot query order={}: its attempt went to provider '{}', which is "
                    "no longer configured; it needs reconciliation",
                    o.id, o.provider);
      continue;
    }
    per_provider[known->second].push_back(std::move(o));
    ++handed;
  }
  hand_to_lanes(self, std::move(per_provider), [&](size_t index, auto share) {
    self->send(st.lanes[index], recover_atom::value, std::move(share));
  });
  return handed;
}

/// How many orders a recovery handed on.
struct recovered_counts {
  size_t waiting = 0;
  size_t in_flight = 0;
};

void log_recovered(const recovered_counts& counts) {
  spdlog::info("router recovered {} waiting orders and {} with an attempt in flight",
               counts.waiting, counts.in_flight);
}

/// Start-up: accepted orders are routed afresh; orders with an attempt in flight go back to
/// the provider of that attempt.
recovered_counts recover(self_pointer self, std::vector<order> orders) {
  auto& st = self->state;
  // A second recovery (intake restarted) finds most orders already served here.
  orders.erase(std::remove_if(orders.begin(), orders.end(),
                              [&](const order& o) { return st.owner.count(o.id) != 0; }),
               orders.end());
  anchor(self, orders);
  self->send(st.reminders, track_atom::value, reminders_for(orders));
  std::vector<order> waiting;
  std::vector<order> in_flight;
  for (auto& o : orders)
    (o.status == order_status::accepted ? waiting : in_flight).push_back(std::move(o));
  recovered_counts counts{waiting.size(), hand_in_flight(self, std::move(in_flight))};
  route(self, std::move(waiting), false, [&](const order& o) {
    return choose_provider_for(st.views, o, routing_goal::preferred, st.budget_ms);
  });
  return counts;
}

/// Orders per page of the start-up recovery: a backlog of millions is read and handed on a
/// page at a time, never held whole in one more copy.
constexpr uint32_t recovery_page_size = 50000;

/// Which unfinished orders a recovery serves: every one (a single node), or those a
/// cluster node serves on taking the named providers over (served_after_takeover).
using recovery_scope = std::optional<std::vector<std::string>>;

/// Recovers the unfinished orders in `scope` after (deadline_ms, id), a page at a time, and
/// logs the total once the last page is handed on.
void recover_from(self_pointer self, recovery_scope scope, int64_t after_deadline_ms,
                  std::string after_id, recovered_counts so_far) {
  self->request(self->state.store, self->state.options.timeouts.store_load, load_atom::value,
                after_deadline_ms, after_id, recovery_page_size)
    .then(
      [=](std::vector<order>& page) {
        self->state.recovered = true;
        auto last = page.empty() ? std::optional<order>{} : std::optional<order>{page.back()};
        auto full = page.size() == recovery_page_size;
        if (scope)
          page.erase(std::remove_if(page.begin(), page.end(),
                                    [&](const order& o) {
                                      return !served_after_takeover(o, *scope);
                                    }),
                     page.end());
        auto counts = recover(self, std::move(page));
        auto total = recovered_counts{so_far.waiting + counts.waiting,
                                      so_far.in_flight + counts.in_flight};
        if (full && last)
          recover_from(self, scope, last->deadline_ms, last->id, total);
        else {
          log_recovered(total);
          self->state.recovery_done = true;
        }
      },
      [=](caf::error& error) {
        spdlog::error("router cannot load unfinished orders yet: {}", describe(error));
        // Again from the start: what was handed on already is skipped (recover).
        auto retry = self->state.options.recover_retry;
        if (scope && scope->empty())
          self->delayed_send(self, retry, recover_atom::value, members_atom::value);
        else
          self->delayed_send(self, retry, recover_atom::value);
      });
}

/// Starts the lane of provider `index`; in cluster mode under the lease epoch the lane
/// lifecycle says.
void spawn_lane(self_pointer self, size_t index) {
  auto& st = self->state;
  const auto& provider = st.options.providers[index];
  auto lane_options = make_recharge_options(provider, st.options.deadline);
  lane_options.providers = provider_views(st.options.providers);
  lane_options.events = st.options.events;
  lane_options.send_hold = st.options.send_hold;
  lane_options.metrics = st.options.metrics;
  if (clustered(self)) {
    lane_options.lease_owner = st.options.node_name;
    lane_options.lease_epoch = st.lifecycle.epoch_of(index);
    lane_options.lease_valid_until = st.lifecycle.valid_until(index);
  }
  st.lanes[index] = self->spawn<caf::linked>(recharge, std::move(lane_options), st.time, st.store,
                                             router_actor{self},
                                             st.options.adapters.at(provider.name));
  reset_load(self, index, true);
}

void start_lanes(self_pointer self, const std::vector<size_t>& started);
std::vector<std::string> take_forwarded(self_pointer self, std::vector<order> orders,
                                        const std::string& provider);

/// Cluster: the lane of a provider this node gives up stops calling and hands its waiting
/// orders back (forward_atom), which go on to the next holder; once no call of it is in
/// flight, the lease is released to the next owner, which takes the others over from the
/// store. This node forgets them now: their next owner serves them.
void retire_lane(self_pointer self, lane_lifecycle::retired_lane retired) {
  auto& st = self->state;
  auto index = retired.provider;
  auto epoch = retired.epoch;
  auto lane = st.lanes[index];
  auto provider = st.options.providers[index].name;
  st.lanes[index] = nullptr;
  reset_load(self, index, false);
  for (auto i = st.owner.begin(); i != st.owner.end();)
    i = i->second == index ? st.owner.erase(i) : std::next(i);
  spdlog::info("router gives up provider {} (epoch {}): finishing its calls", provider, epoch);
  auto drained = [=] {
    self->unlink_from(lane);
    self->send_exit(lane, caf::exit_reason::user_shutdown);
    start_lanes(self, self->state.lifecycle.drained(index));
  };
  self->request(lane, self->state.options.timeouts.lane_drain, released_atom::value)
    .then(
      [=](ack_atom) {
        self->send(self->state.options.cluster, released_atom::value, provider, epoch);
        spdlog::info("router released provider {} (epoch {})", provider, epoch);
        drained();
      },
      [=](caf::error& error) {
        // Every call ends within its provider's timeout, far below this wait: the lane is
        // stuck, not calling. The lease expires by itself; the fence stops its writes.
        spdlog::error("router could not drain provider {}: {}", provider, describe(error));
        drained();
      });
}

/// Cluster: the unfinished orders of newly held providers come from the store, a page at a
/// time: those in flight there, and every waiting order (served_after_takeover). No
/// providers: the waiting orders alone (a member left holding none).
void adopt(self_pointer self, const std::vector<size_t>& providers) {
  std::vector<std::string> taken;
  for (auto index : providers)
    taken.push_back(self->state.options.providers[index].name);
  recover_from(self, std::move(taken), std::numeric_limits<int64_t>::min(), std::string{}, {});
}

/// Cluster: starts the lanes the lane lifecycle says can start, hands them the orders that
/// waited here for them, and takes over their other orders from the store.
void start_lanes(self_pointer self, const std::vector<size_t>& started) {
  auto& st = self->state;
  for (auto i : started) {
    spawn_lane(self, i);
    spdlog::info("router takes provider {} (epoch {})", st.options.providers[i].name,
                 st.lifecycle.epoch_of(i));
    if (auto awaiting = st.awaiting_lane.extract(i))
      take_forwarded(self, std::move(awaiting.mapped()), st.options.providers[i].name);
  }
  if (!started.empty())
    adopt(self, started);
}

/// Cluster: serve exactly the providers whose lease this node holds, under their epochs;
/// the lanes learn each renewal's validity.
void apply_ownership(self_pointer self, const std::vector<provider_lease>& leases) {
  auto& st = self->state;
  std::vector<held_lease> held;
  for (const auto& lease : leases) {
    auto index = st.provider_index.find(lease.provider);
    if (index != st.provider_index.end())
      held.push_back({index->second, lease.epoch, lease.valid_until});
  }
  auto steps = st.lifecycle.hold(held);
  for (const auto& renewed : steps.renewed)
    self->send(st.lanes[renewed.provider], own_atom::value,
               provider_lease{st.options.providers[renewed.provider].name, renewed.epoch,
                              renewed.valid_until});
  for (const auto& retired : steps.retired)
    retire_lane(self, retired);
  for (auto index : steps.unheld)
    if (auto awaiting = st.awaiting_lane.extract(index))
      forward_to_owner(self, index, std::move(awaiting.mapped()));
  start_lanes(self, steps.started);
}

/// Cluster: orders another node forwarded to `provider` because this node holds it. Served
/// here (in-flight ones by the lane of their attempt) when this node still holds it; the
/// others go on to the holder this node knows of. This node watches the deadline of each one
/// it takes, passed on or not (the next forward may be lost too). Returns the ids of those:
/// whoever forwarded them stops watching them.
std::vector<std::string> take_forwarded(self_pointer self, std::vector<order> orders,
                                        const std::string& provider) {
  auto& st = self->state;
  std::vector<std::string> held;
  anchor(self, orders);
  auto local_lane = [&](const std::string& name) -> std::optional<size_t> {
    auto index = st.provider_index.find(name);
    if (index == st.provider_index.end() || !st.lanes[index->second])
      return std::nullopt;
    return index->second;
  };
  auto target = local_lane(provider);
  std::vector<order> waiting;
  std::vector<order> in_flight;
  std::map<size_t, std::vector<order>> elsewhere;  // by provider index
  std::vector<deadline_entry> watched;
  for (auto& o : orders) {
    if (st.owner.count(o.id) != 0) {
      held.push_back(o.id);  // held and watched here already
      continue;
    }
    const auto& serving = o.status == order_status::accepted ? provider : o.provider;
    bool here = o.status == order_status::accepted ? target.has_value()
                                                   : local_lane(o.provider).has_value();
    if (!here) {
      // Its provider changed hands on the way: on to the holder this node's cluster actor
      // knows of; or this node holds it again and its lane waits for the old one to drain.
      auto index = st.provider_index.find(serving);
      if (index == st.provider_index.end()) {
        // Nodes configured with different providers: the deadline net closes it.
        spdlog::error("router got order={} for provider '{}', which this node does not have",
                      o.id, serving);
        continue;
      }
      held.push_back(o.id);
      watched.push_back(reminder_of(o));
      if (st.lifecycle.held(index->second))
        st.awaiting_lane[index->second].push_back(std::move(o));
      else
        elsewhere[index->second].push_back(std::move(o));
      continue;
    }
    held.push_back(o.id);
    watched.push_back(reminder_of(o));
    (o.status == order_status::accepted ? waiting : in_flight).push_back(std::move(o));
  }
  for (const auto& id : held)
    st.unconfirmed.erase(id);
  self->send(st.reminders, track_atom::value, std::move(watched));
  for (auto& [index, share] : elsewhere)
    forward_to_owner(self, index, std::move(share));
  hand_in_flight(self, std::move(in_flight));
  route(self, std::move(waiting), false, [&](const order&) { return target; });
  return held;
}

/// Orders this node accepted (or held) that reached their deadline while no lane here holds
/// them: orders no configured provider serves (the configuration changed since they were
/// accepted), and in a cluster orders that fell between owners (forwarded while their
/// provider changed hands; whoever serves them closes them at the deadline too). An order
/// still waiting is closed; on a single node an attempt no provider can answer for any more
/// becomes unknown; anything else is refused by the store unchanged.
void expire_unheld(self_pointer self, const std::vector<std::string>& ids) {
  auto& st = self->state;
  std::vector<transition> changes;
  for (const auto& id : ids) {
    transition change;
    change.order_id = id;
    change.from = order_status::accepted;
    change.event = order_event::expire;
    change.at_ms = st.time->wall_ms();
    change.detail = std::string{deadline_reached} + " before a provider took the order";
    if (!clustered(self)) {
      // A single node holds every order it has in flight, but one whose attempt went to a
      // provider no longer configured (recovery could not hand it back): nothing can ask
      // about that attempt, so its outcome is unknown, for the operator to reconcile.
      transition unanswered = change;
      unanswered.from = order_status::dispatched;
      unanswered.event = order_event::lose_outcome;
      unanswered.detail = std::string{deadline_reached}
                          + ": the provider of its attempt is no longer configured";
      changes.push_back(std::move(unanswered));
    }
    changes.push_back(std::move(change));
  }
  self->request(st.store, st.options.timeouts.expiry_write, transition_atom::value,
                std::move(changes))
    .then(
      [=](std::vector<bool>& applied) {
        auto closed = std::count(applied.begin(), applied.end(), true);
        if (closed > 0)
          spdlog::warn("router closed {} orders at their deadline that no provider held", closed);
      },
      [=](caf::error& error) {
        spdlog::error("router could not close {} orders at their deadline: {}", ids.size(),
                      describe(error));
      });
}

/// Why an order that is not waiting in a queue cannot be cancelled (or that it is unknown).
void explain_refused_cancel(self_pointer self, const std::string& id,
                            caf::typed_response_promise<order> promise) {
  self->request(self->state.store, self->state.options.timeouts.order_read, caf::get_atom::value,
                id)
    .then(
      [=](order& o) mutable {
        promise.deliver(make_error(errc::illegal_transition,
                                   "order " + id + " is " + std::string{to_string(o.status)}
                                     + "; only an order waiting for a provider can be cancelled"));
      },
      [=](caf::error& error) mutable { promise.deliver(error); });
}

/// Puts an order taken out of the queue of `lane` (provider `index`) back there.
void put_back(self_pointer self, size_t index, const recharge_actor& lane, order o) {
  if (self->state.lanes[index] == lane)
    send_to_lane(self, index, {std::move(o)}, false);
  else  // given up meanwhile (cluster): it hands its queue on to the next holder
    self->send(lane, dispatch_atom::value, std::vector<order>{std::move(o)}, false);
}

/// Cancels an order taken out of its queue: failed (refunded) in the store, or put back.
void cancel_waiting(self_pointer self, order o, size_t index, recharge_actor lane,
                    caf::typed_response_promise<order> promise) {
  transition change;
  change.order_id = o.id;
  change.from = o.status;
  change.event = order_event::cancel;
  change.at_ms = self->state.time->wall_ms();
  change.detail = "cancelled by the client";
  self->request(self->state.store, self->state.options.timeouts.cancel_write,
                transition_atom::value, std::vector<transition>{change})
    .then(
      [=](std::vector<bool>& applied) mutable {
        if (applied.empty() || !applied[0]) {
          put_back(self, index, lane, o);
          explain_refused_cancel(self, o.id, promise);
          return;
        }
        self->state.owner.erase(o.id);
        if (auto& metrics = self->state.options.metrics)
          metrics->cancelled().Increment();
        o.status = order_status::failed;
        o.updated_at_ms = change.at_ms;
        o.last_error = change.detail;
        if (auto& events = self->state.options.events)
          events->publish({{o, "cancel"}});
        promise.deliver(std::move(o));
      },
      [=](caf::error& error) mutable {
        put_back(self, index, lane, o);
        promise.deliver(error);
      });
}

/// A lane's report of its load. A lane given up (cluster) reports while it drains: its load
/// is no longer this provider's here.
void take_report(self_pointer self, const provider_report& report) {
  auto& st = self->state;
  auto index = st.provider_index.find(report.provider);
  if (index == st.provider_index.end() || !sent_by(self, st.lanes[index->second]))
    return;
  auto& view = st.views[index->second];
  auto sent = st.sent_to_lane[index->second];
  view.queued = report.queued + (sent > report.received ? sent - report.received : 0);
  view.in_flight = report.in_flight;
  view.waiting = report.waiting;
  view.accepting = report.accepting;
  view.latency_ms = report.latency_ms;
  view.calls_per_order = report.calls_per_order;
  view.store_lag_ms = report.store_lag_ms;
  publish_admission(self);
}

/// Routes orders whose re-send point passed, urgent, to the provider with the earliest
/// predicted completion.
void route_urgent(self_pointer self, std::vector<order> orders) {
  auto& st = self->state;
  route(self, std::move(orders), true, [&](const order& o) {
    return choose_provider_for(st.views, o, routing_goal::fastest, st.budget_ms);
  });
}

/// Cluster: orders this node forwarded that no member said it holds, at their re-send point.
/// A forward lost with its connection (both nodes alive, so no takeover reads the store)
/// leaves nobody serving them. Those the store still has waiting are routed again: a node
/// that holds one after all drops the copy, and a copy that meets another in flight is
/// fenced by the store (one dispatch per attempt).
void resend_unconfirmed(self_pointer self, std::vector<std::string> ids) {
  auto count = ids.size();
  self->request(self->state.store, self->state.options.timeouts.store_load, load_atom::value,
                ids)
    .then(
      [=](std::vector<order>& unfinished) {
        auto& st = self->state;
        // Whatever the store says of them now is where they stand: routed again below
        // (watched anew if forwarded), or final, or in flight with a holder that watches it.
        for (const auto& id : ids)
          st.unconfirmed.erase(id);
        std::vector<order> waiting;
        for (auto& o : unfinished)
          if (o.status == order_status::accepted && st.owner.count(o.id) == 0)
            waiting.push_back(std::move(o));
        if (waiting.empty())
          return;
        spdlog::warn("router routes {} orders again at their re-send point: forwarded, no "
                     "member said it holds them, and the store has them waiting",
                     waiting.size());
        anchor(self, waiting);
        route_urgent(self, std::move(waiting));
      },
      [=](caf::error& error) {
        spdlog::warn("router could not read {} orders it forwarded, at their re-send point: {}",
                     count, describe(error));
      });
}

/// The orders' re-send points passed: those still waiting in a queue are taken out and sent,
/// urgent, to the provider with the earliest predicted completion.
void resend(self_pointer self, const std::vector<std::string>& ids) {
  std::vector<std::string> unconfirmed;
  for (const auto& id : ids) {
    auto owner = self->state.owner.find(id);
    if (owner == self->state.owner.end()) {
      if (self->state.unconfirmed.count(id) != 0)
        unconfirmed.push_back(id);
      continue;  // finished, or held by another member that watches it
    }
    self->request(self->state.lanes[owner->second], self->state.options.timeouts.lane_release,
                  release_atom::value, id)
      .then(
        [=](std::vector<order>& released) {
          if (!released.empty())  // else in flight or finished: nothing to re-send
            route_urgent(self, std::move(released));
        },
        [=](caf::error& error) {
          spdlog::warn("router could not re-send order={}: {}", id, describe(error));
        });
  }
  if (!unconfirmed.empty())
    resend_unconfirmed(self, std::move(unconfirmed));
}

/// The orders' deadlines passed: each lane fails those it still holds waiting; the router
/// closes those no lane holds.
void expire(self_pointer self, const std::vector<std::string>& ids) {
  auto& st = self->state;
  std::vector<std::vector<std::string>> per_provider(st.lanes.size());
  std::vector<std::string> unheld;
  for (const auto& id : ids) {
    auto owner = st.owner.find(id);
    if (owner != st.owner.end()) {
      per_provider[owner->second].push_back(id);
    } else {
      st.unconfirmed.erase(id);  // nothing more to watch it for
      unheld.push_back(id);
    }
  }
  if (!unheld.empty())
    expire_unheld(self, unheld);
  for (size_t i = 0; i < per_provider.size(); ++i)
    if (!per_provider[i].empty() && st.lanes[i])
      self->send(st.lanes[i], expire_atom::value, std::move(per_provider[i]));
}

/// The counters of every lane running here, once all of them answered.
caf::result<std::vector<provider_stats>> gather_stats(self_pointer self) {
  auto promise = self->make_response_promise<std::vector<provider_stats>>();
  auto gathered = std::make_shared<std::vector<provider_stats>>();
  auto& lanes = self->state.lanes;
  auto expected = static_cast<size_t>(
    std::count_if(lanes.begin(), lanes.end(), [](const auto& lane) { return bool{lane}; }));
  if (expected == 0)
    return std::vector<provider_stats>{};
  for (auto& lane : lanes) {
    if (!lane)
      continue;
    self->request(lane, self->state.options.timeouts.lane_stats, stats_atom::value)
      .then(
        [=](provider_stats& stats) mutable {
          gathered->push_back(std::move(stats));
          if (gathered->size() == expected)
            promise.deliver(std::move(*gathered));
        },
        [=](caf::error& error) mutable { promise.deliver(error); });
  }
  return promise;
}

/// A client's cancel: only an order still waiting in a lane's queue can be cancelled.
caf::result<order> cancel(self_pointer self, const std::string& id) {
  auto promise = self->make_response_promise<order>();
  auto owner = self->state.owner.find(id);
  if (owner == self->state.owner.end()) {
    explain_refused_cancel(self, id, promise);
    return promise;
  }
  auto index = owner->second;
  auto lane = self->state.lanes[index];
  self->request(lane, self->state.options.timeouts.lane_release, release_atom::value, id)
    .then(
      [=](std::vector<order>& released) mutable {
        if (released.empty()) {
          explain_refused_cancel(self, id, promise);
          return;
        }
        cancel_waiting(self, std::move(released.front()), index, lane, promise);
      },
      [=](caf::error& error) mutable { promise.deliver(error); });
  return promise;
}

/// Start-up (or intake restarted): every unfinished order of the providers served here.
void recover_all(self_pointer self) {
  if (!clustered(self)) {
    recover_from(self, std::nullopt, std::numeric_limits<int64_t>::min(), std::string{}, {});
    return;
  }
  // Only the orders of the providers held here: the others are their owners' to serve.
  std::vector<size_t> held;
  for (size_t i = 0; i < self->state.lanes.size(); ++i)
    if (self->state.lanes[i])
      held.push_back(i);
  self->state.recovered = true;
  self->state.recovery_done = true;
  if (!held.empty())
    adopt(self, held);
}

} // namespace

std::vector<provider_view> provider_views(const std::vector<provider_config>& providers) {
  std::vector<provider_view> views;
  for (size_t i = 0; i < providers.size(); ++i) {
    const auto& provider = providers[i];
    provider_view view;
    view.name = provider.name;
    view.carriers = provider.carriers;
    view.preference = i;
    view.rate = provider.rate;
    view.concurrency = provider.concurrency;
    views.push_back(view);
  }
  return views;
}

router_actor::behavior_type router(self_pointer self, engine_options options,
                                   std::shared_ptr<const clock> time, store_actor store) {
  auto& st = self->state;
  st.time = time;
  st.store = store;
  std::optional<int64_t> first_resend;
  if (!options.deadline.resend_at_ms.empty())
    first_resend = options.deadline.resend_at_ms.front();
  st.budget_ms = static_cast<double>(first_resend.value_or(options.deadline.limit_ms));
  st.reminders = self->spawn<caf::linked>(deadline, options.deadline, time,
                                          router_actor{self});
  for (size_t i = 0; i < options.providers.size(); ++i) {
    const auto& provider = options.providers[i];
    if (options.adapters.count(provider.name) == 0)
      throw std::invalid_argument("no adapter for provider " + provider.name);
    st.provider_index[provider.name] = i;
    auto latest = static_cast<double>(latest_first_start_ms(
      options.deadline.limit_ms, first_resend, provider.timeout_ms, options.admission.margin_ms));
    st.latest_start_ms.push_back(latest);
    // A new order routed within the budget then starts in time wherever it goes: routing
    // and admission agree on what is in time.
    if (options.admission.enabled)
      st.budget_ms = std::min(st.budget_ms, latest);
  }
  st.views = provider_views(options.providers);
  st.options = std::move(options);
  st.lanes.resize(st.options.providers.size());
  st.lifecycle = lane_lifecycle{st.options.providers.size()};
  st.sent_to_lane.resize(st.options.providers.size(), 0);
  if (clustered(self)) {
    // No load is known of a provider until this node holds it and its lane reports.
    for (auto& view : st.views)
      view.load_known = false;
    // Lanes start as the cluster actor hands out leases; a restarted router asks for the
    // current ones.
    self->request(st.options.cluster, st.options.timeouts.cluster_leases, own_atom::value)
      .then([=](std::vector<provider_lease>& leases) { apply_ownership(self, leases); },
            [=](caf::error& error) {
              spdlog::error("router cannot learn this node's providers: {}", describe(error));
            });
  } else {
    for (size_t i = 0; i < st.lanes.size(); ++i)
      spawn_lane(self, i);
  }
  return {
    [=](dispatch_atom, std::vector<order>& orders) {
      // Counted before anything is skipped: admission matches the count with what it handed on.
      self->state.orders_from_intake += orders.size();
      route_new(self, std::move(orders));
    },
    [=](done_atom, const std::vector<std::string>& ids) {
      for (const auto& id : ids)
        self->state.owner.erase(id);
    },
    [=](reroute_atom, std::vector<order>& orders, const std::string& from) {
      anchor(self, orders);
      auto& state = self->state;
      route(self, std::move(orders), false, [&](const order& o) {
        return choose_provider_for(state.views, o, routing_goal::preferred, state.budget_ms,
                                   from);
      });
    },
    [=](report_atom, const provider_report& report) { take_report(self, report); },
    [=](resend_atom, const std::vector<std::string>& ids) { resend(self, ids); },
    [=](expire_atom, const std::vector<std::string>& ids) { expire(self, ids); },
    [=](stats_atom) { return gather_stats(self); },
    [=](cancel_atom, const std::string& id) { return cancel(self, id); },
    [=](caf::close_atom) {
      for (auto& lane : self->state.lanes)
        if (lane)
          self->send(lane, caf::close_atom::value);
    },
    [=](own_atom, const std::vector<provider_lease>& leases) { apply_ownership(self, leases); },
    [=](forward_atom, std::vector<order>& orders, const std::string& provider) {
      take_forwarded(self, std::move(orders), provider);
    },
    [=](take_atom, std::vector<order>& orders, const std::string& provider) {
      return take_forwarded(self, std::move(orders), provider);
    },
    [=](take_atom, const std::vector<std::string>& held_elsewhere) {
      for (const auto& id : held_elsewhere)
        self->state.unconfirmed.erase(id);
    },
    [=](admission_atom, intake_actor& intake) {
      self->state.intake = std::move(intake);
      publish_admission(self);
    },
    [=](recover_atom, std::vector<order>& in_flight) {
      hand_in_flight(self, std::move(in_flight));
    },
    [=](query_atom, const std::string& provider, std::vector<std::string>& ids) {
      // Only the lane running here can query now; a settle request reaches the node that
      // holds the provider (the gateway sees to that), so an absent lane means it moved.
      auto index = self->state.provider_index.find(provider);
      if (index != self->state.provider_index.end() && self->state.lanes[index->second])
        self->send(self->state.lanes[index->second], query_atom::value, std::move(ids));
      else
        spdlog::warn("router: no lane of provider '{}' here to query {} orders for "
                     "reconciliation",
                     provider, ids.size());
    },
    [=](recover_atom, caf::get_atom) { return self->state.recovery_done; },
    [=](recover_atom) { recover_all(self); },
    [=](recover_atom, members_atom) { adopt(self, {}); },
  };
}

} // namespace topup
