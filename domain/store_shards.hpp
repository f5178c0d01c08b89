#pragma once

// Where an order lives when the store is split into shards (README.md "Configuration",
// store.shards): pure placement and merge rules, the same on every build and machine.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace topup {

/// The shard of an idempotency key: FNV-1a (64 bit, domain/ownership's stable_hash) of
/// "<merchant>\n<client_ref>" modulo `shards`. Stable across builds and machines (unlike
/// std::hash), so an order never moves and the uniqueness of (merchant, client_ref) is
/// checked within one shard.
size_t shard_of_key(const std::string& merchant, const std::string& client_ref, size_t shards);

/// Marks an order id with its shard: "<id>.<shard>" (decimal). Orders of a one-shard store
/// carry no mark.
std::string id_with_shard(const std::string& id, size_t shard);

/// The shard an order id names: the decimal number after its last '.', when that is all
/// digits; an id without a mark (every order of a one-shard store, and those written before
/// the store had shards) is shard 0, as is a mark at or beyond `shards`.
size_t shard_of_id(const std::string& id, size_t shards);

/// The file of shard `shard` of an SQLite store whose shard 0 is `path`: `path` itself for
/// shard 0, else the shard number before the extension ("topup.db" -> "topup.shard1.db";
/// a name without an extension gets ".shard1").
std::string shard_file(const std::string& path, size_t shard);

/// The shard count of a new store: one per four hardware threads, at least 1, at most 4.
/// Each shard is a writing thread that needs a core beside intake, router, recharge and the
/// network, and each divides the orders a group commit carries: on 2 cores two shards ran
/// W1 slower than one (bench/README.md, "W1 with the store in one shard and in two").
size_t default_shard_count(unsigned hardware_threads);

/// The positions of `items` that belong to each shard (`shard_of(item)` < `shards`), each list
/// in the items' order: a batch is split by shard and its answers put back in place.
template <class T, class ShardOf>
std::vector<std::vector<size_t>> positions_by_shard(const std::vector<T>& items, size_t shards,
                                                    ShardOf shard_of) {
  std::vector<std::vector<size_t>> positions(shards);
  for (size_t i = 0; i < items.size(); ++i)
    positions[shard_of(items[i])].push_back(i);
  return positions;
}

/// The items at `positions`, moved out of `items`.
template <class T>
std::vector<T> take_positions(std::vector<T>& items, const std::vector<size_t>& positions) {
  std::vector<T> taken;
  taken.reserve(positions.size());
  for (auto position : positions)
    taken.push_back(std::move(items[position]));
  return taken;
}

/// Puts a shard's answers (one per position, in order) back at their batch positions.
template <class T>
void place_at_positions(std::vector<T>& answers, const std::vector<size_t>& positions,
                        std::vector<T>&& part) {
  for (size_t i = 0; i < positions.size() && i < part.size(); ++i)
    answers[positions[i]] = std::move(part[i]);
}

/// Merges pages that each shard sorted by `before` (a strict weak order) into one page of at
/// most `limit` items, sorted the same way: what one store holding every shard's rows would
/// answer, provided each shard was asked for `limit` items after the same key.
template <class T, class Before>
std::vector<T> merge_pages(std::vector<std::vector<T>> pages, Before before, size_t limit) {
  std::vector<T> merged;
  for (auto& page : pages) {
    auto middle = merged.size();
    merged.insert(merged.end(), std::make_move_iterator(page.begin()),
                  std::make_move_iterator(page.end()));
    std::inplace_merge(merged.begin(), merged.begin() + static_cast<std::ptrdiff_t>(middle),
                       merged.end(), before);
  }
  if (merged.size() > limit)
    merged.resize(limit);
  return merged;
}

} // namespace topup
