#include "apps/bench/store_reader.hpp"

#include "domain/order_history.hpp"
#include "persistence/order_store.hpp"
#include "persistence/sql_backend.hpp"
#include "persistence/store_layout.hpp"

#include <soci/soci.h>

#include <algorithm>
#include <map>
#include <stdexcept>

namespace topup::bench {

namespace {

/// The references that start with a prefix, as a range of the (merchant, client_ref) unique
/// index: [prefix, the prefix with its last character raised). A LIKE would scan every order
/// the store holds: on a store of millions, the progress count each second would cost the node
/// beside it a core.
struct ref_range {
  explicit ref_range(const std::string& prefix)
    : low(prefix),
      high(prefix) {
    if (high.empty())
      high = "\xf4\x8f\xbf\xbf";  // U+10FFFF: above every reference
    else
      high.back() = static_cast<char>(high.back() + 1);
  }
  std::string low, high;
};

/// The condition on orders `o` that the range and `:merchant` select, served by the index.
/// PostgreSQL compares in byte order too (its default collation may not: '-' and '.').
const char* ref_condition(soci::session& session) {
  return session.get_backend_name() == "postgresql"
           ? " o.merchant = :merchant AND o.client_ref COLLATE \"C\" >= :low"
             " AND o.client_ref COLLATE \"C\" < :high"
           : " o.merchant = :merchant AND o.client_ref >= :low AND o.client_ref < :high";
}

/// soci_error's what() carries SQL and bound values; the message alone is safe to show.
[[noreturn]] void fail(const char* what, const soci::soci_error& error) {
  throw std::runtime_error(std::string{what} + ": " + error.get_error_message());
}

}  // namespace

store_reader::store_reader(const store_config& store) {
  sessions_.push_back(open_session(store));
  if (store.backend == store_config::backend_kind::sqlite) {
    auto shards = recorded_shard_count(*sessions_.front());
    for (size_t shard = 1; shard < shards; ++shard)
      sessions_.push_back(open_session(shard_config(store, shard)));
  }
  merchants_.push_back(store.default_merchant);
  for (const auto& [id, merchant] : store.merchants.all())
    if (id != store.default_merchant)
      merchants_.push_back(id);
}

store_reader::~store_reader() = default;

uint64_t store_reader::count_terminal(const std::string& ref_prefix) {
  // The run's orders less its unfinished ones. Counting the final ones directly would read
  // every row of the run each second (the index of references does not hold the status),
  // which grows with the run and takes CPU from the node beside it; this reads the index of
  // references alone and, through the status index, the few orders in flight.
  uint64_t stored = 0, unfinished = 0;
  ref_range refs{ref_prefix};
  try {
    for (auto& session : sessions_) {
      bool sqlite = session->get_backend_name() == "sqlite3";
      for (const auto& merchant : merchants_) {
        long long run_orders = 0, in_flight = 0;
        *session << std::string{"SELECT COUNT(*) FROM orders o WHERE"} + ref_condition(*session),
          soci::use(merchant, "merchant"), soci::use(refs.low, "low"),
          soci::use(refs.high, "high"), soci::into(run_orders);
        *session << std::string{"SELECT COUNT(*) FROM orders o"}
                      + (sqlite ? " INDEXED BY orders_by_status_deadline" : "") + " WHERE "
                      + unfinished_status_sql + " AND" + ref_condition(*session),
          soci::use(merchant, "merchant"), soci::use(refs.low, "low"),
          soci::use(refs.high, "high"), soci::into(in_flight);
        stored += static_cast<uint64_t>(run_orders);
        unfinished += static_cast<uint64_t>(in_flight);
      }
    }
  } catch (const soci::soci_error& error) {
    fail("cannot count terminal orders", error);
  }
  // Two statements, not one snapshot, so the run's orders are counted first: an order stored
  // between them is subtracted without being counted (the count falls short until the next
  // one), while the other order would count it as final.
  return stored - std::min(unfinished, stored);
}

std::vector<std::pair<std::string, stored_order>>
store_reader::orders(const std::string& ref_prefix) {
  std::vector<std::pair<std::string, stored_order>> result;
  ref_range refs{ref_prefix};
  try {
    for (auto& session : sessions_)
      for (const auto& merchant : merchants_) {
        // The attempts the store says succeeded (their ends in the history), for the ledger
        // audit: an order with two of them comes out twice, which the audit reports.
        soci::rowset<soci::row> rows =
          (session->prepare << std::string{"SELECT o.client_ref, o.status, o.provider,"
                                           " o.accepted_at_ms, o.updated_at_ms, o.id,"
                                           " o.last_error, o.history FROM orders o WHERE"}
                                 + ref_condition(*session),
           soci::use(merchant, "merchant"), soci::use(refs.low, "low"),
           soci::use(refs.high, "high"));
        for (const auto& row : rows) {
          stored_order order;
          order.status = row.get<std::string>(1);
          order.provider = row.get<std::string>(2);
          order.accepted_at_ms = row.get<long long>(3);
          order.updated_at_ms = row.get<long long>(4);
          order.id = row.get<std::string>(5);
          order.last_error = row.get<std::string>(6);
          topup::order accepted;
          accepted.accepted_at_ms = order.accepted_at_ms;
          auto history = decode_history(accepted, row.get<std::string>(7));
          auto ref = row.get<std::string>(0);
          bool any_succeeded = false;
          for (const auto& entry : history) {
            if (entry.event != "dispatch")
              continue;
            const auto* end = attempt_end(history, entry.attempt_no);
            if (end == nullptr || end->event != "succeed")
              continue;
            any_succeeded = true;
            auto succeeded = order;
            succeeded.succeeded_provider = entry.provider;
            succeeded.provider_txn = end->provider_txn;
            result.emplace_back(ref, std::move(succeeded));
          }
          if (!any_succeeded)
            result.emplace_back(ref, std::move(order));
        }
      }
  } catch (const soci::soci_error& error) {
    fail("cannot read the orders", error);
  }
  return result;
}

std::map<std::string, std::vector<int64_t>>
store_reader::call_starts_by_provider(const std::string& ref_prefix) {
  std::map<std::string, std::vector<int64_t>> by_provider;
  ref_range refs{ref_prefix};
  try {
    for (auto& session : sessions_)
      for (const auto& merchant : merchants_) {
        soci::rowset<soci::row> rows =
          (session->prepare << std::string{"SELECT a.provider, a.started_at_ms FROM orders o"
                                           " JOIN attempts a ON a.order_id = o.id WHERE"}
                                 + ref_condition(*session),
           soci::use(merchant, "merchant"), soci::use(refs.low, "low"),
           soci::use(refs.high, "high"));
        for (const auto& row : rows)
          by_provider[row.get<std::string>(0)].push_back(row.get<long long>(1));
      }
  } catch (const soci::soci_error& error) {
    fail("cannot read the attempts", error);
  }
  return by_provider;
}

std::optional<int64_t> store_reader::first_call_after(const std::string& provider,
                                                      int64_t after_ms) {
  std::optional<int64_t> earliest;
  long long after = after_ms;
  try {
    for (auto& session : sessions_) {
      long long first = 0;
      soci::indicator found = soci::i_null;
      *session << "SELECT MIN(started_at_ms) FROM attempts WHERE provider = :provider"
                  " AND started_at_ms > :after",
        soci::use(provider), soci::use(after), soci::into(first, found);
      if (found == soci::i_ok && (!earliest || first < *earliest))
        earliest = first;
    }
  } catch (const soci::soci_error& error) {
    fail("cannot read the attempts", error);
  }
  return earliest;
}

}  // namespace topup::bench
