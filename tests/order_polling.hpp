#pragma once

// Waiting for orders to reach a final state, for tests that drive a real node.

#include "domain/order.hpp"
#include "messages/errors.hpp"
#include "messages/protocol.hpp"

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

namespace topup::testing {

/// Polls `get(id)` (a caf::expected<order>) until every order in `ids` is final; their last
/// state. Fails the test, naming each order's status and provider, when that takes longer
/// than `limit`.
template <class Get>
std::map<std::string, order> wait_until_final(const std::vector<std::string>& ids,
                                              std::chrono::steady_clock::duration limit,
                                              Get get) {
  std::map<std::string, order> last;
  auto until = std::chrono::steady_clock::now() + limit;
  for (;;) {
    bool all_final = true;
    for (const auto& id : ids) {
      auto found = get(id);
      BOOST_REQUIRE_MESSAGE(found, "get " << id << " failed: "
                                          << (found ? std::string{} : describe(found.error())));
      last[id] = *found;
      all_final = all_final && is_final(found->status);
    }
    if (all_final)
      return last;
    if (std::chrono::steady_clock::now() >= until) {
      std::string states;
      for (const auto& [id, o] : last)
        states += " " + id + "=" + std::string{to_string(o.status)} + "@" + o.provider;
      BOOST_FAIL("orders not final within the limit:" << states);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

} // namespace topup::testing
