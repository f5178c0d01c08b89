#include "actors/cluster.hpp"

#include "domain/host_port.hpp"

#include "messages/errors.hpp"
#include "persistence/sql_backend.hpp"

#include <caf/io/all.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace topup {
namespace {

using self_pointer = cluster_actor::stateful_pointer<cluster_state>;

/// The leases the router serves, as told with own_atom, each with the validity its lanes
/// may send under: from the last statement that confirmed it, never from the database's
/// answer, which may come late.
std::vector<provider_lease> owned_leases(const cluster_state& st) {
  std::vector<provider_lease> leases;
  milliseconds ttl{st.options.cluster.lease_ttl_ms};
  for (const auto& [provider, held] : st.owned)
    leases.push_back({provider, held.granted.epoch,
                      lease_valid_until(held.confirmed, ttl, st.send_margin)});
  return leases;
}

void tell_router(self_pointer self) {
  if (self->state.router)
    self->send(self->state.router, own_atom::value, owned_leases(self->state));
}

/// Opens the lease store when it is not open; false when the database cannot be reached.
bool database_ready(self_pointer self) {
  auto& st = self->state;
  if (st.db)
    return true;
  try {
    milliseconds ttl{st.options.cluster.lease_ttl_ms};
    // A tick must not wait on a lock longer than a heartbeat interval: its heartbeat is due.
    st.db = std::make_unique<lease_store>(with_bounded_waits(
      st.options.store, milliseconds{st.options.cluster.heartbeat_interval_ms}, ttl));
    spdlog::info("cluster: {} connected to the cluster database", st.options.node_name);
    return true;
  } catch (const store_error& error) {
    spdlog::warn("cluster: cannot open the cluster database: {}", error.what());
  } catch (const std::exception& error) {
    spdlog::warn("cluster: cannot open the cluster database: {}",
                 describe_database_error(error));
  }
  return false;
}

/// A database call failed: the session may be broken (a lost connection is not restored by
/// SOCI), so it is opened again on the next tick.
void database_failed(self_pointer self, const std::exception& error) {
  spdlog::warn("cluster: {}", error.what());
  self->state.db.reset();
  self->state.watch.lost();
}

/// Releases a lease in the database; failing that, it expires on its own (nobody renews it).
void release_lease(self_pointer self, const lease& held) {
  auto& st = self->state;
  if (!st.db)
    return;
  try {
    if (st.db->release(held.provider, st.options.node_name, held.epoch))
      spdlog::info("cluster: released provider {} (epoch {})", held.provider, held.epoch);
  } catch (const store_error& error) {
    database_failed(self, error);
  }
}

void start_draining(self_pointer self, const std::string& provider) {
  auto& st = self->state;
  auto it = st.owned.find(provider);
  if (it == st.owned.end())
    return;
  if (!st.router) {
    // Nothing runs this provider here: the next owner may have it at once.
    release_lease(self, it->second.granted);
  } else {
    spdlog::info("cluster: provider {} moves to another node; draining it first",
                 provider);
    st.draining.emplace(provider, it->second);
    st.drain_started[provider] = st.time->now();
  }
  st.owned.erase(it);
}

void finish_draining(self_pointer self, const std::string& provider) {
  auto& st = self->state;
  auto it = st.draining.find(provider);
  if (it == st.draining.end())
    return;
  release_lease(self, it->second.granted);
  st.draining.erase(it);
  st.drain_started.erase(provider);
}

/// Reads the members and the lease holders; logs who joined, left or restarted.
void read_membership(self_pointer self) {
  auto& st = self->state;
  st.last_read = st.db->members();
  // Judged over the time this node watched the table: after an outage the others' rows are
  // as stale as this node's own was, which says nothing about whether they are down.
  auto now = st.watch.observe(st.last_read.members, st.last_read.now_ms);
  auto change = compare(st.view, now);
  if (!change.empty())
    spdlog::info("cluster: {} ({} live)", change.describe(), now.size());
  st.view = std::move(now);
  std::map<std::string, lease> holders;
  for (const auto& provider : st.options.providers)
    if (auto held = st.db->holder(provider))
      holders[provider] = std::move(*held);
  st.holders = std::move(holders);
}

/// Renews a held lease; false when it is lost (another node took it, or it was released).
bool renew(self_pointer self, cluster_state::held_lease& held) {
  auto& st = self->state;
  auto asked_at = st.time->now();
  if (!st.db->renew(held.granted.provider, st.options.node_name, held.granted.epoch,
                    st.options.cluster.lease_ttl_ms))
    return false;
  // The lease runs from the database's clock at the renewal, which is no earlier than this.
  held.confirmed = asked_at;
  return true;
}

/// Plans ownership from the current view and applies the plan.
void apply_ownership(self_pointer self) {
  auto& st = self->state;
  // Lost leases go first: from then on, the fence refuses their writes anyway.
  for (auto it = st.owned.begin(); it != st.owned.end();) {
    if (renew(self, it->second)) {
      ++it;
      continue;
    }
    spdlog::warn("cluster: lost the lease of provider {} (epoch {})", it->first,
                 it->second.granted.epoch);
    it = st.owned.erase(it);
  }
  for (auto it = st.draining.begin(); it != st.draining.end();) {
    if (renew(self, it->second)) {
      ++it;
      continue;
    }
    st.drain_started.erase(it->first);
    it = st.draining.erase(it);
  }
  std::vector<lease> held;
  for (const auto& map : {&st.owned, &st.draining})
    for (const auto& [provider, lease_held] : *map)
      held.push_back(lease_held.granted);
  auto plan = plan_ownership(st.options.node_name, st.options.providers, st.view.nodes(), held);
  // A provider being drained finishes its drain (and is acquired again later, under a new
  // epoch, if it comes back): handing it back now would race the router's released_atom.
  for (const auto& leaving : plan.release)
    if (st.owned.count(leaving.provider))
      start_draining(self, leaving.provider);
  for (const auto& provider : plan.acquire) {
    auto asked_at = st.time->now();
    std::optional<lease> granted;
    try {
      granted = st.db->try_acquire(provider, st.options.node_name,
                                   st.options.cluster.lease_ttl_ms);
    } catch (const store_error& error) {
      // Typically the lease row is locked by a paused writer (lock_timeout): try next tick.
      // A broken session shows in the next heartbeat.
      spdlog::warn("cluster: {}", error.what());
      continue;
    }
    if (!granted)
      continue;  // its previous owner still holds it (draining, or not yet expired)
    spdlog::info("cluster: {} owns provider {} (epoch {})", st.options.node_name, provider,
                 granted->epoch);
    st.owned[provider] = {*granted, asked_at};
    st.holders[provider] = *granted;
  }
}

/// A router that never says released_atom must not keep the next owner waiting forever.
void end_overdue_drains(self_pointer self) {
  auto& st = self->state;
  auto now = st.time->now();
  std::vector<std::string> overdue;
  for (const auto& [provider, since] : st.drain_started)
    if (now - since >= st.options.drain_limit)
      overdue.push_back(provider);
  for (const auto& provider : overdue) {
    spdlog::warn("cluster: provider {} not drained within {} ms; releasing its lease anyway",
                 provider, st.options.drain_limit.count());
    finish_draining(self, provider);
  }
}

/// Connects to a member's gateway in a thread of its own: a connect to a paused peer
/// blocks until the middleman's connection timeout, and heartbeats must not wait for it.
void connect_peer(self_pointer self, const std::string& address) {
  auto& st = self->state;
  if (address == st.options.address || st.peers.count(address) || st.connecting.count(address))
    return;
  auto endpoint = parse_host_port(address);
  if (!endpoint) {
    spdlog::warn("cluster: cannot connect to a member: {}", endpoint.error);
    return;
  }
  st.connecting.insert(address);
  auto connector = self->system().spawn<caf::detached>([](caf::event_based_actor* worker) {
    return caf::behavior{
      [worker](caf::connect_atom, const std::string& host,
               uint16_t port) -> caf::result<caf::actor> {
        worker->quit();
        auto gateway = worker->system().middleman().remote_actor<gateway_actor>(host, port);
        if (!gateway)
          return gateway.error();
        return caf::actor_cast<caf::actor>(*gateway);
      },
    };
  });
  self->request(connector, st.options.connect_timeout, caf::connect_atom::value,
                endpoint.address->host, endpoint.address->port)
    .then(
      [=](caf::actor& peer) {
        auto& state = self->state;
        state.connecting.erase(address);
        if (state.peers.count(address))
          return;
        self->monitor(peer);
        state.peers.emplace(address, caf::actor_cast<gateway_actor>(peer));
        spdlog::debug("cluster: connected to member at {}", address);
      },
      [=](caf::error& error) {
        self->state.connecting.erase(address);
        spdlog::debug("cluster: cannot connect to member at {}: {}", address, describe(error));
      });
}

void connect_members(self_pointer self) {
  for (const auto& member : self->state.view.members())
    if (member.node != self->state.options.node_name)
      connect_peer(self, member.address);
}

void forward_parked(self_pointer self);

void tick(self_pointer self) {
  auto& st = self->state;
  self->delayed_send(self, milliseconds{st.options.cluster.heartbeat_interval_ms},
                     tick_atom::value);
  if (database_ready(self)) {
    try {
      st.db->heartbeat(st.options.node_name, st.options.address, st.options.incarnation);
      read_membership(self);
      apply_ownership(self);
    } catch (const store_error& error) {
      database_failed(self, error);
    }
  } else {
    st.watch.lost();
  }
  // A lease not renewed (the database cannot be reached) stays held: its lanes stop
  // sending once its validity has passed, and it is renewed under the same epoch when the
  // database is back, unless another node took it meanwhile. Every tick tells the router
  // the validity of each, renewed or not.
  end_overdue_drains(self);
  if (st.options.metrics) {
    auto gauges = st.options.metrics->cluster();
    gauges.members->Set(static_cast<double>(st.view.members().size()));
    gauges.leases_held->Set(static_cast<double>(st.owned.size()));
    // Add() returns the existing series of a provider: one per provider ever held here.
    for (const auto& provider : st.epoch_series)
      if (st.owned.count(provider) == 0)
        gauges.lease_epoch->Add({{"provider", provider}}).Set(0);
    for (const auto& [provider, held] : st.owned) {
      gauges.lease_epoch->Add({{"provider", provider}})
        .Set(static_cast<double>(held.granted.epoch));
      st.epoch_series.insert(provider);
    }
  }
  tell_router(self);
  connect_members(self);
  forward_parked(self);
}

std::vector<member_info> describe_members(const cluster_state& st) {
  std::vector<member_info> members;
  for (const auto& row : st.last_read.members) {
    member_info info;
    info.node = row.node;
    info.address = row.address;
    info.live = st.view.contains(row.node);
    info.heartbeat_age_ms = std::max<int64_t>(0, st.last_read.now_ms - row.heartbeat_at_ms);
    for (const auto& [provider, held] : st.holders)
      if (held.owner == row.node) {
        info.providers.push_back(provider);
        info.epochs.push_back(held.epoch);
      }
    members.push_back(std::move(info));
  }
  return members;
}

/// The other live members; the gateway of each that is connected.
std::vector<peer_gateway> describe_peers(const cluster_state& st) {
  std::vector<peer_gateway> peers;
  for (const auto& member : st.view.members()) {
    if (member.node == st.options.node_name)
      continue;
    peer_gateway peer{member.node, member.address, {}};
    if (auto connected = st.peers.find(member.address); connected != st.peers.end())
      peer.gateway = connected->second;
    peers.push_back(std::move(peer));
  }
  return peers;
}

/// Orders for a provider this node does not serve go to its holder's gateway. While no
/// live holder is known, or its gateway is not connected yet, they wait in the backlog for
/// the next tick.
void forward_orders(self_pointer self, std::vector<order>& orders, const std::string& provider) {
  auto& st = self->state;
  auto park = [&](const char* why) {
    spdlog::debug("cluster: {} orders for provider {} wait: {}", orders.size(), provider, why);
    if (auto dropped = st.parked_forwards.park(provider, std::move(orders)))
      spdlog::warn("cluster: {} orders for provider {} not kept for forwarding (backlog "
                   "full); they wait in the store for its next owner",
                   dropped, provider);
  };
  auto holder = st.holders.find(provider);
  if (holder == st.holders.end())
    return park("no live node holds it");
  if (holder->second.owner == st.options.node_name) {
    if (st.owned.count(provider) == 0 || !st.router)
      return park("this node is taking it over");
    self->send(st.router, forward_atom::value, std::move(orders), provider);
    return;
  }
  auto member = st.view.find(holder->second.owner);
  auto peer = member ? st.peers.find(member->address) : st.peers.end();
  if (peer == st.peers.end())
    return park("its holder is not connected yet");
  self->send(peer->second, forward_atom::value, std::move(orders), provider);
}

/// Forwards what waited, now that holders and connections may be known.
void forward_parked(self_pointer self) {
  for (auto& [provider, orders] : self->state.parked_forwards.take_all())
    forward_orders(self, orders, provider);
}

} // namespace

