#pragma once

// Whether a provider call may still leave under the lease it was written ahead under. The
// database fences the write-ahead of each attempt, but the call leaves later: a node paused
// between the two (SIGSTOP, a stall, a frozen VM) would otherwise call after its lease expired
// and another node's lease began. So the call is checked again as it leaves, against the
// lease's expiry as this node knows it: the send time of the statement that last renewed (or
// acquired) the lease plus the time to live, no later than the database's own expiry, which
// counts from the statement's execution. The check runs on the node's steady clock, which
// keeps counting while the process is stopped: a node resumed after a pause sees its lease
// lapsed before it can send anything. A margin before that expiry covers the way from the
// check to the provider.

#include "domain/clock.hpp"

#include <optional>

namespace topup {

/// The margin kept before a lease's expiry: half the slack between the time to live and the
/// renewal interval. A lease renewed every heartbeat then stays valid from one renewal to the
/// next with the other half to spare for a late renewal, and calls stop that much before
/// the lease can expire in the database. (The configuration requires ttl > heartbeat.)
milliseconds lease_send_margin(milliseconds ttl, milliseconds heartbeat_interval);

/// Until when calls may leave under a lease that a statement sent at `confirmed` renewed (or
/// acquired) for `ttl`.
mono_time lease_valid_until(mono_time confirmed, milliseconds ttl, milliseconds margin);

/// The send-time check of one lane: open for a single node (no lease), else open until the
/// validity of the lease the lane works under.
class send_fence {
public:
  /// A single node: its calls are never fenced.
  send_fence() = default;

  /// A lane working under a lease valid until `valid_until`.
  explicit send_fence(mono_time valid_until) : valid_until_(valid_until) {}

  /// The lease was renewed: calls may leave until `valid_until`. A renewal told late (after
  /// a later one) never shortens the validity.
  void extend(mono_time valid_until);

  /// Whether a call or status query may leave at `now`.
  bool allows(mono_time now) const { return !valid_until_ || now < *valid_until_; }

  /// Until when calls may leave; nothing for a single node.
  std::optional<mono_time> valid_until() const { return valid_until_; }

private:
  std::optional<mono_time> valid_until_;
};

} // namespace topup
