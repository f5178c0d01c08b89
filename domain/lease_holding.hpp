#pragma once

// The provider leases one cluster node holds, and the hand-over of those another node should
// own now. A lease is either served (its provider is in the router's set) or draining: out of
// the router's set, still renewed until the router has finished the provider's calls here or
// the drain limit has passed, and only then released, so that the old and the new owner
// never call a provider at the same time. Pure bookkeeping: the database statements and the
// messages are the cluster actor's (actors/cluster_leases).

#include "domain/clock.hpp"
#include "domain/ownership.hpp"

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace topup {

/// A held lease and when (this node's monotonic clock) the statement that last confirmed it
/// (renewed, or acquired) was sent. Past confirmed + the time to live it may have expired in
/// the database; its lanes stop sending a margin before (send_fence.hpp).
struct confirmed_lease {
  lease granted;
  mono_time confirmed{};
};

/// Renews one lease in the database: when the statement that confirmed it was sent, or
/// nothing when the lease is lost (another node took it, or it was released).
using lease_renewal = std::function<std::optional<mono_time>(const lease&)>;

class lease_holding {
public:
  /// The leases the router serves, by provider.
  const std::map<std::string, confirmed_lease>& served() const { return served_; }

  bool serves(const std::string& provider) const { return served_.count(provider) > 0; }

  /// Every lease held, served or draining: what ownership is planned from, and what a node
  /// leaving the cluster releases.
  std::vector<lease> held() const;

  /// A lease granted by a statement sent at `asked_at`: the router serves it from now on.
  void acquired(const lease& granted, mono_time asked_at);

  /// Renews every lease held with `renew`. Lost leases are dropped; the served ones among
  /// them are returned (their lanes lost them). What `renew` throws is passed on, with the
  /// leases renewed so far kept.
  std::vector<lease> renew(const lease_renewal& renew);

  /// Takes `provider` out of the router's set. With a router serving it, its lease drains
  /// from `now`; without one nothing runs the provider here, and the lease to release at once
  /// is returned. Nothing happens for a provider not served.
  std::optional<lease> start_draining(const std::string& provider, mono_time now,
                                      bool router_serving);

  /// Whether `provider` drains under the lease of `epoch`.
  bool draining_under(const std::string& provider, int64_t epoch) const;

  /// The drain of `provider` is over: the lease to release; nothing when it was not draining.
  std::optional<lease> finish_draining(const std::string& provider);

  /// Every provider whose lease drains.
  std::vector<std::string> draining() const;

  /// The providers that have drained for `limit` or longer at `now`.
  std::vector<std::string> overdue(mono_time now, milliseconds limit) const;

  /// Forgets every lease: the node released them (or they expire on their own).
  void clear();

private:
  std::map<std::string, confirmed_lease> served_;
  std::map<std::string, confirmed_lease> draining_;
  std::map<std::string, mono_time> drain_started_;
};

} // namespace topup
