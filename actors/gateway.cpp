#include "actors/gateway.hpp"

#include "messages/errors.hpp"

#include <spdlog/spdlog.h>

namespace topup {
namespace {

using self_pointer = gateway_actor::stateful_pointer<gateway_state>;

constexpr auto local_timeout = std::chrono::seconds(30);

/// Runs `use` with the node's current actors, fetching them from the supervisor if needed;
/// `fail` gets the error when the node cannot provide them.
template <class Use, class Fail>
void with_handles(self_pointer self, Use use, Fail fail) {
  if (self->state.handles) {
    use(*self->state.handles);
    return;
  }
  self->request(self->state.supervisor, local_timeout, caf::get_atom::value)
    .then(
      [=](node_handles& handles) mutable {
        for (const auto& address : {handles.store.address(), handles.router.address(),
                                    handles.intake.address(), handles.cluster.address()})
          if (address)
            self->monitor(address);
        self->state.handles = handles;
        use(handles);
      },
      [=](caf::error& error) mutable {
        fail(make_error(errc::unavailable, "node is restarting: " + describe(error)));
      });
}

/// Hands the request to the actor `pick` chooses; that actor answers the client.
template <class Result, class Pick, class... Ts>
caf::typed_response_promise<Result> forward(self_pointer self, Pick pick, Ts... xs) {
  auto promise = self->make_response_promise<Result>();
  with_handles(
    self, [=](const node_handles& handles) mutable { promise.delegate(pick(handles), xs...); },
    [=](const caf::error& error) mutable { promise.deliver(error); });
  return promise;
}

caf::error refusing() {
  return make_error(errc::shutting_down, "the node is shutting down and takes no new orders");
}

/// Collects the parts of node_stats, answering once all have arrived.
void gather_stats(self_pointer self, const node_handles& handles,
                  caf::typed_response_promise<node_stats> promise) {
  auto stats = std::make_shared<node_stats>();
  stats->node = self->state.node_name;
  stats->protocol = protocol_version;
  auto remaining = std::make_shared<int>(5);
  auto failed = std::make_shared<bool>(false);
  auto part_done = [=]() mutable {
    if (--*remaining == 0 && !*failed)
      promise.deliver(std::move(*stats));
  };
  auto part_failed = [=](caf::error& error) mutable {
    if (!*failed)
      promise.deliver(error);
    *failed = true;
  };
  self->request(handles.intake, local_timeout, stats_atom::value)
    .then([=](intake_stats& s) mutable { stats->intake = s; part_done(); }, part_failed);
  self->request(handles.store, local_timeout, stats_atom::value)
    .then([=](store_stats& s) mutable { stats->store = s; part_done(); }, part_failed);
  self->request(handles.store, local_timeout, stats_atom::value, list_atom::value)
    .then([=](std::vector<status_count>& counts) mutable {
      stats->orders = std::move(counts);
      part_done();
    }, part_failed);
  self->request(handles.router, local_timeout, stats_atom::value)
    .then([=](std::vector<provider_stats>& providers) mutable {
      stats->providers = std::move(providers);
      part_done();
    }, part_failed);
  self->request(self->state.supervisor, local_timeout, stats_atom::value)
    .then([=](uint64_t restarts) mutable { stats->restarts = restarts; part_done(); },
          part_failed);
}

/// The members as the cluster actor sees them; a single node is its only member, serving
/// every provider.
void gather_members(self_pointer self, const node_handles& handles,
                    caf::typed_response_promise<std::vector<member_info>> promise) {
  if (handles.cluster) {
    promise.delegate(handles.cluster, members_atom::value);
    return;
  }
  self->request(handles.router, local_timeout, stats_atom::value)
    .then(
      [=](std::vector<provider_stats>& providers) mutable {
        member_info alone;
        alone.node = self->state.node_name;
        alone.address = self->state.address;
        alone.live = true;
        for (const auto& provider : providers)
          alone.providers.push_back(provider.provider);
        promise.deliver(std::vector<member_info>{std::move(alone)});
      },
      [=](caf::error& error) mutable { promise.deliver(error); });
}

} // namespace

gateway_actor::behavior_type gateway(self_pointer self, std::string node_name,
                                     std::string address, caf::actor supervisor,
                                     watch_hub_actor hub,
                                     std::shared_ptr<std::atomic<bool>> accepting) {
  auto& st = self->state;
  st.node_name = std::move(node_name);
  st.address = std::move(address);
  st.supervisor = std::move(supervisor);
  st.hub = std::move(hub);
  st.accepting = std::move(accepting);
  // A restarted actor has a new handle: forget the cached ones and ask again next time.
  self->set_down_handler([=](caf::down_msg&) { self->state.handles.reset(); });
  return {
    [=](hello_atom, uint32_t) {
      return caf::make_result(protocol_version, self->state.node_name);
    },
    [=](submit_atom, order_request& request) -> caf::result<order> {
      if (!self->state.accepting->load())
        return refusing();
      return forward<order>(
        self, [](const node_handles& h) { return h.intake; }, submit_atom::value,
        std::move(request));
    },
    [=](submit_atom, std::vector<order_request>& requests)
      -> caf::result<std::vector<submit_result>> {
      if (!self->state.accepting->load())
        return refusing();
      return forward<std::vector<submit_result>>(
        self, [](const node_handles& h) { return h.intake; }, submit_atom::value,
        std::move(requests));
    },
    [=](caf::get_atom, std::string& id) {
      return forward<order>(
        self, [](const node_handles& h) { return h.store; }, caf::get_atom::value,
        std::move(id));
    },
    [=](find_ref_atom, std::string& client_ref) {
      return forward<order>(
        self, [](const node_handles& h) { return h.store; }, find_ref_atom::value,
        std::move(client_ref));
    },
    [=](list_atom, order_filter& filter) {
      return forward<std::vector<order>>(
        self, [](const node_handles& h) { return h.store; }, list_atom::value,
        std::move(filter));
    },
    [=](cancel_atom, std::string& id) {
      return forward<order>(
        self, [](const node_handles& h) { return h.router; }, cancel_atom::value,
        std::move(id));
    },
    [=](stats_atom) {
      auto promise = self->make_response_promise<node_stats>();
      with_handles(
        self, [=](const node_handles& handles) { gather_stats(self, handles, promise); },
        [=](const caf::error& error) mutable { promise.deliver(error); });
      return promise;
    },
    [=](watch_atom, caf::actor& client, std::string& order_id) {
      return self->delegate(self->state.hub, watch_atom::value, std::move(client),
                            std::move(order_id));
    },
    [=](unwatch_atom, caf::actor& client) {
      self->send(self->state.hub, unwatch_atom::value, std::move(client));
    },
    [=](members_atom) {
      auto promise = self->make_response_promise<std::vector<member_info>>();
      with_handles(
        self, [=](const node_handles& handles) { gather_members(self, handles, promise); },
        [=](const caf::error& error) mutable { promise.deliver(error); });
      return promise;
    },
    [=](forward_atom, std::vector<order>& orders, const std::string& provider) {
      with_handles(
        self,
        [=](const node_handles& handles) {
          self->send(handles.router, forward_atom::value, orders, provider);
        },
        [=](const caf::error& error) {
          // They are in the store: this node's router loads them when it takes them over.
          spdlog::debug("gateway: {} forwarded orders not handed on: {}", orders.size(),
                        describe(error));
        });
    },
  };
}

} // namespace topup
