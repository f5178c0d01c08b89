#include "actors/cluster_leases.hpp"

#include "actors/cluster.hpp"
#include "domain/send_fence.hpp"
#include "persistence/sql_backend.hpp"

#include <spdlog/spdlog.h>

#include <optional>

namespace topup {
namespace {

/// Releases a lease in the database; failing that, it expires on its own (nobody renews it).
void release_lease(cluster_state& st, const lease& held) {
  if (!st.db)
    return;
  try {
    if (st.db->release(held.provider, st.options.node_name, held.epoch))
      spdlog::info("cluster: released provider {} (epoch {})", held.provider, held.epoch);
  } catch (const store_error& error) {
    st.database_failed(error);
  }
}

/// Renews a held lease: when the statement that confirmed it was sent; nothing when it is
/// lost (another node took it, or it was released).
std::optional<mono_time> renew_lease(cluster_state& st, const lease& held) {
  auto asked_at = st.time->now();
  if (!st.db->renew(held.provider, st.options.node_name, held.epoch,
                    st.options.cluster.lease_ttl_ms))
    return std::nullopt;
  // The lease runs from the database's clock at the renewal, which is no earlier than this.
  return asked_at;
}

void start_draining(cluster_state& st, const std::string& provider) {
  bool router_serving = static_cast<bool>(st.router);
  if (router_serving)
    spdlog::info("cluster: provider {} moves to another node; draining it first", provider);
  // Without a router nothing runs the provider here: the next owner may have it at once.
  if (auto release_now = st.leases.start_draining(provider, st.time->now(), router_serving))
    release_lease(st, *release_now);
}

void acquire(cluster_state& st, const std::string& provider) {
  auto asked_at = st.time->now();
  std::optional<lease> granted;
  try {
    granted = st.db->try_acquire(provider, st.options.node_name,
                                 st.options.cluster.lease_ttl_ms);
  } catch (const store_error& error) {
    // Typically the lease row is locked by a paused writer (lock_timeout): try next tick.
    // A broken session shows in the next heartbeat.
    spdlog::warn("cluster: {}", error.what());
    return;
  }
  if (!granted)
    return;  // its previous owner still holds it (draining, or not yet expired)
  spdlog::info("cluster: {} owns provider {} (epoch {})", st.options.node_name, provider,
               granted->epoch);
  st.leases.acquired(*granted, asked_at);
  st.membership.acquired(*granted);
}

} // namespace

std::vector<provider_lease> served_leases(const cluster_state& st) {
  std::vector<provider_lease> leases;
  milliseconds ttl{st.options.cluster.lease_ttl_ms};
  for (const auto& [provider, held] : st.leases.served())
    leases.push_back({provider, held.granted.epoch,
                      lease_valid_until(held.confirmed, ttl, st.send_margin)});
  return leases;
}

void apply_ownership(cluster_state& st) {
  // Lost leases go first: from then on, the fence refuses their writes anyway.
  auto lost = st.leases.renew([&](const lease& held) { return renew_lease(st, held); });
  for (const auto& gone : lost)
    spdlog::warn("cluster: lost the lease of provider {} (epoch {})", gone.provider,
                 gone.epoch);
  auto plan = plan_ownership(st.options.node_name, st.options.providers,
                             st.membership.live().nodes(), st.leases.held());
  // A provider being drained finishes its drain (and is acquired again under a new epoch,
  // should it come back): handing it back now would race the router's released_atom.
  for (const auto& leaving : plan.release)
    if (st.leases.serves(leaving.provider))
      start_draining(st, leaving.provider);
  for (const auto& provider : plan.acquire) {
    if (!st.db)
      return;  // a release just failed: the session is opened again on the next tick
    acquire(st, provider);
  }
}

void finish_draining(cluster_state& st, const std::string& provider) {
  if (auto drained = st.leases.finish_draining(provider))
    release_lease(st, *drained);
}

void end_overdue_drains(cluster_state& st) {
  for (const auto& provider : st.leases.overdue(st.time->now(), st.options.drain_limit)) {
    spdlog::warn("cluster: provider {} not drained within {} ms; releasing its lease anyway",
                 provider, st.options.drain_limit.count());
    finish_draining(st, provider);
  }
}

void leave_cluster(cluster_state& st) {
  if (!st.db)
    return;
  try {
    for (const auto& held : st.leases.held())
      st.db->release(held.provider, st.options.node_name, held.epoch);
    st.db->leave(st.options.node_name);
    spdlog::info("cluster: {} left the cluster", st.options.node_name);
  } catch (const std::exception& error) {
    // The leases expire and the row goes stale on their own; the others just wait longer.
    spdlog::warn("cluster: leaving the cluster: {}", error.what());
  }
  st.leases.clear();
}

} // namespace topup
