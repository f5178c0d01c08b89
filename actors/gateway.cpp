#include "actors/gateway.hpp"

#include "actors/settler.hpp"
#include "domain/cluster_cancel.hpp"
#include "messages/cluster_stats.hpp"
#include "messages/errors.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <functional>
#include <memory>

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
        for (const auto& address :
             {handles.store.address(), handles.router.address(), handles.intake.address(),
              handles.cluster.address(), handles.callbacks.address()})
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

/// Answers with what `answer` delivers to the promise, given the node's current actors.
template <class Result, class Answer>
caf::typed_response_promise<Result> answer_with_handles(self_pointer self, Answer answer) {
  auto promise = self->make_response_promise<Result>();
  with_handles(
    self, [=](const node_handles& handles) { answer(handles, promise); },
    [=](const caf::error& error) mutable { promise.deliver(error); });
  return promise;
}

/// Hands a request about result callbacks to the callback sender, which answers the client.
template <class Result, class... Ts>
caf::typed_response_promise<Result> to_callback_sender(self_pointer self, Ts... xs) {
  return answer_with_handles<Result>(self, [=](const node_handles& handles, auto promise) {
    if (!handles.callbacks)
      promise.deliver(make_error(errc::unavailable, "this node sends no result callbacks: no "
                                                    "merchant has a callback destination"));
    else
      promise.delegate(handles.callbacks, xs...);
  });
}

caf::error refusing() {
  return make_error(errc::shutting_down, "the node is shutting down and takes no new orders");
}

/// How long another member (or the cluster actor) may take to answer a read: a paused or
/// partitioned member must not hold up the answer to the client (whose own timeout is 10 s
/// by default).
constexpr auto peer_timeout = std::chrono::seconds(3);
/// A cancel at another member writes the change to the store before it answers; with the
/// member list asked first, the answer still comes within the client's 10 s.
constexpr auto peer_cancel_timeout = std::chrono::seconds(5);

/// Why a member gave no answer, for the client.
std::string silence_reason(const caf::error& error, std::chrono::seconds bound) {
  if (error == caf::sec::request_timeout)
    return "no answer within " + std::to_string(bound.count()) + " s";
  return describe(error);
}

using node_stats_done = std::function<void(caf::expected<node_stats>)>;

/// Collects this node's counters, with the store's order counts when `with_orders`, and
/// hands them (or the first error) to `done` once all have arrived.
void gather_node_stats(self_pointer self, const node_handles& handles, bool with_orders,
                       node_stats_done done) {
  auto stats = std::make_shared<node_stats>();
  stats->node = self->state.node_name;
  stats->protocol = protocol_version;
  auto remaining = std::make_shared<int>((with_orders ? 5 : 4) + (handles.callbacks ? 1 : 0));
  auto finished = std::make_shared<bool>(false);
  auto part_done = [=] {
    if (--*remaining == 0 && !*finished) {
      *finished = true;
      done(std::move(*stats));
    }
  };
  auto part_failed = [=](caf::error& error) {
    if (!*finished)
      done(std::move(error));
    *finished = true;
  };
  self->request(handles.intake, local_timeout, stats_atom::value)
    .then([=](intake_stats& s) { stats->intake = s; part_done(); }, part_failed);
  self->request(handles.store, local_timeout, stats_atom::value)
    .then([=](store_stats& s) { stats->store = s; part_done(); }, part_failed);
  if (with_orders)
    self->request(handles.store, local_timeout, stats_atom::value, list_atom::value)
      .then([=](std::vector<status_count>& counts) {
        stats->orders = std::move(counts);
        part_done();
      }, part_failed);
  self->request(handles.router, local_timeout, stats_atom::value)
    .then([=](std::vector<provider_stats>& providers) {
      stats->providers = std::move(providers);
      part_done();
    }, part_failed);
  if (handles.callbacks)
    self->request(handles.callbacks, local_timeout, stats_atom::value)
      .then([=](callback_stats& s) { stats->callbacks = s; part_done(); }, part_failed);
  self->request(self->state.supervisor, local_timeout, stats_atom::value)
    .then(
      [=](uint64_t restarts, int64_t started_at_ms) {
        stats->restarts = restarts;
        stats->started_at_ms = started_at_ms;
        part_done();
      },
      part_failed);
}

