#pragma once

// The cluster actor's provider leases (actors/cluster): each tick renews those it holds,
// plans ownership over the live members and applies the plan through persistence/lease_store;
// a provider another node should own now drains first and is released once the router has
// finished its calls (domain/lease_holding keeps the books). Leaving the cluster releases
// every lease.

#include "domain/ownership.hpp"
#include "messages/protocol.hpp"

#include <string>
#include <vector>

namespace topup {

struct cluster_state;

/// The leases the router serves, as told with own_atom, each with the validity its lanes
/// may send under: from the last statement that confirmed it, never from the database's
/// answer, which may come late.
std::vector<provider_lease> served_leases(const cluster_state& st);

/// Renews the leases held (a failed renew drops the lease at once), plans ownership from
/// the live members and applies the plan: acquires what this node should own, and starts
/// the drain of what another node should own now. Throws store_error when the database
/// fails on a renewal.
void apply_ownership(cluster_state& st);

/// The router finished the calls of a draining provider (or is gone): its lease is released.
void finish_draining(cluster_state& st, const std::string& provider);

/// A router that never says released_atom must not keep the next owner waiting forever:
/// drains older than the drain limit end.
void end_overdue_drains(cluster_state& st);

/// A clean stop: releases every lease and removes the node's membership row, so that the
/// others take its providers over at once. What fails (or a database out of reach) is left
/// to expire: the others then wait for the time to live and down_after_ms.
void leave_cluster(cluster_state& st);

} // namespace topup
