#pragma once

// A backlog of unfinished orders written straight into a node's SQLite store before the node
// starts, so that its start-up recovery has something to take a moment over.

#include "persistence/order_store.hpp"
#include "tests/test_support.hpp"

#include <string>
#include <vector>

namespace topup::testing {

/// `count` accepted cmcc orders of `merchant` ("backlog-<i>"), accepted now with a deadline a
/// minute away (none expires during a test), in the SQLite store at `sqlite_path`.
inline void store_backlog(const std::string& sqlite_path, int count,
                          const std::string& merchant = "default") {
  store_config store;
  store.sqlite_path = sqlite_path;
  order_store backlog{store};
  auto now_ms = system_clock{}.wall_ms();
  std::vector<order> orders;
  for (int i = 0; i < count; ++i) {
    orders.push_back(stored_order("backlog-" + std::to_string(i), "ref-" + std::to_string(i),
                                  static_cast<uint64_t>(i)));
    orders.back().merchant = merchant;
    orders.back().accepted_at_ms = orders.back().updated_at_ms = now_ms;
    orders.back().deadline_ms = now_ms + 60000;
  }
  backlog.insert(orders);
}

} // namespace topup::testing