using peers_done = std::function<void(caf::expected<std::vector<peer_gateway>>)>;

/// The other live members as the cluster actor sees them; none on a single node.
void with_peers(self_pointer self, const node_handles& handles, peers_done done) {
  if (!handles.cluster) {
    done(std::vector<peer_gateway>{});
    return;
  }
  self->request(handles.cluster, peer_timeout, peers_atom::value)
    .then([=](std::vector<peer_gateway>& peers) { done(std::move(peers)); },
          [=](caf::error& error) { done(std::move(error)); });
}

/// The counters of this node and of every other live member: the answer to `stats`.
void gather_cluster_stats(self_pointer self, const node_handles& handles,
                          caf::typed_response_promise<cluster_stats> promise) {
  gather_node_stats(self, handles, true, [=](caf::expected<node_stats> own) mutable {
    if (!own) {
      promise.deliver(own.error());
      return;
    }
    with_peers(self, handles, [=](caf::expected<std::vector<peer_gateway>> peers) mutable {
      struct gathering {
        std::vector<node_stats> answered;
        std::vector<unreachable_node> unreachable;
        size_t waiting = 0;
      };
      auto gathered = std::make_shared<gathering>();
      auto one_settled = [=]() mutable {
        if (--gathered->waiting == 0)
          promise.deliver(make_cluster_stats(*own, std::move(gathered->answered),
                                             std::move(gathered->unreachable)));
      };
      std::vector<peer_gateway> members;
      if (peers)
        members = std::move(*peers);
      else
        gathered->unreachable.push_back(
          {"(members)", "", "the cluster actor did not say who the members are: "
                              + silence_reason(peers.error(), peer_timeout)});
      // One more than the members: the loop below must not finish the answer early.
      gathered->waiting = members.size() + 1;
      for (const auto& peer : members) {
        if (!peer.gateway) {
          gathered->unreachable.push_back({peer.node, peer.address, "not connected"});
          one_settled();
          continue;
        }
        self->request(peer.gateway, peer_timeout, stats_atom::value, local_atom::value)
          .then(
            [=](node_stats& stats) mutable {
              gathered->answered.push_back(std::move(stats));
              one_settled();
            },
            [=](caf::error& error) mutable {
              gathered->unreachable.push_back(
                {peer.node, peer.address, silence_reason(error, peer_timeout)});
              one_settled();
            });
      }
      one_settled();
    });
  });
}

/// Cluster: the local router does not hold order `id` waiting; every other live member's
/// router is asked (the order row does not say whose queue holds it). The first that
/// cancels it answers; when none does, the order is read again to say why.
void cancel_at_peers(self_pointer self, const node_handles& handles, const std::string& id,
                     caf::typed_response_promise<order> promise) {
  with_peers(self, handles, [=](caf::expected<std::vector<peer_gateway>> peers) mutable {
    if (!peers) {
      promise.deliver(make_error(errc::unavailable,
                                 "cannot tell which members may hold order " + id + ": "
                                   + silence_reason(peers.error(), peer_timeout)));
      return;
    }
    struct asking {
      std::vector<silent_member> silent;
      size_t waiting = 0;
      bool cancelled = false;
    };
    auto state = std::make_shared<asking>();
    auto explain = [=]() mutable {
      self->request(handles.store, local_timeout, caf::get_atom::value, id)
        .then(
          [=](order& now) mutable {
            promise.deliver(make_error(refused_cancel(id, now.status, state->silent)));
          },
          [=](caf::error& error) mutable { promise.deliver(error); });
    };
    auto one_refused = [=]() mutable {
      if (--state->waiting == 0 && !state->cancelled)
        explain();
    };
    // One more than the members: the loop below must not settle the answer early.
    state->waiting = peers->size() + 1;
    for (const auto& peer : *peers) {
      if (!peer.gateway) {
        state->silent.push_back({peer.node, "not connected"});
        one_refused();
        continue;
      }
      self->request(peer.gateway, peer_cancel_timeout, cancel_atom::value, local_atom::value, id)
        .then(
          [=](order& cancelled) mutable {
            if (state->cancelled)
              return;
            state->cancelled = true;
            promise.deliver(std::move(cancelled));
          },
          [=](caf::error& error) mutable {
            auto refusal = as_failure(error);
            bool not_held = refusal
                            && (refusal->code == errc::illegal_transition
                                || refusal->code == errc::not_found);
            if (!not_held)
              state->silent.push_back({peer.node, silence_reason(error, peer_cancel_timeout)});
            one_refused();
          });
    }
    one_refused();
  });
}

