#include "persistence/store_actor.hpp"

#include "messages/errors.hpp"
#include "persistence/sharded_store_actor.hpp"
#include "persistence/sql_backend.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <iterator>
#include <utility>

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

/// The rows of every request in `group`, in one vector: `rows_of` names them in a request.
/// A single request's rows are moved, not copied.
template <class Pending, class Row>
std::vector<Row> all_rows(std::vector<Pending>& group, std::vector<Row> Pending::*rows_of) {
  if (group.size() == 1)
    return std::move(group.front().*rows_of);
  size_t count = 0;
  for (const auto& pending : group)
    count += (pending.*rows_of).size();
  std::vector<Row> rows;
  rows.reserve(count);
  for (auto& pending : group)
    std::move((pending.*rows_of).begin(), (pending.*rows_of).end(), std::back_inserter(rows));
  return rows;
}

/// Commits one kind of gathered writes in one transaction and answers each requester with
/// the results of its rows. `write` writes the rows of all requests at once (on PostgreSQL a
/// batch is a few statements whatever its size, so one call per request would cost a few
/// round trips each) and returns one result per row.
template <class Pending, class Row, class Write>
void commit_group(self_pointer self, std::vector<Pending>& group,
                  std::vector<Row> Pending::*rows_of, Write write) {
  if (group.empty())
    return;
  auto& st = self->state;
  auto batch = std::move(group);
  group.clear();
  std::vector<size_t> sizes;
  sizes.reserve(batch.size());
  for (const auto& pending : batch)
    sizes.push_back((pending.*rows_of).size());
  auto fail_batch = [&](const caf::error& error) {
    for (auto& pending : batch)
      pending.promise.deliver(error);
  };
  auto db = open_writer(self);
  if (!db) {
    fail_batch(unavailable(st));
    return;
  }
  auto rows = all_rows(batch, rows_of);
  decltype(write(*db, rows)) results;
  auto started = st.time->now();
  try {
    db->in_transaction([&] { results = write(*db, rows); });
  } catch (const std::exception& error) {
    // The transaction rolled back: nothing of this batch is stored. The session is dropped
    // so the next write starts from a fresh connection.
    const auto& failure = st.db.drop(error);
    st.stats.failed_commits++;
    st.stats.healthy = false;
    // One line per failed commit would flood the log while a disk is full.
    auto verdict = st.repeats.occurred("commit", self->state.time->now());
    if (verdict.write)
      spdlog::error("store commit of {} rows failed: {}{}", rows.size(), failure,
                    verdict.suffix());
    fail_batch(unavailable(st));
    return;
  }
  st.db.worked();
  st.stats.commits++;
  st.stats.rows_written += rows.size();
  st.stats.healthy = true;
  if (st.metrics) {
    st.instruments.commit_duration->Observe(seconds_of(st.time->now() - started));
    st.instruments.rows_per_commit->Observe(static_cast<double>(rows.size()));
  }
  auto next = results.begin();
  for (size_t i = 0; i < batch.size(); ++i) {
    auto end = next + static_cast<std::ptrdiff_t>(sizes[i]);
    batch[i].promise.deliver(decltype(results)(std::make_move_iterator(next),
                                               std::make_move_iterator(end)));
    next = end;
  }
}

/// Commits every gathered write: the new orders, then the state changes.
void commit(self_pointer self) {
  auto& st = self->state;
  st.insert_rows = 0;
  st.transition_rows = 0;
  st.stats.pending_writes = 0;
  commit_group(self, st.inserts, &store_state::pending_insert::orders,
               [](order_store& db, const std::vector<order>& orders) {
                 return db.insert_rows(orders);
               });
  commit_group(self, st.transitions, &store_state::pending_transitions::changes,
               [](order_store& db, const std::vector<transition>& changes) {
                 return db.apply_rows(changes);
               });
}

/// Commits at once when the gathered writes fill a batch; otherwise once the mailbox pass
/// ends.
void after_enqueue(self_pointer self) {
  auto& st = self->state;
  st.stats.pending_writes = st.insert_rows + st.transition_rows;
  if (st.stats.pending_writes >= st.cfg.max_batch) {
    commit(self);
  } else {
    // Behind everything already in the mailbox: those writes join this commit.
    st.commit_pass.request(self);
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
caf::result<ack_atom> save_cursor(self_pointer self, const std::string& writer,
                                  int64_t resume_at_ms) {
  auto& st = self->state;
  commit(self);
  auto db = open_writer(self);
  if (!db)
    return unavailable(st);
  try {
    db->save_result_cursor(writer, resume_at_ms);
    return ack_atom::value;
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
  stop_with(self, std::move(readers));
}

} // namespace

void stop_with(caf::abstract_actor* self, std::vector<caf::actor_addr> children) {
  self->attach_functor([children = std::move(children)] {
    for (const auto& child : children)
      if (auto handle = caf::actor_cast<caf::actor>(child))
        caf::anon_send_exit(handle, caf::exit_reason::user_shutdown);
  });
}

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
      self->state.insert_rows += orders.size();
      self->state.inserts.push_back({std::move(orders), promise});
      after_enqueue(self);
      return promise;
    },
    [=](transition_atom, std::vector<transition>& changes) -> caf::result<std::vector<bool>> {
      if (changes.empty())
        return std::vector<bool>{};
      auto promise = self->make_response_promise<std::vector<bool>>();
      self->state.transition_rows += changes.size();
      self->state.transitions.push_back({std::move(changes), promise});
      after_enqueue(self);
      return promise;
    },
    [=](commit_atom) {
      self->state.commit_pass.arrived();
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
    [=](load_atom load, const std::vector<std::string>& ids) {
      return read(self, store_reads::unfinished_of(ids), load, ids);
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
    [=](cursor_atom, const std::string& writer, int64_t resume_at_ms) -> caf::result<ack_atom> {
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
  // PostgreSQL goes through the front also with one shard: it writes new orders on a
  // connection of their own (sharded_store_state::new_order_writers).
  if (cfg.shards > 1 || cfg.backend == store_config::backend_kind::postgresql)
    return system.spawn(sharded_store, std::move(cfg), std::move(time), std::move(metrics));
  return spawn_store_writer(system, std::move(cfg), std::move(time), std::move(metrics));
}

store_actor spawn_store_writer(caf::actor_system& system, store_config cfg,
                               std::shared_ptr<const clock> time,
                               std::shared_ptr<node_metrics> metrics) {
  return system.spawn<caf::detached>(store, std::move(cfg), std::move(time), std::move(metrics));
}

} // namespace topup
