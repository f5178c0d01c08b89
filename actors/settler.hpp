#pragma once

// Reconciliation's first step on the node that holds a provider: settle the outcomes the
// provider still owes before its statement is compared. A settler serves one settle_request
// and quits: it reads from the store the provider's orders whose outcome is unknown (the
// latest attempt's call timed out) or whose call is in flight, asks the provider's lane
// through the router to query the unknown ones now (a lane otherwise waits its query
// interval between queries), and reads the store again every poll until none of them is
// unknown or in flight any more, or the request's wait is over. The store is the judge: what
// it holds is what the comparison will read next.

#include "messages/interfaces.hpp"

#include <chrono>
#include <set>
#include <string>

namespace topup {

/// How often a settler reads the store again while it waits.
inline constexpr std::chrono::milliseconds settle_poll{200};
/// How often it asks the lane again to query the outcomes still unknown (a query that
/// failed, e.g. in an outage, would otherwise wait the lane's query interval).
inline constexpr uint32_t settle_polls_per_urge = 5;
/// The longest wait a request may ask for.
inline constexpr std::chrono::milliseconds settle_wait_limit{std::chrono::minutes(5)};

struct settler_state {
  static constexpr const char* name = "settler";
  store_actor store;
  router_actor router;
  std::string node;
  settle_request request;
  caf::typed_response_promise<settle_report> answer;
  settle_report report;
  std::set<std::string> waiting;  ///< ids of the orders not settled yet
  uint32_t polls = 0;
  uint32_t polls_allowed = 0;
};

/// Spawn one per settle_request (the gateway delegates the request to it).
settler_actor::behavior_type settler(settler_actor::stateful_pointer<settler_state> self,
                                     store_actor store, router_actor router, std::string node);

} // namespace topup