/// Cancels at the local router; in a cluster, an order it does not hold is looked for at
/// the other members.
void cancel_anywhere(self_pointer self, const node_handles& handles, const std::string& id,
                     caf::typed_response_promise<order> promise) {
  if (!handles.cluster) {
    promise.delegate(handles.router, cancel_atom::value, id);
    return;
  }
  self->request(handles.router, local_timeout, cancel_atom::value, id)
    .then([=](order& cancelled) mutable { promise.deliver(std::move(cancelled)); },
          [=](caf::error& error) mutable {
            auto refusal = as_failure(error);
            if (refusal && refusal->code == errc::illegal_transition)
              cancel_at_peers(self, handles, id, promise);
            else
              promise.deliver(error);
          });
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

/// Reconciliation: settles the provider's unknown outcomes on this node (a settler, which
/// answers the client).
void settle_here(self_pointer self, const node_handles& handles, settle_request request,
                 caf::typed_response_promise<settle_report> promise) {
  auto worker = self->spawn(settler, handles.store, handles.router, self->state.node_name);
  promise.delegate(worker, settle_atom::value, std::move(request));
}

/// How long a member may take to settle a provider: the wait it is asked for, then the
/// bound of any other answer.
std::chrono::milliseconds settle_bound(const settle_request& request) {
  auto wait = std::clamp<int64_t>(request.wait_ms, 0, settle_wait_limit.count());
  return std::chrono::milliseconds{wait} + peer_timeout;
}

/// Reconciliation: only the node holding a provider's lease runs its lane, so it is the one
/// that can query the provider now. A single node settles itself; in a cluster the member
/// the cluster actor names as holder is asked (this node, or another over the network).
void settle_at_holder(self_pointer self, const node_handles& handles, settle_request request,
                      caf::typed_response_promise<settle_report> promise) {
  if (!handles.cluster) {
    settle_here(self, handles, std::move(request), promise);
    return;
  }
  self->request(handles.cluster, peer_timeout, members_atom::value)
    .then(
      [=](std::vector<member_info>& members) mutable {
        auto holder = std::find_if(members.begin(), members.end(), [&](const member_info& m) {
          return m.live
                 && std::find(m.providers.begin(), m.providers.end(), request.provider)
                      != m.providers.end();
        });
        if (holder == members.end()) {
          promise.deliver(make_error(errc::unavailable, "no live member holds provider "
                                                          + request.provider + " now"));
          return;
        }
        if (holder->node == self->state.node_name) {
          settle_here(self, handles, std::move(request), promise);
          return;
        }
        auto node = holder->node;
        with_peers(self, handles, [=](caf::expected<std::vector<peer_gateway>> peers) mutable {
          const peer_gateway* peer = nullptr;
          if (peers)
            for (const auto& p : *peers)
              if (p.node == node && p.gateway)
                peer = &p;
          if (!peer) {
            promise.deliver(make_error(errc::unavailable, "provider " + request.provider
                                                            + " is held by " + node
                                                            + ", which is not connected"));
            return;
          }
          self->request(peer->gateway, settle_bound(request), settle_atom::value,
                        local_atom::value, request)
            .then([=](settle_report& report) mutable { promise.deliver(std::move(report)); },
                  [=](caf::error& error) mutable {
                    promise.deliver(make_error(errc::unavailable,
                                               "member " + node + " holding provider "
                                                 + request.provider + " did not settle it: "
                                                 + silence_reason(error, std::chrono::duration_cast<std::chrono::seconds>(settle_bound(request)))));
                  });
        });
      },
      [=](caf::error& error) mutable {
        promise.deliver(make_error(errc::unavailable,
                                   "cannot tell which member holds provider " + request.provider
                                     + ": " + silence_reason(error, peer_timeout)));
      });
}

} // namespace

