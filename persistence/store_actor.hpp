#pragma once

#include "config/config.hpp"
#include "domain/clock.hpp"
#include "domain/log_repeats.hpp"
#include "messages/interfaces.hpp"
#include "messages/mailbox_pass.hpp"
#include "metrics/node_metrics.hpp"
#include "persistence/lazy_database.hpp"
#include "persistence/order_store.hpp"
#include "persistence/store_reader.hpp"

#include <atomic>
#include <memory>
#include <string>
#include <vector>

namespace topup {

struct store_state {
  static constexpr const char* name = "store";

  struct pending_insert {
    std::vector<order> orders;
    caf::typed_response_promise<std::vector<insert_outcome>> promise;
  };
  struct pending_transitions {
    std::vector<transition> changes;
    caf::typed_response_promise<std::vector<bool>> promise;
  };

  /// A read connection and how many reads it has not answered yet.
  struct reader {
    store_reader_actor actor;
    std::shared_ptr<std::atomic<uint32_t>> queued;
  };

  store_config cfg;
  std::shared_ptr<const clock> time;
  lazy_database<order_store> db;  ///< the session that writes (and, without readers, reads)
  std::vector<reader> readers;    ///< PostgreSQL: cfg.read_connections; SQLite: none
  size_t next_reader = 0;         ///< where the search for the least busy reader starts

  /// Writes that ride the next commit, each kind in arrival order. New orders commit in a
  /// transaction ahead of the state changes', so that an acknowledgement never waits for them.
  std::vector<pending_insert> inserts;
  std::vector<pending_transitions> transitions;
  size_t insert_rows = 0;
  size_t transition_rows = 0;
  mailbox_pass_end<commit_atom> commit_pass;
  store_stats stats;
  log_repeats repeats;  ///< failed commits and reads, summarised
  std::shared_ptr<node_metrics> metrics;  ///< null: commits are not measured
  store_instruments instruments;
};

/// The store actor: owns the database session that writes and group-commits on it. Every
/// write that arrives while a commit runs waits in the mailbox and rides the next
/// commit; each requester is answered only once its rows are durable. A commit is two
/// transactions: the new orders first, answered as soon as they are durable, then the state
/// changes (an order is inserted before any change to it reaches the store). Reads see every
/// write that reached the store before them: pending writes commit first. On PostgreSQL the
/// read then runs on one of the store's read connections (store_reader), so that it never
/// holds up the commits; on SQLite (one file, one writer) on the same session, between
/// commits. Spawn it detached (spawn_store_writer): SOCI calls block.
/// `metrics`, when given, gets every commit's duration and rows.
store_actor::behavior_type store(store_actor::stateful_pointer<store_state> self,
                                 store_config cfg, std::shared_ptr<const clock> time,
                                 std::shared_ptr<node_metrics> metrics);

/// Stops `children` (user_shutdown) once `self` ends, also when it ends normally, which a
/// link does not pass on.
void stop_with(caf::abstract_actor* self, std::vector<caf::actor_addr> children);

/// The store of `cfg`: the front of a sharded store (persistence/sharded_store_actor) with
/// cfg.shards above 1 or on PostgreSQL, else one store actor (SQLite, one shard: no extra
/// hop). cfg.shards is the settled count (persistence/store_layout).
store_actor spawn_store(caf::actor_system& system, store_config cfg,
                        std::shared_ptr<const clock> time,
                        std::shared_ptr<node_metrics> metrics = nullptr);

/// One store actor on one writing session, spawned detached, whatever cfg.shards says.
store_actor spawn_store_writer(caf::actor_system& system, store_config cfg,
                               std::shared_ptr<const clock> time,
                               std::shared_ptr<node_metrics> metrics);

} // namespace topup
