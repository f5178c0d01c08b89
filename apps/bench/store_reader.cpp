#include "apps/bench/store_reader.hpp"

#include "domain/order_history.hpp"
#include "persistence/sql_backend.hpp"

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

store_reader::store_reader(const store_config& store) : session_(open_session(store)) {}

store_reader::~store_reader() = default;

uint64_t store_reader::count_terminal(const std::string& ref_prefix) {
  long long count = 0;
  auto pattern = like_prefix(ref_prefix);
  try {
    *session_ << "SELECT COUNT(*) FROM orders WHERE client_ref LIKE :p"
                 " AND status IN ('succeeded', 'failed')",
      soci::use(pattern), soci::into(count);
  } catch (const soci::soci_error& error) {
    fail("cannot count terminal orders", error);
  }
  return static_cast<uint64_t>(count);
}

std::vector<std::pair<std::string, stored_order>>
store_reader::orders(const std::string& ref_prefix) {
  std::vector<std::pair<std::string, stored_order>> result;
  auto pattern = like_prefix(ref_prefix);
  try {
    // The attempts the store says succeeded (their ends in the history), for the ledger
    // audit: an order with two of them comes out twice, which the audit reports.
    soci::rowset<soci::row> rows =
      (session_->prepare << "SELECT o.client_ref, o.status, o.provider, o.accepted_at_ms,"
                            " o.updated_at_ms, o.id, o.last_error, o.history"
                            " FROM orders o WHERE o.client_ref LIKE :p",
       soci::use(pattern));
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
    soci::rowset<soci::row> rows =
      (session_->prepare << "SELECT a.provider, a.started_at_ms FROM attempts a"
                            " JOIN orders o ON o.id = a.order_id WHERE o.client_ref LIKE :p",
       soci::use(pattern));
    for (const auto& row : rows)
      by_provider[row.get<std::string>(0)].push_back(row.get<long long>(1));
  } catch (const soci::soci_error& error) {
    fail("cannot read the attempts", error);
  }
  return by_provider;
}

std::optional<int64_t> store_reader::first_call_after(const std::string& provider,
                                                      int64_t after_ms) {
  long long first = 0;
  soci::indicator found = soci::i_null;
  long long after = after_ms;
  try {
    *session_ << "SELECT MIN(started_at_ms) FROM attempts WHERE provider = :provider"
                 " AND started_at_ms > :after",
      soci::use(provider), soci::use(after), soci::into(first, found);
  } catch (const soci::soci_error& error) {
    fail("cannot read the attempts", error);
  }
  if (found != soci::i_ok)
    return std::nullopt;
  return first;
}

} // namespace topup::bench
