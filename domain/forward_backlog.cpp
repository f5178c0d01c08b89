#include "domain/forward_backlog.hpp"

#include <algorithm>
#include <iterator>
#include <utility>

namespace topup {

size_t forward_backlog::park(const std::string& provider, std::vector<order> orders) {
  auto room = capacity_ - size_;
  auto kept = std::min(room, orders.size());
  if (kept > 0) {
    auto& waiting = by_provider_[provider];
    waiting.insert(waiting.end(), std::make_move_iterator(orders.begin()),
                   std::make_move_iterator(orders.begin() + static_cast<std::ptrdiff_t>(kept)));
    size_ += kept;
  }
  return orders.size() - kept;
}

std::map<std::string, std::vector<order>> forward_backlog::take_all() {
  size_ = 0;
  return std::exchange(by_provider_, {});
}

} // namespace topup
