#pragma once

// Who watches which orders on one node, and what the node therefore asks the other members
// of a cluster to pass on. Two roles of subscriber: clients, which receive every change of
// what they watch wherever it is made, and relays (the watch hubs of other members), which
// receive only the changes made on this node. A relay never receives a change this node got
// from another member, so each change, published once in the cluster on the node making it,
// reaches each client once and never goes round.
//
// The subscription keys are order ids; the empty key stands for every order.

#include <algorithm>
#include <cstddef>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace topup {

enum class watch_role { client, relay };

template <class Subscriber>
class watch_registry {
public:
  /// Subscribes `who` to `keys`. A subscriber keeps the role it was first added with. The
  /// keys the node's interest (what its clients watch) gained, sorted.
  std::vector<std::string> add(const Subscriber& who, watch_role role,
                               const std::vector<std::string>& keys) {
    auto [found, fresh] = subscribers_.try_emplace(who);
    if (fresh)
      found->second.role = role;
    std::vector<std::string> gained;
    for (const auto& key : keys) {
      if (!found->second.keys.insert(key).second)
        continue;
      by_key_[key].insert(who);
      if (found->second.role == watch_role::client && client_count_[key]++ == 0)
        gained.push_back(key);
    }
    if (found->second.keys.empty())
      subscribers_.erase(found);
    return sorted(std::move(gained));
  }

  /// Drops `keys` of `who`; a subscriber left with no key is forgotten. The keys the node's
  /// interest lost, sorted.
  std::vector<std::string> remove(const Subscriber& who, const std::vector<std::string>& keys) {
    auto found = subscribers_.find(who);
    if (found == subscribers_.end())
      return {};
    std::vector<std::string> lost;
    for (const auto& key : keys)
      if (found->second.keys.erase(key) > 0)
        drop_key(who, found->second.role, key, lost);
    if (found->second.keys.empty())
      subscribers_.erase(found);
    return sorted(std::move(lost));
  }

  /// Forgets `who` altogether. The keys the node's interest lost, sorted.
  std::vector<std::string> remove(const Subscriber& who) {
    auto found = subscribers_.find(who);
    if (found == subscribers_.end())
      return {};
    std::vector<std::string> keys{found->second.keys.begin(), found->second.keys.end()};
    return remove(who, keys);
  }

  bool contains(const Subscriber& who) const { return subscribers_.count(who) > 0; }

  /// Who receives a change of order `id`: made on this node, every subscriber of it (or of
  /// every order); relayed from another member, its clients only.
  std::vector<Subscriber> recipients(const std::string& id, bool made_here) const {
    std::set<Subscriber> found;
    for (const auto& key : {std::string{}, id}) {
      auto watching = by_key_.find(key);
      if (watching == by_key_.end())
        continue;
      for (const auto& who : watching->second)
        if (made_here || subscribers_.at(who).role == watch_role::client)
          found.insert(who);
      if (id.empty())
        break;
    }
    return {found.begin(), found.end()};
  }

  /// What the clients watch, sorted (the empty key first when one watches every order).
  std::vector<std::string> interest() const {
    std::vector<std::string> keys;
    for (const auto& [key, count] : client_count_)
      keys.push_back(key);
    return keys;
  }

  /// Subscribers of both roles: while there are none, nothing needs publishing.
  size_t size() const { return subscribers_.size(); }

  bool has_clients() const { return !client_count_.empty(); }

private:
  struct subscription {
    watch_role role = watch_role::client;
    std::set<std::string> keys{};
  };

  void drop_key(const Subscriber& who, watch_role role, const std::string& key,
                std::vector<std::string>& lost) {
    auto watching = by_key_.find(key);
    watching->second.erase(who);
    if (watching->second.empty())
      by_key_.erase(watching);
    if (role != watch_role::client)
      return;
    auto count = client_count_.find(key);
    if (--count->second == 0) {
      client_count_.erase(count);
      lost.push_back(key);
    }
  }

  static std::vector<std::string> sorted(std::vector<std::string> keys) {
    std::sort(keys.begin(), keys.end());
    return keys;
  }

  std::map<Subscriber, subscription> subscribers_;
  std::map<std::string, std::set<Subscriber>> by_key_;  ///< subscribers of either role
  std::map<std::string, size_t> client_count_;          ///< clients per key: the interest
};

/// The keys of `sent` that are not in `wanted` (both sorted): what to take back from a
/// member that was sent `sent` while the interest shrank to `wanted`.
inline std::vector<std::string> no_longer_wanted(const std::vector<std::string>& sent,
                                                 const std::vector<std::string>& wanted) {
  std::vector<std::string> stale;
  std::set_difference(sent.begin(), sent.end(), wanted.begin(), wanted.end(),
                      std::back_inserter(stale));
  return stale;
}

/// The keys of `added` still in `wanted` (both sorted): what to send a member for a watch
/// the interest gained, unless it was dropped again meanwhile.
inline std::vector<std::string> still_wanted(const std::vector<std::string>& added,
                                             const std::vector<std::string>& wanted) {
  std::vector<std::string> keep;
  std::set_intersection(added.begin(), added.end(), wanted.begin(), wanted.end(),
                        std::back_inserter(keep));
  return keep;
}

} // namespace topup
