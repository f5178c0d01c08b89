#include "persistence/sharded_store_actor.hpp"

#include "domain/store_shards.hpp"
#include "persistence/store_actor.hpp"
#include "persistence/store_layout.hpp"

#include <algorithm>
#include <limits>
#include <map>
#include <tuple>
#include <utility>

namespace topup {
namespace {

using self_pointer = store_actor::stateful_pointer<sharded_store_state>;

/// The answers of several shards to one request, kept until the last one arrives.
template <class Part, class Result>
struct gathering {
  caf::typed_response_promise<Result> promise;
  std::vector<Part> parts;  ///< by position in the list of shards asked
  size_t awaited = 0;
  bool failed = false;
};

/// Asks each shard of `asked` (`send(shard)` makes the request) and answers with
/// `finish(parts)`, the shards' answers in the order of `asked`; the first error is the
/// answer instead.
template <class Part, class Result, class Send, class Finish>
caf::result<Result> gather(self_pointer self, const std::vector<size_t>& asked, Send send,
                           Finish finish) {
  auto gathered = std::make_shared<gathering<Part, Result>>();
  gathered->promise = self->make_response_promise<Result>();
  gathered->parts.resize(asked.size());
  gathered->awaited = asked.size();
  for (size_t i = 0; i < asked.size(); ++i)
    send(asked[i]).then(
      [gathered, i, finish](Part& part) {
        gathered->parts[i] = std::move(part);
        if (--gathered->awaited == 0 && !gathered->failed)
          gathered->promise.deliver(finish(std::move(gathered->parts)));
      },
      [gathered](caf::error& error) {
        if (!std::exchange(gathered->failed, true))
          gathered->promise.deliver(std::move(error));
      });
  return gathered->promise;
}

/// 0, 1, ..., count - 1.
std::vector<size_t> positions_up_to(size_t count) {
  std::vector<size_t> positions(count);
  for (size_t i = 0; i < count; ++i)
    positions[i] = i;
  return positions;
}

/// Asks every shard the same read (each shard's reply is a Part) and merges the answers.
template <class Part, class Finish, class... Ts>
caf::result<Part> ask_every_shard(self_pointer self, Finish finish, Ts... xs) {
  return gather<Part, Part>(
    self, positions_up_to(self->state.shards.size()),
    [=](size_t shard) { return self->request(self->state.shards[shard], caf::infinite, xs...); },
    finish);
}

/// A read that spans shards: SQLite asks each shard and merges (`finish`); PostgreSQL's one
/// database answers it whole on shard 0.
template <class Part, class Finish, class... Ts>
caf::result<Part> read_across(self_pointer self, Finish finish, Ts... xs) {
  if (self->state.one_database)
    return self->delegate(self->state.shards.front(), xs...);
  return ask_every_shard<Part>(self, finish, xs...);
}

/// Where a read about one order goes: its shard (SQLite), or shard 0 (PostgreSQL).
const store_actor& reader_of(const sharded_store_state& st, size_t shard) {
  return st.one_database ? st.shards.front() : st.shards[shard];
}

const store_actor& reader_of_id(const sharded_store_state& st, const std::string& id) {
  return reader_of(st, shard_of_id(id, st.shards.size()));
}

/// Splits a batch of writes by shard, sends each shard's part to its writer in `writers`
/// and answers with the writers' answers put back in the batch's order.
template <class Answer, class Item, class Atom, class ShardOf>
caf::result<std::vector<Answer>> write_split(self_pointer self,
                                             const std::vector<store_actor>& writers, Atom atom,
                                             std::vector<Item>& items, ShardOf shard_of) {
  auto positions = positions_by_shard(items, writers.size(), shard_of);
  std::vector<size_t> asked;
  for (size_t shard = 0; shard < positions.size(); ++shard)
    if (!positions[shard].empty())
      asked.push_back(shard);
  if (asked.size() == 1)
    return self->delegate(writers[asked.front()], atom, std::move(items));
  auto parts = std::make_shared<std::vector<std::vector<Item>>>(writers.size());
  for (auto shard : asked)
    (*parts)[shard] = take_positions(items, positions[shard]);
  auto total = items.size();
  return gather<std::vector<Answer>, std::vector<Answer>>(
    self, asked,
    [=, &writers](size_t shard) {
      return self->request(writers[shard], caf::infinite, atom, std::move((*parts)[shard]));
    },
    [=](std::vector<std::vector<Answer>> answers) {
      std::vector<Answer> in_order(total);
      for (size_t i = 0; i < asked.size(); ++i)
        place_at_positions(in_order, positions[asked[i]], std::move(answers[i]));
      return in_order;
    });
}

size_t page_limit(uint32_t limit) {
  return std::min<uint32_t>(std::max<uint32_t>(limit, 1), 10000);
}

constexpr size_t no_limit = std::numeric_limits<size_t>::max();

/// Merges the shards' pages (each sorted by `before`) into the first `limit` rows.
template <class Before>
auto merged_by(Before before, size_t limit) {
  return [before, limit](auto parts) { return merge_pages(std::move(parts), before, limit); };
}

bool by_deadline(const order& a, const order& b) {
  return std::tie(a.deadline_ms, a.id) < std::tie(b.deadline_ms, b.id);
}

std::vector<status_count> summed(std::vector<std::vector<status_count>> parts) {
  std::map<std::string, uint64_t> counts;
  for (const auto& part : parts)
    for (const auto& count : part)
      counts[count.status] += count.count;
  std::vector<status_count> total;
  for (auto& [status, count] : counts)
    total.push_back({status, count});
  return total;
}

store_stats summed(std::vector<store_stats> parts) {
  store_stats total;
  for (const auto& part : parts)
    total += part;
  return total;
}

/// The shards' store actors (and on PostgreSQL their new-order writers), spawned detached,
/// linked to the front and stopped with it.
void spawn_shards(self_pointer self, const store_config& cfg,
                  const std::shared_ptr<const clock>& time,
                  const std::shared_ptr<node_metrics>& metrics) {
  std::vector<caf::actor_addr> addresses;
  auto spawn = [&](const store_config& writer_cfg, std::vector<store_actor>& into) {
    auto actor = spawn_store_writer(self->home_system(), writer_cfg, time, metrics);
    self->link_to(actor);
    addresses.push_back(actor.address());
    into.push_back(std::move(actor));
  };
  for (size_t shard = 0; shard < std::max<size_t>(cfg.shards, 1); ++shard) {
    auto shard_cfg = shard_config(cfg, shard);
    spawn(shard_cfg, self->state.shards);
    if (self->state.one_database) {
      shard_cfg.read_connections = 0;  // the shard's reads go to the other writer's readers
      spawn(shard_cfg, self->state.new_order_writers);
    }
  }
  stop_with(self, std::move(addresses));
}

/// Every writer's stats, summed.
caf::result<store_stats> stats_of_every_writer(self_pointer self, stats_atom stats) {
  auto writers = self->state.shards;
  writers.insert(writers.end(), self->state.new_order_writers.begin(),
                 self->state.new_order_writers.end());
  return gather<store_stats, store_stats>(
    self, positions_up_to(writers.size()),
    [=](size_t writer) { return self->request(writers[writer], caf::infinite, stats); },
    [](auto parts) { return summed(std::move(parts)); });
}

}  // namespace

store_actor::behavior_type sharded_store(self_pointer self, store_config cfg,
                                         std::shared_ptr<const clock> time,
                                         std::shared_ptr<node_metrics> metrics) {
  auto& st = self->state;
  st.one_database = cfg.backend == store_config::backend_kind::postgresql;
  st.default_merchant = cfg.default_merchant;
  spawn_shards(self, cfg, time, metrics);
  auto shard_count = st.shards.size();
  return {
    [=](insert_atom atom, std::vector<order>& orders) -> caf::result<std::vector<insert_outcome>> {
      if (orders.empty())
        return std::vector<insert_outcome>{};
      const auto& writers = self->state.one_database ? self->state.new_order_writers
                                                     : self->state.shards;
      return write_split<insert_outcome>(self, writers, atom, orders, [=](const order& o) {
        return shard_of_key(o.merchant, o.client_ref, shard_count);
      });
    },
    [=](transition_atom atom, std::vector<transition>& changes) -> caf::result<std::vector<bool>> {
      if (changes.empty())
        return std::vector<bool>{};
      return write_split<bool>(self, self->state.shards, atom, changes,
                               [=](const transition& change) {
        return shard_of_id(change.order_id, shard_count);
      });
    },
    [=](commit_atom) {
      // The shards commit on their own; nothing is gathered here.
    },
    [=](caf::get_atom get, const std::string& id) -> caf::result<order> {
      return self->delegate(reader_of_id(self->state, id), get, id);
    },
    [=](find_ref_atom find_ref, const std::string& merchant,
        const std::string& client_ref) -> caf::result<order> {
      const auto& owner = merchant.empty() ? self->state.default_merchant : merchant;
      return self->delegate(reader_of(self->state, shard_of_key(owner, client_ref, shard_count)),
                            find_ref, merchant, client_ref);
    },
    [=](history_atom history, const std::string& id) -> caf::result<order_history> {
      return self->delegate(reader_of_id(self->state, id), history, id);
    },
    [=](load_atom load) {
      return read_across<std::vector<order>>(self, merged_by(by_deadline, no_limit), load);
    },
    [=](load_atom load, int64_t after_deadline_ms, const std::string& after_id, uint32_t limit) {
      return read_across<std::vector<order>>(self,
                                             merged_by(by_deadline, std::max<uint32_t>(limit, 1)),
                                             load, after_deadline_ms, after_id, limit);
    },
    [=](load_atom load, const std::vector<std::string>& ids) {
      // Each shard answers for the ids it holds; the answer's order does not matter.
      return read_across<std::vector<order>>(self, merged_by(by_deadline, no_limit), load, ids);
    },
    [=](list_atom list, const order_filter& filter) {
      auto oldest_first = filter.oldest_first;
      auto by_acceptance = [oldest_first](const order& a, const order& b) {
        auto earlier = std::tie(a.accepted_at_ms, a.id) < std::tie(b.accepted_at_ms, b.id);
        auto later = std::tie(b.accepted_at_ms, b.id) < std::tie(a.accepted_at_ms, a.id);
        return oldest_first ? earlier : later;
      };
      return read_across<std::vector<order>>(self,
                                             merged_by(by_acceptance, page_limit(filter.limit)),
                                             list, filter);
    },
    [=](stats_atom stats, list_atom list) {
      return read_across<std::vector<status_count>>(
        self, [](auto parts) { return summed(std::move(parts)); }, stats, list);
    },
    [=](load_atom load, const final_orders_page& page) {
      auto by_update = [](const order& a, const order& b) {
        return std::tie(a.updated_at_ms, a.id) < std::tie(b.updated_at_ms, b.id);
      };
      return read_across<std::vector<order>>(self, merged_by(by_update, page_limit(page.limit)),
                                             load, page);
    },
    [=](cursor_atom cursor, const std::string& writer) -> caf::result<int64_t> {
      return self->delegate(self->state.shards.front(), cursor, writer);
    },
    [=](cursor_atom cursor, const std::string& writer,
        int64_t resume_at_ms) -> caf::result<ack_atom> {
      return self->delegate(self->state.shards.front(), cursor, writer, resume_at_ms);
    },
    [=](stats_atom stats) { return stats_of_every_writer(self, stats); },
    [=](attempts_atom attempts, const attempt_query& query) {
      auto by_start = [](const attempt_record& a, const attempt_record& b) {
        return std::tie(a.started_at_ms, a.order_id, a.attempt_no)
               < std::tie(b.started_at_ms, b.order_id, b.attempt_no);
      };
      return read_across<std::vector<attempt_record>>(self,
                                                      merged_by(by_start, page_limit(query.limit)),
                                                      attempts, query);
    },
    [=](deliveries_atom deliveries,
        const std::string& order_id) -> caf::result<std::vector<callback_record>> {
      return self->delegate(reader_of_id(self->state, order_id), deliveries, order_id);
    },
  };
}

}  // namespace topup
