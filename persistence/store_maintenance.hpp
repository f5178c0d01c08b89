#pragma once

// What an operator runs against a node's store while the node serves it (topup-cli backup
// and archive). SQLite only: both open the store file on a connection of their own, beside
// the node's. On PostgreSQL, pg_dump makes the backup (README.md).

#include "config/config.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace topup {

/// What a backup wrote.
struct backup_report {
  std::string file;                ///< the copy of shard 0
  std::vector<std::string> files;  ///< the copy of each shard, by shard number
  int schema_version = 0;
  uint64_t orders = 0;
};

/// Copies the SQLite store of `cfg` to `destination`, which must not exist, with VACUUM INTO:
/// one read transaction, so the copy is the store as of one moment (every order committed
/// before it began, acknowledged ones included) and the node's writers are never blocked
/// (WAL). The copy is written beside `destination` and renamed into place once complete.
/// A store of several shards is copied shard by shard, shard k to `destination` with the
/// shard's mark (domain/store_shards, shard_file: "backup.db" -> "backup.shard1.db"), each as
/// of its own moment: an order is in exactly one shard, so each is whole. Throws store_error.
backup_report backup_sqlite_store(const store_config& cfg, const std::string& destination);

/// How an archiving run moves final orders out of the store.
struct archive_settings {
  std::string directory;            ///< the archive files go here (created if missing)
  int64_t now_ms = 0;
  int64_t keep_ms = 30LL * 24 * 3600 * 1000;  ///< orders younger than this stay
  size_t batch = 500;               ///< orders moved per transaction
  /// Between batches: the node's store takes the write lock in between.
  std::chrono::milliseconds pause{20};
};

struct archive_report {
  std::string file;       ///< the archive file of this run
  uint64_t orders = 0;    ///< moved to the archive and removed from the store
  uint64_t attempts = 0;  ///< their attempts, moved with them
  uint64_t callbacks = 0; ///< their result notifications (delivered or abandoned), moved too
  /// Final orders old enough that stay because a result notification of theirs is still
  /// pending: a later run moves them once it is delivered or abandoned.
  uint64_t awaiting_callbacks = 0;
  uint64_t batches = 0;
  /// The longest time a batch held the store's write lock (its delete), in microseconds.
  int64_t longest_lock_us = 0;
};

/// Moves every final order of the SQLite store of `cfg` (every shard's, into the one archive
/// file) older than settings.keep_ms (accepted,
/// deadline and last change all before the cutoff), with its attempts and its result
/// notifications (the outbox's rows, all delivered or abandoned), to the archive file of
/// today (domain/retention), in batches: each batch is first copied to the archive and
/// committed there, then deleted from the store in one short transaction. A run stopped
/// between the two leaves the batch in both, and the next run copies it again harmlessly.
/// Orders of a queue ingress whose result may not be written back yet stay, and so do orders
/// with a notification still pending (the callback sender must find it): the delete checks
/// that again, so a notification made due again meanwhile (topup-cli redeliver) keeps its
/// order and itself in the store. The store's schema must be this build's (a store a newer
/// node migrated is refused). Throws store_error.
archive_report archive_final_orders(const store_config& cfg, const archive_settings& settings);

} // namespace topup
