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

/// Answers every write of a failed batch with the same error.
void fail_batch(std::vector<store_state::pending_write>& batch, const caf::error& error) {
  for (auto& pending : batch)
    std::visit([&](auto& write) { write.promise.deliver(error); }, pending);
}

/// Commits every gathered write in one transaction and answers each requester.
void commit(self_pointer self) {
  auto& st = self->state;
  if (st.batch.empty())
    return;
  auto batch = std::move(st.batch);
  st.batch.clear();
  auto rows = st.batch_rows;
  st.batch_rows = 0;
  st.stats.pending_writes = 0;
  if (!ensure_open(self)) {
    fail_batch(batch, unavailable(st));
    return;
  }
  std::vector<std::vector<insert_outcome>> inserted;
  std::vector<std::vector<bool>> applied;
  try {
    st.db->in_transaction([&] {
      for (auto& pending : batch) {
        if (auto insert = std::get_if<store_state::pending_insert>(&pending))
          inserted.push_back(st.db->insert_rows(insert->orders));
        else
          applied.push_back(
            st.db->apply_rows(std::get<store_state::pending_transitions>(pending).changes));
      }
    });
  } catch (const std::exception& error) {
    // The transaction rolled back: nothing of this batch is stored. The session is dropped
    // so the next write starts from a fresh connection.
    st.last_failure = error.what();
    st.stats.failed_commits++;
    st.stats.healthy = false;
    st.db.reset();
    spdlog::error("store commit of {} rows failed: {}", rows, st.last_failure);
    fail_batch(batch, unavailable(st));
    return;
  }
  st.stats.commits++;
  st.stats.rows_written += rows;
  st.stats.healthy = true;
  auto next_insert = inserted.begin();
  auto next_applied = applied.begin();
  for (auto& pending : batch) {
    if (auto insert = std::get_if<store_state::pending_insert>(&pending))
      insert->promise.deliver(std::move(*next_insert++));
    else
      std::get<store_state::pending_transitions>(pending).promise.deliver(
        std::move(*next_applied++));
  }
}

/// Adds a write to the next commit; commits at once when the batch is full.
void enqueue_write(self_pointer self, store_state::pending_write write, size_t rows) {
  auto& st = self->state;
  st.batch_rows += rows;
  st.stats.pending_writes = st.batch_rows;
  st.batch.push_back(std::move(write));
  if (st.batch_rows >= st.cfg.max_batch) {
    commit(self);
  } else if (!st.commit_scheduled) {
    // Behind everything already in the mailbox: those writes join this commit.
    st.commit_scheduled = true;
    self->send(self, commit_atom::value);
  }
}

/// Reads see every write that reached the store before them: pending writes commit first.
/// (A restarted router loads unfinished orders; an order inserted just before must be there.)
template <class Read>
auto read_or_unavailable(self_pointer self, Read read) -> caf::expected<decltype(read())> {
  auto& st = self->state;
  commit(self);
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
      if (orders.empty())
        return std::vector<insert_outcome>{};
      auto promise = self->make_response_promise<std::vector<insert_outcome>>();
      auto rows = orders.size();
      enqueue_write(self, store_state::pending_insert{std::move(orders), promise}, rows);
      return promise;
    },
    [=](transition_atom, std::vector<transition>& changes) -> caf::result<std::vector<bool>> {
      if (changes.empty())
        return std::vector<bool>{};
      auto promise = self->make_response_promise<std::vector<bool>>();
      auto rows = changes.size();
      enqueue_write(self, store_state::pending_transitions{std::move(changes), promise}, rows);
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
    [=](load_atom, int64_t after_deadline_ms, const std::string& after_id,
        uint32_t limit) -> caf::result<std::vector<order>> {
      auto loaded = read_or_unavailable(self, [&] {
        return self->state.db->load_unfinished_page(after_deadline_ms, after_id, limit);
      });
      if (!loaded)
        return std::move(loaded.error());
      return std::move(*loaded);
    },
    [=](load_atom, const unfinished_filter& filter) -> caf::result<std::vector<order>> {
      auto loaded =
        read_or_unavailable(self, [&] { return self->state.db->load_unfinished(filter); });
      if (!loaded)
        return std::move(loaded.error());
      return std::move(*loaded);
    },
    [=](list_atom, const order_filter& filter) -> caf::result<std::vector<order>> {
      auto listed = read_or_unavailable(self, [&] { return self->state.db->list(filter); });
      if (!listed)
        return std::move(listed.error());
      return std::move(*listed);
    },
    [=](stats_atom, list_atom) -> caf::result<std::vector<status_count>> {
      auto counts = read_or_unavailable(self, [&] { return self->state.db->count_by_status(); });
      if (!counts)
        return std::move(counts.error());
      return std::move(*counts);
    },
    [=](stats_atom) { return self->state.stats; },
  };
}

store_actor spawn_store(caf::actor_system& system, store_config cfg,
                        std::shared_ptr<const clock> time) {
  return system.spawn<caf::detached>(store, std::move(cfg), std::move(time));
}

} // namespace topup
