#pragma once

// Orders a cluster node could not forward yet: their provider has no live holder it knows
// of, or the holder's gateway is not connected yet. They are stored, so the provider's next
// owner would find them in the store, but only if it reads them after they were written: an
// order accepted just after the new owner took its providers over from the store would wait
// for its deadline. So they wait here and are forwarded as soon as the holder is known.

#include "domain/order.hpp"

#include <cstddef>
#include <map>
#include <string>
#include <vector>

namespace topup {

class forward_backlog {
public:
  /// At most `capacity` orders in all.
  explicit forward_backlog(size_t capacity) : capacity_(capacity) {}

  /// Keeps the orders for `provider`; those beyond the capacity are not kept (the count is
  /// returned): they stay in the store, for the deadline net and the next owner's read.
  size_t park(const std::string& provider, std::vector<order> orders);

  /// Every order kept, by provider; the backlog is empty afterwards.
  std::map<std::string, std::vector<order>> take_all();

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

private:
  size_t capacity_;
  size_t size_ = 0;
  std::map<std::string, std::vector<order>> by_provider_;
};

} // namespace topup
