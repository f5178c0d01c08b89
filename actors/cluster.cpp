#include "actors/cluster.hpp"

#include "actors/cluster_leases.hpp"
#include "domain/host_port.hpp"
#include "domain/send_fence.hpp"
#include "persistence/sql_backend.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace topup {
namespace {

using self_pointer = cluster_pointer;

void tell_router(self_pointer self) {
  if (self->state.router)
    self->send(self->state.router, own_atom::value, served_leases(self->state));
}

/// The members seen and the leases held, with the epoch of each lease.
void publish_gauges(cluster_state& st) {
  if (!st.options.metrics)
    return;
  auto gauges = st.options.metrics->cluster();
  const auto& served = st.leases.served();
  gauges.members->Set(static_cast<double>(st.membership.live().members().size()));
  gauges.leases_held->Set(static_cast<double>(served.size()));
  // Add() returns the existing series of a provider: one per provider ever held here.
  for (const auto& provider : st.epoch_series)
    if (served.count(provider) == 0)
      gauges.lease_epoch->Add({{"provider", provider}}).Set(0);
  for (const auto& [provider, held] : served) {
    gauges.lease_epoch->Add({{"provider", provider}})
      .Set(static_cast<double>(held.granted.epoch));
    st.epoch_series.insert(provider);
  }
}

void tick(self_pointer self) {
  auto& st = self->state;
  self->delayed_send(self, milliseconds{st.options.cluster.heartbeat_interval_ms},
                     tick_atom::value);
  if (st.database_ready()) {
    try {
      st.db->heartbeat(st.options.node_name, st.options.address, st.options.incarnation);
      auto holders_before = st.membership.lease_holders();
      auto change = st.membership.read(*st.db, st.options.providers);
      if (st.router
          && serves_orphans(change, holders_before, st.membership.live(), st.options.node_name)) {
        spdlog::info("cluster: a member left or restarted holding no provider: {} serves every "
                     "waiting order again",
                     st.options.node_name);
        self->send(st.router, recover_atom::value, members_atom::value);
      }
      apply_ownership(st);
    } catch (const store_error& error) {
      st.database_failed(error);
    }
  } else {
    st.membership.lost();
  }
  // A lease not renewed (the database cannot be reached) stays held: its lanes stop
  // sending once its validity has passed, and it is renewed under the same epoch when the
  // database is back, unless another node took it meanwhile. Every tick tells the router
  // the validity of each, renewed or not.
  end_overdue_drains(st);
  publish_gauges(st);
  tell_router(self);
  connect_members(self);
  forward_parked(self);
}

} // namespace

bool cluster_state::database_ready() {
  if (db)
    return true;
  try {
    milliseconds ttl{options.cluster.lease_ttl_ms};
    // A tick must not wait on a lock longer than a heartbeat interval: its heartbeat is due.
    db = std::make_unique<lease_store>(with_bounded_waits(
      options.store, milliseconds{options.cluster.heartbeat_interval_ms}, ttl));
    spdlog::info("cluster: {} connected to the cluster database", options.node_name);
    return true;
  } catch (const store_error& error) {
    spdlog::warn("cluster: cannot open the cluster database: {}", error.what());
  } catch (const std::exception& error) {
    spdlog::warn("cluster: cannot open the cluster database: {}",
                 describe_database_error(error));
  }
  return false;
}

void cluster_state::database_failed(const std::exception& error) {
  spdlog::warn("cluster: {}", error.what());
  db.reset();
  membership.lost();
}

std::string gateway_address(const node_config& node) {
  return host_port{node.host, node.port}.to_string();
}

cluster_options make_cluster_options(const config& cfg, int64_t incarnation) {
  cluster_options options;
  options.node_name = cfg.node.name;
  options.address = gateway_address(cfg.node);
  options.incarnation = incarnation;
  int64_t longest_call_ms = 0;
  for (const auto& provider : cfg.providers) {
    options.providers.push_back(provider.name);
    longest_call_ms = std::max(longest_call_ms, provider.timeout_ms);
  }
  if (cfg.cluster) {
    options.cluster = *cfg.cluster;
    // A call in flight ends within its timeout; a query may follow it.
    options.drain_limit = milliseconds{2 * longest_call_ms + cfg.cluster->lease_ttl_ms};
  }
  options.connect_timeout = milliseconds{cfg.node.connection_timeout_ms + 1000};
  options.store = cfg.store;
  return options;
}

cluster_actor::behavior_type cluster(self_pointer self, cluster_options options,
                                     std::shared_ptr<const clock> time) {
  auto& st = self->state;
  st.options = std::move(options);
  st.time = std::move(time);
  std::sort(st.options.providers.begin(), st.options.providers.end());
  const auto& timing = st.options.cluster;
  st.membership = cluster_membership{timing};
  st.send_margin = lease_send_margin(milliseconds{timing.lease_ttl_ms},
                                     milliseconds{timing.heartbeat_interval_ms});
  // Leaving the cluster is database work, so it runs on the actor's ways out (an exit
  // message, an exception) rather than in the state's destructor; a kill skips it, as a
  // SIGKILL of the process does, and the leases then expire.
  self->set_exit_handler([=](caf::scheduled_actor* actor, caf::exit_msg& exit) {
    if (exit.reason)
      leave_cluster(self->state);
    caf::scheduled_actor::default_exit_handler(actor, exit);
  });
  self->set_exception_handler([=](caf::scheduled_actor* actor, std::exception_ptr& error) {
    leave_cluster(self->state);
    return caf::scheduled_actor::default_exception_handler(actor, error);
  });
  self->set_down_handler([=](caf::down_msg& down) { peer_down(self, down); });
  for (const auto& seed : st.options.cluster.seeds)
    connect_peer(self, seed);
  self->send(self, tick_atom::value);
  return {
    [=](members_atom) { return self->state.membership.describe(); },
    [=](own_atom) { return served_leases(self->state); },
    [=](caf::update_atom, router_actor& router) {
      auto& state = self->state;
      // A new router: the old one and its lanes are gone, so nothing of a draining
      // provider is in flight here.
      for (const auto& provider : state.leases.draining())
        finish_draining(state, provider);
      state.router = std::move(router);
      tell_router(self);
    },
    [=](released_atom, const std::string& provider, int64_t epoch) {
      if (!self->state.leases.draining_under(provider, epoch)) {
        spdlog::debug("cluster: provider {} (epoch {}) drained, no longer held", provider,
                      epoch);
        return;
      }
      finish_draining(self->state, provider);
    },
    [=](forward_atom, std::vector<order>& orders, const std::string& provider) {
      forward_orders(self, orders, provider);
    },
    [=](peers_atom) { return describe_peers(self->state); },
    [=](tick_atom) { tick(self); },
  };
}

cluster_actor spawn_cluster(caf::actor_system& system, cluster_options options,
                            std::shared_ptr<const clock> time) {
  return system.spawn<caf::detached>(cluster, std::move(options), std::move(time));
}

} // namespace topup
