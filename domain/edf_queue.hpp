#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

namespace topup {

/// A queue served earliest deadline first, where urgent entries (orders re-sent near their
/// deadline) go before all normal ones. Entries with equal rank leave in arrival order.
/// Every operation is O(log n); any entry can be taken out by id, which is how an order
/// moves to another provider's queue.
template <class Id, class Value>
class edf_queue {
public:
  struct entry {
    Id id;
    int64_t deadline_ms;
    bool urgent;
    Value value;
  };

  /// Adds an entry; returns false (and changes nothing) when the id is already queued.
  bool push(Id id, int64_t deadline_ms, Value value, bool urgent = false) {
    if (positions_.count(id) != 0)
      return false;
    rank key{urgent ? 0 : 1, deadline_ms, next_sequence_++};
    positions_.emplace(id, key);
    entries_.emplace(key, entry{std::move(id), deadline_ms, urgent, std::move(value)});
    return true;
  }

  /// The entry that pop() would return, or nullptr.
  const entry* peek() const { return entries_.empty() ? nullptr : &entries_.begin()->second; }

  std::optional<entry> pop() {
    if (entries_.empty())
      return std::nullopt;
    return take(entries_.begin());
  }

  /// Removes the entry with this id and returns it.
  std::optional<entry> extract(const Id& id) {
    auto position = positions_.find(id);
    if (position == positions_.end())
      return std::nullopt;
    return take(entries_.find(position->second));
  }

  /// Removes and returns every entry whose deadline is at most `latest_deadline_ms`, urgent
  /// or not (an urgent entry ahead does not hide a normal one that is due).
  std::vector<entry> take_due(int64_t latest_deadline_ms) {
    std::vector<entry> due;
    for (int urgency_class : {0, 1}) {
      auto it = entries_.lower_bound(rank{urgency_class, std::numeric_limits<int64_t>::min(), 0});
      while (it != entries_.end() && std::get<0>(it->first) == urgency_class
             && std::get<1>(it->first) <= latest_deadline_ms)
        due.push_back(take(it++));
    }
    return due;
  }

  bool contains(const Id& id) const { return positions_.count(id) != 0; }
  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }

private:
  /// (urgency class, deadline, arrival sequence): the order in which entries are served.
  using rank = std::tuple<int, int64_t, uint64_t>;

  entry take(typename std::map<rank, entry>::iterator where) {
    entry taken = std::move(where->second);
    positions_.erase(taken.id);
    entries_.erase(where);
    return taken;
  }

  std::map<rank, entry> entries_;
  std::unordered_map<Id, rank> positions_;
  uint64_t next_sequence_ = 0;
};

} // namespace topup