cluster_state::~cluster_state() {
  if (!db)
    return;
  try {
    for (const auto& map : {&owned, &draining})
      for (const auto& [provider, held] : *map)
        db->release(provider, options.node_name, held.granted.epoch);
    db->leave(options.node_name);
    spdlog::info("cluster: {} left the cluster", options.node_name);
  } catch (const std::exception& error) {
    // The leases expire and the row goes stale on their own; the others just wait longer.
    spdlog::warn("cluster: leaving the cluster: {}", error.what());
  }
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
  // Two reads further apart than down_after - heartbeat are not one watch: a member silent
  // for down_after could not be told from one this node missed.
  st.watch = membership_watch{timing.down_after_ms,
                              timing.down_after_ms - timing.heartbeat_interval_ms};
  st.send_margin = lease_send_margin(milliseconds{timing.lease_ttl_ms},
                                     milliseconds{timing.heartbeat_interval_ms});
  self->set_down_handler([=](caf::down_msg& down) {
    auto& peers = self->state.peers;
    for (auto it = peers.begin(); it != peers.end(); ++it)
      if (it->second.address() == down.source) {
        // Whether it is down is for its heartbeat to tell; it is connected again while live.
        spdlog::debug("cluster: connection to member at {} lost", it->first);
        peers.erase(it);
        return;
      }
  });
  for (const auto& seed : st.options.cluster.seeds)
    connect_peer(self, seed);
  self->send(self, tick_atom::value);
  return {
    [=](members_atom) { return describe_members(self->state); },
    [=](own_atom) { return owned_leases(self->state); },
    [=](caf::update_atom, router_actor& router) {
      auto& state = self->state;
      // A new router: the old one and its lanes are gone, so nothing of a draining
      // provider is in flight here any more.
      std::vector<std::string> drained;
      for (const auto& [provider, held] : state.draining)
        drained.push_back(provider);
      for (const auto& provider : drained)
        finish_draining(self, provider);
      state.router = std::move(router);
      tell_router(self);
    },
    [=](released_atom, const std::string& provider, int64_t epoch) {
      auto it = self->state.draining.find(provider);
      if (it == self->state.draining.end() || it->second.granted.epoch != epoch) {
        spdlog::debug("cluster: provider {} (epoch {}) drained, no longer held", provider,
                      epoch);
        return;
      }
      finish_draining(self, provider);
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
