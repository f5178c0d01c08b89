#pragma once

// How many shards a store's orders are split over, and where each shard lives (README.md
// "Configuration", store.shards). The count is fixed when the store is created: an order's
// shard follows from its idempotency key (domain/store_shards), so another count would look
// for orders where they are not.

#include "config/config.hpp"

#include <cstddef>

namespace soci {
class session;
}

namespace topup {

/// The store of shard `shard`. SQLite: its own file beside shard 0's (domain/store_shards,
/// shard_file). PostgreSQL: the same database (every connection sees every shard's rows), and
/// only shard 0 keeps read connections, since every read goes to it. Its `shards` is 1: it is
/// one store.
store_config shard_config(const store_config& cfg, size_t shard);

/// The shard count recorded in shard 0, read without changing anything (tools that read a
/// store beside the node); 1 for a store that records none (written before shards existed).
size_t recorded_shard_count(soci::session& shard_0);

/// Opens (creating and migrating) shard 0 of the store of `cfg` and settles its shard count:
/// the one recorded at its creation; for a store written before shards existed (or that
/// holds orders but records no count), 1; for a new store, cfg.shards or, when that is 0,
/// default_shard_count of this machine; recorded now.
/// Throws config_error at /store/shards when cfg.shards asks for another count than the
/// store's, store_error when the database cannot be opened.
size_t settle_shard_count(const store_config& cfg);

/// Settles the shard count (settle_shard_count) and opens every shard once (creating and
/// migrating it): the node starts only on a store it can write. Returns `cfg` with its
/// shard count settled.
store_config open_store_shards(store_config cfg);

} // namespace topup
