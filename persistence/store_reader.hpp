#pragma once

// The store's read connections (PostgreSQL). The store actor group-commits writes on its own
// session; a read would wait for the commit in progress and hold up the next one, and with
// it every intake ack. So the store commits what is pending, then delegates each read to one
// of its reader actors: the reply goes straight from the reader to the requester, and the
// read starts after the commit, so it sees every write that reached the store before it.

#include "config/config.hpp"
#include "domain/clock.hpp"
#include "messages/errors.hpp"
#include "messages/interfaces.hpp"
#include "persistence/lazy_database.hpp"
#include "persistence/order_store.hpp"

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace topup {

/// The store's reads as queries on a session: the store runs them on its own session
/// (SQLite), a reader on its connection. Each returns the reply of the request it serves.
namespace store_reads {

caf::result<order> found_or_not(std::optional<order> found, const std::string& what);

inline auto by_id(std::string id) {
  return [id = std::move(id)](order_reader& db) {
    return found_or_not(db.find_by_id(id), "id " + id);
  };
}

inline auto by_client_ref(std::string merchant, std::string client_ref) {
  return [merchant = std::move(merchant), client_ref = std::move(client_ref)](order_reader& db) {
    return found_or_not(db.find_by_ref(merchant, client_ref), "client reference " + client_ref);
  };
}

inline auto history_of(std::string id) {
  return [id = std::move(id)](order_reader& db) -> caf::result<order_history> {
    auto found = db.find_history(id);
    if (!found)
      return make_error(errc::not_found, "no order with id " + id);
    return std::move(*found);
  };
}

inline auto unfinished() {
  return [](order_reader& db) -> caf::result<std::vector<order>> { return db.load_unfinished(); };
}

inline auto unfinished_page(int64_t after_deadline_ms, std::string after_id, uint32_t limit) {
  return [=, after_id = std::move(after_id)](order_reader& db) -> caf::result<std::vector<order>> {
    return db.load_unfinished_page(after_deadline_ms, after_id, limit);
  };
}

inline auto unfinished_of(std::vector<std::string> ids) {
  return [ids = std::move(ids)](order_reader& db) -> caf::result<std::vector<order>> {
    return db.load_unfinished_of(ids);
  };
}

inline auto listed(order_filter filter) {
  return [filter = std::move(filter)](order_reader& db) -> caf::result<std::vector<order>> {
    return db.list(filter);
  };
}

inline auto counts_by_status() {
  return [](order_reader& db) -> caf::result<std::vector<status_count>> {
    return db.count_by_status();
  };
}

inline auto attempts_page(attempt_query query) {
  return [query = std::move(query)](order_reader& db) -> caf::result<std::vector<attempt_record>> {
    return db.attempts(query);
  };
}

inline auto deliveries_of(std::string order_id) {
  return [order_id = std::move(order_id)](order_reader& db)
           -> caf::result<std::vector<callback_record>> { return db.callbacks_of(order_id); };
}

inline auto final_of(final_orders_page page) {
  return [page = std::move(page)](order_reader& db) -> caf::result<std::vector<order>> {
    return db.final_page(page);
  };
}

inline auto cursor_of(std::string writer) {
  return [writer = std::move(writer)](order_reader& db) -> caf::result<int64_t> {
    return db.result_cursor(writer).value_or(int64_t{-1});
  };
}

/// The answer to a read that failed: `unavailable`, with a log-safe reason.
caf::error unavailable(const std::string& failure);

} // namespace store_reads

struct store_reader_state {
  static constexpr const char* name = "store-reader";

  lazy_database<order_reader> db;
  /// Reads handed to this reader and not answered yet: the store hands the next read to
  /// the reader with the fewest, so that one slow read delays as few others as possible.
  std::shared_ptr<std::atomic<uint32_t>> queued;
};

/// One read connection of the store `cfg` names; `who` names it in log lines. Spawn it
/// detached (spawn_store_reader): SOCI calls block. A read that fails on a connection that
/// was open before it (the server dropped it while idle, or restarted) is tried once more
/// on a new one; a failure after that answers `unavailable`, and the next read opens a new
/// connection again.
store_reader_actor::behavior_type
store_reader(store_reader_actor::stateful_pointer<store_reader_state> self, store_config cfg,
             std::shared_ptr<const clock> time, std::string who,
             std::shared_ptr<std::atomic<uint32_t>> queued);

/// A reader spawned detached and linked to `parent` (the store): they fail and stop together.
store_reader_actor spawn_store_reader(caf::local_actor* parent, store_config cfg,
                                      std::shared_ptr<const clock> time, std::string who,
                                      std::shared_ptr<std::atomic<uint32_t>> queued);

} // namespace topup
