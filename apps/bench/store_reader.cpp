#include "apps/bench/store_reader.hpp"

#include "persistence/sql_backend.hpp"
#include "persistence/store_layout.hpp"

#include <soci/soci.h>

#include <map>
#include <stdexcept>

namespace topup::bench {

namespace {

/// The reference prefix as a LIKE pattern: prefixes are [a-z0-9-], which LIKE takes
/// literally, so a '%' suffices.
std::string like_prefix(const std::string& ref_prefix) {
  return ref_prefix + "%";
}

/// soci_error's what() carries SQL and bound values; the message alone is safe to show.
[[noreturn]] void fail(const char* what, const soci::soci_error& error) {
  throw std::runtime_error(std::string{what} + ": " + error.get_error_message());
}

} // namespace

store_reader::store_reader(const store_config& store) {
  sessions_.push_back(open_session(store));
  if (store.backend != store_config::backend_kind::sqlite)
    return;
  auto shards = recorded_shard_count(*sessions_.front());
  for (size_t shard = 1; shard < shards; ++shard)
    sessions_.push_back(open_session(shard_config(store, shard)));
}

store_reader::~store_reader() = default;

uint64_t store_reader::count_terminal(const std::string& ref_prefix) {
  long long count = 0;
  auto pattern = like_prefix(ref_prefix);
  uint64_t total = 0;
  try {
    for (auto& session : sessions_) {
      *session << "SELECT COUNT(*) FROM orders WHERE client_ref LIKE :p"
                  " AND status IN ('succeeded', 'failed')",
        soci::use(pattern), soci::into(count);
      total += static_cast<uint64_t>(count);
    }
  } catch (const soci::soci_error& error) {
    fail("cannot count terminal orders", error);
  }
  return total;
}

std::vector<std::pair<std::string, stored_order>>
store_reader::orders(const std::string& ref_prefix) {
  std::vector<std::pair<std::string, stored_order>> result;
  auto pattern = like_prefix(ref_prefix);
  try {
    for (auto& session : sessions_) {
      // The attempt the store says succeeded, for the ledger audit: an order with two such
      // attempts comes out twice, which the audit reports.
      soci::rowset<soci::row> rows =
        (session->prepare << "SELECT o.client_ref, o.status, o.provider, o.accepted_at_ms,"
                              " o.updated_at_ms, o.id, COALESCE(a.provider, ''),"
                              " COALESCE(a.provider_txn, ''), o.last_error"
                              " FROM orders o LEFT JOIN attempts a"
                              " ON a.order_id = o.id AND a.outcome = 'succeed'"
                              " WHERE o.client_ref LIKE :p",
         soci::use(pattern));
      for (const auto& row : rows) {
        stored_order order;
        order.status = row.get<std::string>(1);
        order.provider = row.get<std::string>(2);
        order.accepted_at_ms = row.get<long long>(3);
        order.updated_at_ms = row.get<long long>(4);
        order.id = row.get<std::string>(5);
        order.succeeded_provider = row.get<std::string>(6);
        order.provider_txn = row.get<std::string>(7);
        order.last_error = row.get<std::string>(8);
        result.emplace_back(row.get<std::string>(0), std::move(order));
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
  auto pattern = like_prefix(ref_prefix);
  try {
    for (auto& session : sessions_) {
      soci::rowset<soci::row> rows =
        (session->prepare << "SELECT a.provider, a.started_at_ms FROM attempts a"
                             " JOIN orders o ON o.id = a.order_id WHERE o.client_ref LIKE :p",
         soci::use(pattern));
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

} // namespace topup::bench
