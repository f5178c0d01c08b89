#include "actors/settler.hpp"

#include <spdlog/spdlog.h>

#include <functional>
#include <memory>

namespace topup {
namespace {

using self_pointer = settler_actor::stateful_pointer<settler_state>;

constexpr auto store_timeout = std::chrono::seconds(30);
/// Orders of each status read per poll at most (the store's list limit); a provider with
/// more unknown outcomes than that is settled by its lane on its own.
constexpr uint32_t listed_at_most = 10000;
constexpr size_t unsettled_shown = 1000;

std::vector<std::string> ids_of(const std::vector<order>& orders) {
  std::vector<std::string> ids;
  ids.reserve(orders.size());
  for (const auto& o : orders)
    ids.push_back(o.id);
  return ids;
}

void fail(self_pointer self, const caf::error& error) {
  self->state.answer.deliver(error);
  self->quit();
}

using unsettled_done = std::function<void(std::vector<order> unknown, std::vector<order> flying)>;

/// The provider's orders whose outcome is unknown, then those whose call is in flight.
void read_unsettled(self_pointer self, unsettled_done done) {
  auto& st = self->state;
  order_filter unknown{"unknown", "", st.request.provider, 0, listed_at_most};
  order_filter flying{"dispatched", "", st.request.provider, 0, listed_at_most};
  self->request(st.store, store_timeout, list_atom::value, unknown)
    .then(
      [=](std::vector<order>& unknown_orders) {
        self->request(self->state.store, store_timeout, list_atom::value, flying)
          .then([=](std::vector<order>& flying_orders) mutable {
                  done(std::move(unknown_orders), std::move(flying_orders));
                },
                [=](caf::error& error) { fail(self, error); });
      },
      [=](caf::error& error) { fail(self, error); });
}

/// Asks the provider's lane (through the router) to query these orders now.
void urge(self_pointer self, std::vector<std::string> ids) {
  if (!ids.empty())
    self->send(self->state.router, query_atom::value, self->state.request.provider,
               std::move(ids));
}

void answer(self_pointer self) {
  auto& st = self->state;
  auto& report = st.report;
  report.settled = report.unknown + report.in_flight - st.waiting.size();
  for (const auto& id : st.waiting) {
    if (report.unsettled.size() >= unsettled_shown)
      break;
    report.unsettled.push_back(id);
  }
  report.waited_ms = static_cast<int64_t>(st.polls) * settle_poll.count();
  spdlog::info("settler {}: {} unknown and {} in flight asked, {} settled, {} not within {} ms",
               st.request.provider, report.unknown, report.in_flight, report.settled,
               st.waiting.size(), report.waited_ms);
  st.answer.deliver(report);
  self->quit();
}

void poll(self_pointer self) {
  auto& st = self->state;
  ++st.polls;
  read_unsettled(self, [=](std::vector<order> unknown, std::vector<order> flying) {
    auto& state = self->state;
    std::set<std::string> still;
    for (const auto* orders : {&unknown, &flying})
      for (const auto& o : *orders)
        if (state.waiting.count(o.id))
          still.insert(o.id);
    state.waiting = std::move(still);
    if (state.waiting.empty() || state.polls >= state.polls_allowed) {
      answer(self);
      return;
    }
    if (state.polls % settle_polls_per_urge == 0) {
      std::vector<std::string> again;
      for (const auto& o : unknown)
        if (state.waiting.count(o.id))
          again.push_back(o.id);
      urge(self, std::move(again));
    }
    self->delayed_send(self, settle_poll, tick_atom::value);
  });
}

} // namespace

settler_actor::behavior_type settler(self_pointer self, store_actor store, router_actor router,
                                     std::string node) {
  self->state.store = std::move(store);
  self->state.router = std::move(router);
  self->state.node = std::move(node);
  return {
    [=](settle_atom, settle_request& request) -> caf::result<settle_report> {
      auto& st = self->state;
      auto wait = std::clamp<int64_t>(request.wait_ms, 0, settle_wait_limit.count());
      st.polls_allowed = static_cast<uint32_t>((wait + settle_poll.count() - 1)
                                               / settle_poll.count());
      st.request = std::move(request);
      st.report.node = st.node;
      st.answer = self->make_response_promise<settle_report>();
      read_unsettled(self, [=](std::vector<order> unknown, std::vector<order> flying) {
        auto& state = self->state;
        state.report.unknown = unknown.size();
        state.report.in_flight = flying.size();
        auto unknown_ids = ids_of(unknown);
        state.waiting.insert(unknown_ids.begin(), unknown_ids.end());
        for (const auto& o : flying)
          state.waiting.insert(o.id);
        urge(self, std::move(unknown_ids));
        if (state.waiting.empty() || state.polls_allowed == 0) {
          answer(self);
          return;
        }
        self->delayed_send(self, settle_poll, tick_atom::value);
      });
      return st.answer;
    },
    [=](tick_atom) { poll(self); },
  };
}

} // namespace topup
