#pragma once

#include "config/config.hpp"
#include "domain/clock.hpp"
#include "messages/interfaces.hpp"
#include "persistence/order_store.hpp"

#include <memory>
#include <string>
#include <variant>
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
  using pending_write = std::variant<pending_insert, pending_transitions>;

  store_config cfg;
  std::shared_ptr<const clock> time;
  std::unique_ptr<order_store> db;  ///< null while the database cannot be opened
  mono_time last_open_failure{};
  bool open_failed_once = false;
  std::string last_failure;

  std::vector<pending_write> batch;  ///< writes that ride the next commit, in arrival order
  size_t batch_rows = 0;
  bool commit_scheduled = false;
  store_stats stats;
};

/// How long after a failed open the store answers `unavailable` at once instead of trying
/// again: a broken disk is not hammered once per request.
constexpr milliseconds store_reopen_interval{500};

/// The store actor: owns the database session and group-commits writes. Every insert that
/// arrives while a commit runs waits in the mailbox and rides the next transaction; each
/// requester is answered only once its rows are durable. Spawn it detached (spawn_store):
/// SOCI calls block.
store_actor::behavior_type store(store_actor::stateful_pointer<store_state> self,
                                 store_config cfg, std::shared_ptr<const clock> time);

store_actor spawn_store(caf::actor_system& system, store_config cfg,
                        std::shared_ptr<const clock> time);

} // namespace topup
