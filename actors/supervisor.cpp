#include "actors/supervisor.hpp"

#include "domain/merchant_callback.hpp"
#include "messages/errors.hpp"
#include "persistence/store_actor.hpp"
#include "providers/adapters.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace topup {
namespace {

using self_pointer = supervisor_actor::stateful_pointer<supervisor_state>;

enum child : int {
  store_child = 0,
  router_child = 1,
  intake_child = 2,
  cluster_child = 3,
  callbacks_child = 4
};

caf::actor_addr address_of(self_pointer self, int which) {
  auto& st = self->state;
  switch (which) {
    case store_child: return st.store.address();
    case router_child: return st.router.address();
    case cluster_child: return st.cluster.address();
    case callbacks_child: return st.callbacks.address();
    default: return st.intake.address();
  }
}

/// The router starts serving once intake is known to dispatch to it: every order committed
/// before then is in the router's load from the store, every later one reaches it from
/// intake (the router ignores an order it already holds). From then on the router hands
/// intake the providers' load for admission.
void start_serving(self_pointer self) {
  auto& st = self->state;
  self->request(st.intake, std::chrono::seconds(30), caf::update_atom::value, st.store,
                order_sink_actor{st.router})
    .then([=](ack_atom) {
            auto& state = self->state;
            self->send(state.router, admission_atom::value, state.intake);
            self->send(state.router, recover_atom::value);
          },
          [=](caf::error& error) {
            // Intake is gone too; its restart will call start_serving again.
            spdlog::warn("supervisor could not update intake: {}", to_string(error));
          });
}

void start(self_pointer self, int which) {
  auto& st = self->state;
  auto& system = self->system();
  switch (which) {
    case store_child:
      st.store = spawn_store(system, st.options.store, st.time, st.options.metrics);
      self->monitor(st.store);
      break;
    case router_child:
      st.router = system.spawn(router, st.options.engine, st.time, st.store);
      self->monitor(st.router);
      // Ownership changes go to the router serving now.
      if (st.cluster)
        self->send(st.cluster, caf::update_atom::value, st.router);
      break;
    case cluster_child:
      st.cluster = spawn_cluster(system, *st.options.cluster, st.time);
      self->monitor(st.cluster);
      st.options.engine.cluster = st.cluster;
      break;
    case callbacks_child:
      st.callbacks = spawn_callback_sender(system, *st.options.callbacks, st.time);
      self->monitor(st.callbacks);
      break;
    default:
      st.intake = system.spawn(intake, st.options.intake, st.time, st.store,
                               order_sink_actor{st.router});
      self->monitor(st.intake);
      break;
  }
}

void stop(self_pointer self, int which) {
  auto address = address_of(self, which);
  if (!address)
    return;
  self->demonitor(address);
  self->send_exit(address, caf::exit_reason::kill);
}

} // namespace

supervisor_state::~supervisor_state() {
  for (const auto& child :
       {caf::actor_cast<caf::actor>(intake), caf::actor_cast<caf::actor>(router),
        caf::actor_cast<caf::actor>(store), caf::actor_cast<caf::actor>(callbacks)})
    if (child)
      caf::anon_send_exit(child, caf::exit_reason::kill);
  // The cluster actor is told last, after the router, and with user_shutdown: kill would
  // skip its exit handler, which releases the node's leases and leaves the membership table
  // so that the other members take the providers over at once.
  if (cluster)
    caf::anon_send_exit(cluster, caf::exit_reason::user_shutdown);
}

supervisor_options make_supervisor_options(const config& cfg, std::shared_ptr<const clock> time) {
  supervisor_options options;
  options.store = cfg.store;
  if (cfg.cluster) {
    // A node paused inside a group commit must not hold the lease rows its fence locked
    // beyond the lease's time to live: the next owner waits on them (cluster.hpp).
    options.store = with_bounded_waits(cfg.store, milliseconds{0},
                                       milliseconds{cfg.cluster->lease_ttl_ms});
    options.cluster = make_cluster_options(cfg, time->wall_ms());
    options.engine.node_name = cfg.node.name;
  }
  options.engine.providers = cfg.providers;
  options.engine.deadline = cfg.deadline;
  options.engine.admission = cfg.admission;
  options.engine.adapters = configured_adapters(cfg, std::move(time));
  options.intake.rules = make_validation_rules(cfg);
  options.intake.deadline_limit_ms = cfg.deadline.limit_ms;
  options.intake.max_in_flight = cfg.store.max_pending_writes;
  options.intake.node_name = cfg.node.name;
  options.intake.store_shards = std::max<size_t>(cfg.store.shards, 1);
  options.intake.max_gathered = cfg.store.max_batch;
  if (any_callback_destinations(cfg.merchants))
    options.callbacks = callback_sender_options{options.store, cfg.merchants, cfg.callbacks};
  options.events = std::make_shared<event_feed>();
  options.engine.events = options.events;
  options.intake.events = options.events;
  return options;
}

void with_metrics(supervisor_options& options, std::shared_ptr<node_metrics> metrics) {
  options.engine.metrics = metrics;
  options.intake.metrics = metrics;
  if (options.cluster)
    options.cluster->metrics = metrics;
  if (options.callbacks)
    options.callbacks->metrics = metrics;
  options.metrics = std::move(metrics);
}

supervisor_actor::behavior_type supervisor(self_pointer self, supervisor_options options,
                                           std::shared_ptr<const clock> time) {
  self->state.options = std::move(options);
  self->state.time = std::move(time);
  self->state.started_at_ms = self->state.time->wall_ms();
  // The cluster actor first: the router it is handed to asks it for the node's leases.
  if (self->state.options.cluster)
    start(self, cluster_child);
  for (int which : {store_child, router_child, intake_child})
    start(self, which);
  if (self->state.options.callbacks)
    start(self, callbacks_child);
  start_serving(self);
  self->set_down_handler([=](caf::down_msg& down) {
    auto& st = self->state;
    int failed = -1;
    for (int which : {store_child, router_child, intake_child, cluster_child, callbacks_child})
      if (down.source == address_of(self, which))
        failed = which;
    if (failed < 0)
      return;
    auto now = st.time->now();
    st.restarts.push_back(now);
    while (!st.restarts.empty() && now - st.restarts.front() > st.options.restart_window)
      st.restarts.pop_front();
    if (st.restarts.size() > st.options.max_restarts) {
      spdlog::critical("supervisor gives up: {} restarts within {} ms (last: {})",
                       st.restarts.size(), st.options.restart_window.count(),
                       to_string(down.reason));
      self->quit(make_error(errc::unavailable, "restart intensity exceeded"));
      return;
    }
    ++st.restart_count;
    spdlog::error("supervisor restarts child {} after: {}", failed, to_string(down.reason));
    if (failed == callbacks_child) {
      start(self, callbacks_child);
      return;
    }
    // Intake holds no order state and is the node's entry point: it survives restarts of
    // the others and is told their new handles.
    // The router holds the store's and the cluster actor's handles: it restarts with either.
    if (failed == store_child || failed == cluster_child)
      stop(self, router_child);
    if (failed == cluster_child) {
      start(self, cluster_child);
      start(self, router_child);
    }
    for (int which = failed; which <= router_child; ++which)
      start(self, which);
    if (failed == intake_child)
      start(self, intake_child);
    start_serving(self);
  });
  return {
    [=](caf::get_atom) {
      auto& st = self->state;
      return node_handles{st.store, st.router, st.intake, st.cluster, st.callbacks};
    },
    [=](stats_atom) {
      return caf::make_result(self->state.restart_count, self->state.started_at_ms);
    },
  };
}

} // namespace topup