gateway_actor::behavior_type gateway(self_pointer self, std::string node_name,
                                     std::string address, supervisor_actor supervisor,
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
  // The hub finds the other members (to relay their changes) through the supervisor.
  self->send(st.hub, caf::update_atom::value, st.supervisor);
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
    [=](find_ref_atom, std::string& merchant, std::string& client_ref) {
      return forward<order>(
        self, [](const node_handles& h) { return h.store; }, find_ref_atom::value,
        std::move(merchant), std::move(client_ref));
    },
    [=](history_atom, std::string& id) {
      return forward<order_history>(
        self, [](const node_handles& h) { return h.store; }, history_atom::value, std::move(id));
    },
    [=](list_atom, order_filter& filter) {
      return forward<std::vector<order>>(
        self, [](const node_handles& h) { return h.store; }, list_atom::value,
        std::move(filter));
    },
    [=](cancel_atom, const std::string& id) {
      return answer_with_handles<order>(self, [=](const node_handles& handles, auto promise) {
        cancel_anywhere(self, handles, id, promise);
      });
    },
    [=](cancel_atom, local_atom, std::string& id) {
      return forward<order>(
        self, [](const node_handles& h) { return h.router; }, cancel_atom::value,
        std::move(id));
    },
    [=](stats_atom) {
      return answer_with_handles<cluster_stats>(
        self, [=](const node_handles& handles, auto promise) {
          gather_cluster_stats(self, handles, promise);
        });
    },
    [=](recover_atom, caf::get_atom) {
      return forward<bool>(
        self, [](const node_handles& h) { return h.router; }, recover_atom::value,
        caf::get_atom::value);
    },
    [=](deliveries_atom, std::string& order_id) {
      return forward<std::vector<callback_record>>(
        self, [](const node_handles& h) { return h.store; }, deliveries_atom::value,
        std::move(order_id));
    },
    [=](redeliver_atom, std::string& order_id) {
      return to_callback_sender<callback_record>(self, redeliver_atom::value,
                                                 std::move(order_id));
    },
    [=](redeliver_atom, delivery_atom, std::string& delivery_id) {
      return to_callback_sender<callback_record>(self, redeliver_atom::value,
                                                 delivery_atom::value, std::move(delivery_id));
    },
    [=](stats_atom, local_atom) {
      return answer_with_handles<node_stats>(
        self, [=](const node_handles& handles, auto promise) {
          gather_node_stats(self, handles, false, [=](caf::expected<node_stats> stats) mutable {
            if (stats)
              promise.deliver(std::move(*stats));
            else
              promise.deliver(stats.error());
          });
        });
    },
    [=](watch_atom, caf::actor& client, std::string& order_id) {
      return self->delegate(self->state.hub, watch_atom::value, std::move(client),
                            std::move(order_id));
    },
    [=](unwatch_atom, caf::actor& client) {
      self->send(self->state.hub, unwatch_atom::value, std::move(client));
    },
    [=](watch_atom, local_atom, caf::actor& relay, std::vector<std::string>& order_ids) {
      return self->delegate(self->state.hub, watch_atom::value, local_atom::value,
                            std::move(relay), std::move(order_ids));
    },
    [=](unwatch_atom, local_atom, caf::actor& relay, std::vector<std::string>& order_ids) {
      self->send(self->state.hub, unwatch_atom::value, local_atom::value, std::move(relay),
                 std::move(order_ids));
    },
    [=](members_atom) {
      return answer_with_handles<std::vector<member_info>>(
        self, [=](const node_handles& handles, auto promise) {
          gather_members(self, handles, promise);
        });
    },
    [=](attempts_atom, attempt_query& query) {
      return forward<std::vector<attempt_record>>(
        self, [](const node_handles& h) { return h.store; }, attempts_atom::value,
        std::move(query));
    },
    [=](settle_atom, settle_request& request) {
      return answer_with_handles<settle_report>(
        self, [=](const node_handles& handles, auto promise) {
          settle_at_holder(self, handles, request, promise);
        });
    },
    [=](settle_atom, local_atom, settle_request& request) {
      return answer_with_handles<settle_report>(
        self, [=](const node_handles& handles, auto promise) {
          settle_here(self, handles, request, promise);
        });
    },
    [=](forward_atom, std::vector<order>& orders, const std::string& provider) {
      // Unanswered (the node restarts), the forwarding node reads them again from the store
      // at their re-send point.
      return forward<std::vector<std::string>>(
        self, [](const node_handles& h) { return h.router; }, take_atom::value,
        std::move(orders), provider);
    },
  };
}

} // namespace topup
