#include "persistence/store_actor.hpp"

#include "messages/errors.hpp"
#include "persistence/sql_backend.hpp"

#include <spdlog/spdlog.h>

namespace topup {
namespace {

using self_pointer = store_actor::stateful_pointer<store_state>;

/// The write session, opened if it is closed; null (and the store answers `unavailable`)
/// while it cannot be opened.
order_store* open_writer(self_pointer self) {
  auto& st = self->state;
  auto db = st.db.open();
  st.stats.healthy = db != nullptr;
  return db;
}

caf::error unavailable(const store_state& st) {
  return make_error(errc::unavailable, "the order store cannot write: " + st.db.last_failure());
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
  auto db = open_writer(self);
  if (!db) {
    fail_batch(batch, unavailable(st));
    return;
  }
  std::vector<std::vector<insert_outcome>> inserted;
  std::vector<std::vector<bool>> applied;
  auto started = st.time->now();
  try {
    db->in_transaction([&] {
      for (auto& pending : batch) {
        if (auto insert = std::get_if<store_state::pending_insert>(&pending))
          inserted.push_back(db->insert_rows(insert->orders));
        else
          applied.push_back(
            db->apply_rows(std::get<store_state::pending_transitions>(pending).changes));
      }
    });
  } catch (const std::exception& error) {
    // The transaction rolled back: nothing of this batch is stored. The session is dropped
    // so the next write starts from a fresh connection.
    const auto& failure = st.db.drop(error);
    st.stats.failed_commits++;
    st.stats.healthy = false;
    // One line per failed commit would flood the log while a disk is full.
    auto verdict = st.repeats.occurred("commit", self->state.time->now());
    if (verdict.write)
      spdlog::error("store commit of {} rows failed: {}{}", rows, failure, verdict.suffix());
    fail_batch(batch, unavailable(st));
    return;
  }
  st.db.worked();
  st.stats.commits++;
  st.stats.rows_written += rows;
  st.stats.healthy = true;
  if (st.metrics) {
    st.instruments.commit_duration->Observe(seconds_of(st.time->now() - started));
    st.instruments.rows_per_commit->Observe(static_cast<double>(rows));
  }
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

/// The reader with the fewest reads in hand, searching from the one after the last chosen
/// so that idle readers take turns.
store_state::reader& least_busy_reader(store_state& st) {
  auto count = st.readers.size();
  auto chosen = st.next_reader % count;
  for (size_t i = 1; i < count; ++i) {
    auto candidate = (st.next_reader + i) % count;
    if (st.readers[candidate].queued->load(std::memory_order_relaxed)
        < st.readers[chosen].queued->load(std::memory_order_relaxed))
      chosen = candidate;
  }
  st.next_reader = chosen + 1;
  return st.readers[chosen];
}

/// Serves a read after the writes before it: pending writes commit first (a restarted
/// router loads unfinished orders; an order inserted just before must be there). Then a
/// reader runs `request` (PostgreSQL), or the store runs `query` on its own session.
template <class Query, class... Request>
auto read(self_pointer self, Query query, Request&&... request)
  -> decltype(query(std::declval<order_reader&>())) {
  auto& st = self->state;
  commit(self);
  auto db = open_writer(self);
  if (!db)
    return store_reads::unavailable(st.db.last_failure());
  if (!st.readers.empty()) {
    auto& reader = least_busy_reader(st);
    reader.queued->fetch_add(1, std::memory_order_relaxed);
    return self->delegate(reader.actor, std::forward<Request>(request)...);
  }
  try {
    auto result = query(*db);
    st.db.worked();
    return result;
  } catch (const std::exception& error) {
    const auto& failure = st.db.drop(error);
    auto verdict = st.repeats.occurred("read", st.time->now());
    if (verdict.write)
      spdlog::error("store read failed: {}{}", failure, verdict.suffix());
    return store_reads::unavailable(failure);
  }
}

/// Records a result writer's cursor in a transaction of its own, after the writes before it
/// (a writer records a point only once the results before it are written, and those orders'
/// final states reached the store before).
caf::result<bool> save_cursor(self_pointer self, const std::string& writer, int64_t resume_at_ms) {
  auto& st = self->state;
  commit(self);
  auto db = open_writer(self);
  if (!db)
    return unavailable(st);
  try {
    db->save_result_cursor(writer, resume_at_ms);
    return true;
  } catch (const std::exception& error) {
    const auto& failure = st.db.drop(error);
    spdlog::error("store could not record the cursor of {}: {}", writer, failure);
    return unavailable(st);
  }
}

/// PostgreSQL: the read connections, spawned with the store and stopped with it.
void spawn_readers(self_pointer self, const std::shared_ptr<const clock>& time) {
  auto& st = self->state;
  if (st.cfg.backend != store_config::backend_kind::postgresql)
    return;
  for (size_t i = 0; i < st.cfg.read_connections; ++i) {
    auto queued = std::make_shared<std::atomic<uint32_t>>(0);
    auto actor = spawn_store_reader(self, st.cfg, time, "store reader " + std::to_string(i + 1),
                                    queued);
    st.readers.push_back({std::move(actor), std::move(queued)});
  }
  // Linked readers stop when the store fails; this stops them when it ends normally too.
  std::vector<caf::actor_addr> readers;
  for (const auto& reader : st.readers)
    readers.push_back(reader.actor.address());
  self->attach_functor([readers] {
    for (const auto& reader : readers)
      if (auto handle = caf::actor_cast<caf::actor>(reader))
        caf::anon_send_exit(handle, caf::exit_reason::user_shutdown);
  });
}

} // namespace

store_actor::behavior_type store(self_pointer self, store_config cfg,
                                 std::shared_ptr<const clock> time,
                                 std::shared_ptr<node_metrics> metrics) {
  if (metrics)
    self->state.instruments = metrics->store();
  self->state.metrics = std::move(metrics);
  self->state.cfg = cfg;
  self->state.time = time;
  self->state.db = lazy_database<order_store>{std::move(cfg), time, "store"};
  open_writer(self);
  spawn_readers(self, time);
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
    [=](caf::get_atom get, const std::string& id) {
      return read(self, store_reads::by_id(id), get, id);
    },
    [=](find_ref_atom find_ref, const std::string& merchant, const std::string& client_ref) {
      return read(self, store_reads::by_client_ref(merchant, client_ref), find_ref, merchant,
                  client_ref);
    },
    [=](history_atom history, const std::string& id) {
      return read(self, store_reads::history_of(id), history, id);
    },
    [=](load_atom load) { return read(self, store_reads::unfinished(), load); },
    [=](load_atom load, int64_t after_deadline_ms, const std::string& after_id,
        uint32_t limit) {
      return read(self, store_reads::unfinished_page(after_deadline_ms, after_id, limit), load,
                  after_deadline_ms, after_id, limit);
    },
    [=](load_atom load, const unfinished_filter& filter) {
      return read(self, store_reads::unfinished_of(filter), load, filter);
    },
    [=](list_atom list, const order_filter& filter) {
      return read(self, store_reads::listed(filter), list, filter);
    },
    [=](stats_atom stats, list_atom list) {
      return read(self, store_reads::counts_by_status(), stats, list);
    },
    [=](load_atom load, const final_orders_page& page) {
      return read(self, store_reads::final_of(page), load, page);
    },
    [=](cursor_atom cursor, const std::string& writer) {
      return read(self, store_reads::cursor_of(writer), cursor, writer);
    },
    [=](cursor_atom, const std::string& writer, int64_t resume_at_ms) -> caf::result<bool> {
      return save_cursor(self, writer, resume_at_ms);
    },
    [=](stats_atom) { return self->state.stats; },
    [=](attempts_atom attempts, const attempt_query& query) {
      return read(self, store_reads::attempts_page(query), attempts, query);
    },
    [=](deliveries_atom deliveries, const std::string& order_id) {
      return read(self, store_reads::deliveries_of(order_id), deliveries, order_id);
    },
  };
}

store_actor spawn_store(caf::actor_system& system, store_config cfg,
                        std::shared_ptr<const clock> time,
                        std::shared_ptr<node_metrics> metrics) {
  return system.spawn<caf::detached>(store, std::move(cfg), std::move(time), std::move(metrics));
}

} // namespace topup
