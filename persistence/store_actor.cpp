#include "persistence/store_actor.hpp"

#include "messages/errors.hpp"
#include "persistence/sql_backend.hpp"

#include <spdlog/spdlog.h>

namespace topup {
namespace {

using self_pointer = store_actor::stateful_pointer<store_state>;

/// Opens the database if it is closed. Returns false (and the store answers `unavailable`)
/// while it cannot be opened.
bool ensure_open(self_pointer self) {
  auto& st = self->state;
  if (st.db)
    return true;
  if (st.open_failed_once && st.time->now() - st.last_open_failure < store_reopen_interval)
    return false;
  try {
    st.db = std::make_unique<order_store>(st.cfg);
    if (st.open_failed_once)
      spdlog::info("store reopened {}", describe_target(st.cfg));
    st.open_failed_once = false;
    st.stats.healthy = true;
    return true;
  } catch (const std::exception& error) {
    st.last_failure = error.what();
    st.last_open_failure = st.time->now();
    st.open_failed_once = true;
    st.stats.healthy = false;
    spdlog::error("store cannot open the database: {}", st.last_failure);
    return false;
  }
}

caf::error unavailable(const store_state& st) {
  return make_error(errc::unavailable, "the order store cannot write: " + st.last_failure);
}

/// Commits every gathered insert in one transaction and answers each requester.
void commit(self_pointer self) {
  auto& st = self->state;
  if (st.batch.empty())
    return;
  auto batch = std::move(st.batch);
  st.batch.clear();
  st.batch_rows = 0;
  st.stats.pending_writes = 0;
  if (!ensure_open(self)) {
    for (auto& pending : batch)
      pending.promise.deliver(unavailable(st));
    return;
  }
  std::vector<order> rows;
  for (const auto& pending : batch)
    rows.insert(rows.end(), pending.orders.begin(), pending.orders.end());
  std::vector<insert_outcome> outcomes;
  try {
    outcomes = st.db->insert(rows);
  } catch (const std::exception& error) {
    // The transaction rolled back: nothing of this batch is stored. The session is dropped
    // so the next write starts from a fresh connection.
    st.last_failure = error.what();
    st.stats.failed_commits++;
    st.stats.healthy = false;
    st.db.reset();
    spdlog::error("store commit of {} orders failed: {}", rows.size(), st.last_failure);
    for (auto& pending : batch)
      pending.promise.deliver(unavailable(st));
    return;
  }
  st.stats.commits++;
  st.stats.rows_written += rows.size();
  st.stats.healthy = true;
  auto next = outcomes.begin();
  for (auto& pending : batch) {
    std::vector<insert_outcome> mine(std::make_move_iterator(next),
                                     std::make_move_iterator(next + static_cast<long>(
                                                                      pending.orders.size())));
    next += static_cast<long>(pending.orders.size());
    pending.promise.deliver(std::move(mine));
  }
}

template <class Read>
auto read_or_unavailable(self_pointer self, Read read) -> caf::expected<decltype(read())> {
  auto& st = self->state;
  if (!ensure_open(self))
    return unavailable(st);
  try {
    return read();
  } catch (const std::exception& error) {
    st.last_failure = error.what();
    st.db.reset();
    spdlog::error("store read failed: {}", st.last_failure);
    return unavailable(st);
  }
}

caf::result<order> found_or_not(std::optional<order> found, const std::string& what) {
  if (!found)
    return make_error(errc::not_found, "no order with " + what);
  return std::move(*found);
}

} // namespace

store_actor::behavior_type store(self_pointer self, store_config cfg,
                                 std::shared_ptr<const clock> time) {
  self->state.cfg = std::move(cfg);
  self->state.time = std::move(time);
  ensure_open(self);
  return {
    [=](insert_atom, std::vector<order>& orders) -> caf::result<std::vector<insert_outcome>> {
      auto& st = self->state;
      if (orders.empty())
        return std::vector<insert_outcome>{};
      auto promise = self->make_response_promise<std::vector<insert_outcome>>();
      st.batch_rows += orders.size();
      st.stats.pending_writes = st.batch_rows;
      st.batch.push_back({std::move(orders), promise});
      if (st.batch_rows >= st.cfg.max_batch) {
        commit(self);
      } else if (!st.commit_scheduled) {
        // Behind everything already in the mailbox: those inserts join this commit.
        st.commit_scheduled = true;
        self->send(self, commit_atom::value);
      }
      return promise;
    },
    [=](commit_atom) {
      self->state.commit_scheduled = false;
      commit(self);
    },
    [=](caf::get_atom, const std::string& id) -> caf::result<order> {
      auto found = read_or_unavailable(self, [&] { return self->state.db->find_by_id(id); });
      if (!found)
        return std::move(found.error());
      return found_or_not(std::move(*found), "id " + id);
    },
    [=](find_ref_atom, const std::string& client_ref) -> caf::result<order> {
      auto found = read_or_unavailable(self,
                                       [&] { return self->state.db->find_by_ref(client_ref); });
      if (!found)
        return std::move(found.error());
      return found_or_not(std::move(*found), "client reference " + client_ref);
    },
    [=](load_atom) -> caf::result<std::vector<order>> {
      auto loaded = read_or_unavailable(self, [&] { return self->state.db->load_unfinished(); });
      if (!loaded)
        return std::move(loaded.error());
      return std::move(*loaded);
    },
    [=](stats_atom) { return self->state.stats; },
  };
}

store_actor spawn_store(caf::actor_system& system, store_config cfg,
                        std::shared_ptr<const clock> time) {
  return system.spawn<caf::detached>(store, std::move(cfg), std::move(time));
}

} // namespace topup
