#pragma once

#include "config/config.hpp"
#include "domain/clock.hpp"
#include "messages/interfaces.hpp"
#include "metrics/node_metrics.hpp"

#include <memory>
#include <vector>

namespace topup {

struct sharded_store_state {
  static constexpr const char* name = "sharded store";

  std::vector<store_actor> shards;  ///< one store actor per shard, by shard number
  /// PostgreSQL: per shard a second store actor, on a connection of its own, that writes the
  /// shard's new orders, so that their acknowledgements never wait behind a commit of state
  /// changes (nor a row lock one of them waits for) and the server works on both at once.
  /// SQLite: none (one writer per file; a shard's commit carries both, new orders first).
  std::vector<store_actor> new_order_writers;
  /// PostgreSQL: one database that every shard's connection sees whole, so reads need no
  /// fan-out and all go to shard 0 (which keeps the read connections).
  bool one_database = false;
  std::string default_merchant;  ///< whose reference a lookup naming no merchant means
};

/// The front of a store split into cfg.shards shards (README.md "Configuration",
/// store.shards), and of every PostgreSQL store: the store_actor interface over one detached
/// store actor per shard (persistence/store_actor, unchanged), and on PostgreSQL one more per
/// shard for its new orders, all linked to it. Writes are split by shard (new orders by the
/// shard their id names, which intake chose from the idempotency key; changes by the order
/// id) and answered in the batch's order once every shard answered. On PostgreSQL a read or
/// a state change may overtake a new order that is not acknowledged yet (they are written
/// on different connections); the engine sends neither before the acknowledgement. A read
/// of one order goes to its shard; a read that spans shards asks each (on SQLite) and merges
/// their answers into what one store would answer (domain/store_shards, merge_pages). Result
/// writer cursors live in shard 0. A shard that fails a write fails the whole request: the
/// orders another shard stored are found again by their idempotency keys when the client
/// retries.
store_actor::behavior_type sharded_store(store_actor::stateful_pointer<sharded_store_state> self,
                                         store_config cfg, std::shared_ptr<const clock> time,
                                         std::shared_ptr<node_metrics> metrics);

} // namespace topup
