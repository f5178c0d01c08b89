#pragma once

// Cancelling an order in a cluster: only the router whose queue holds the order waiting can
// cancel it, and the order row does not say which member's that is (routing and failover
// pick the provider, and the provider's owner holds the queue), so the node asked tries its
// own router and then every other live member's. When none of them held it, this says why.

#include "domain/errors.hpp"
#include "domain/order.hpp"

#include <string>
#include <vector>

namespace topup {

/// A member asked to cancel that gave no answer.
struct silent_member {
  std::string node;
  std::string reason;
};

/// Why a cancel tried at every live member came to nothing. `status` is the order's status
/// read after the last answer; `silent` the members that did not answer. Not waiting any
/// more: illegal_transition. Still waiting: unavailable, naming the silent members (the
/// order may wait at one of them), or saying that no live member holds it now (its provider
/// is changing hands); either way the client may try again.
failure refused_cancel(const std::string& order_id, order_status status,
                       const std::vector<silent_member>& silent);

} // namespace topup
