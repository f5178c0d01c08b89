#include "domain/connection_slots.hpp"

namespace topup {

connection_slots::admission connection_slots::admit(uint64_t id) {
  admission result;
  if (open() >= cap_) {
    if (pending_.empty())
      return result;
    result.evicted = pending_.front();
    closed(*result.evicted);
  }
  result.accepted = true;
  pending_.push_back(id);
  pending_index_[id] = std::prev(pending_.end());
  known_[id] = false;
  return result;
}

void connection_slots::established(uint64_t id) {
  auto it = pending_index_.find(id);
  if (it == pending_index_.end())
    return;
  pending_.erase(it->second);
  pending_index_.erase(it);
  known_[id] = true;
  ++established_;
}

void connection_slots::closed(uint64_t id) {
  auto known = known_.find(id);
  if (known == known_.end())
    return;
  if (known->second) {
    --established_;
  } else if (auto it = pending_index_.find(id); it != pending_index_.end()) {
    pending_.erase(it->second);
    pending_index_.erase(it);
  }
  known_.erase(known);
}

} // namespace topup
