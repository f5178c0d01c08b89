#include "persistence/store_reader.hpp"

#include <spdlog/spdlog.h>

namespace topup {

namespace store_reads {

caf::result<order> found_or_not(std::optional<order> found, const std::string& what) {
  if (!found)
    return make_error(errc::not_found, "no order with " + what);
  return std::move(*found);
}

caf::error unavailable(const std::string& failure) {
  return make_error(errc::unavailable, "the order store cannot read: " + failure);
}

} // namespace store_reads

namespace {

using self_pointer = store_reader_actor::stateful_pointer<store_reader_state>;

/// Counts a read as answered however the handler leaves.
struct answered_on_exit {
  std::atomic<uint32_t>& queued;
  ~answered_on_exit() { queued.fetch_sub(1, std::memory_order_relaxed); }
};

template <class Query>
auto serve(self_pointer self, const std::string& who, Query query)
  -> decltype(query(std::declval<order_reader&>())) {
  auto& st = self->state;
  answered_on_exit answered{*st.queued};
  for (int attempt = 1;; ++attempt) {
    bool was_open = st.db.is_open();
    auto db = st.db.open();
    if (!db)
      return store_reads::unavailable(st.db.last_failure());
    try {
      auto result = query(*db);
      st.db.worked();
      return result;
    } catch (const std::exception& error) {
      const auto& failure = st.db.drop(error);
      if (was_open && attempt == 1) {
        spdlog::warn("{} read failed, trying a new connection: {}", who, failure);
        continue;
      }
      spdlog::error("{} read failed: {}", who, failure);
      return store_reads::unavailable(failure);
    }
  }
}

} // namespace

store_reader_actor::behavior_type
store_reader(store_reader_actor::stateful_pointer<store_reader_state> self, store_config cfg,
             std::shared_ptr<const clock> time, std::string who,
             std::shared_ptr<std::atomic<uint32_t>> queued) {
  self->state.db = lazy_database<order_reader>{std::move(cfg), std::move(time), who};
  self->state.queued = std::move(queued);
  // Connect now rather than on the first read, which would wait for it; a failure here is
  // logged and the first read tries again.
  self->state.db.open();
  return {
    [=](caf::get_atom, const std::string& id) {
      return serve(self, who, store_reads::by_id(id));
    },
    [=](find_ref_atom, const std::string& merchant, const std::string& client_ref) {
      return serve(self, who, store_reads::by_client_ref(merchant, client_ref));
    },
    [=](history_atom, const std::string& id) {
      return serve(self, who, store_reads::history_of(id));
    },
    [=](load_atom) { return serve(self, who, store_reads::unfinished()); },
    [=](load_atom, int64_t after_deadline_ms, const std::string& after_id, uint32_t limit) {
      return serve(self, who, store_reads::unfinished_page(after_deadline_ms, after_id, limit));
    },
    [=](load_atom, const std::vector<std::string>& ids) {
      return serve(self, who, store_reads::unfinished_of(ids));
    },
    [=](list_atom, const order_filter& filter) {
      return serve(self, who, store_reads::listed(filter));
    },
    [=](load_atom, const final_orders_page& page) {
      return serve(self, who, store_reads::final_of(page));
    },
    [=](cursor_atom, const std::string& writer) {
      return serve(self, who, store_reads::cursor_of(writer));
    },
    [=](stats_atom, list_atom) { return serve(self, who, store_reads::counts_by_status()); },
    [=](attempts_atom, const attempt_query& query) {
      return serve(self, who, store_reads::attempts_page(query));
    },
    [=](deliveries_atom, const std::string& order_id) {
      return serve(self, who, store_reads::deliveries_of(order_id));
    },
  };
}

store_reader_actor spawn_store_reader(caf::local_actor* parent, store_config cfg,
                                      std::shared_ptr<const clock> time, std::string who,
                                      std::shared_ptr<std::atomic<uint32_t>> queued) {
  return parent->spawn<caf::detached + caf::linked>(store_reader, std::move(cfg),
                                                    std::move(time), std::move(who),
                                                    std::move(queued));
}

} // namespace topup
