#pragma once

// Group commits on PostgreSQL in a few statements per batch instead of several per row.
// SOCI's PostgreSQL backend makes one round trip per statement execution (its "bulk" binding
// too), so a commit of 500 new orders and 1,000 state changes cost thousands of round trips
// on one connection. Here each column of a batch travels as one array parameter and
// unnest() turns the arrays back into rows inside the server: an insert batch is one
// statement, a batch of state changes at most four (the update with its history entries,
// the notes, the attempts started, the attempts finished).

#include "messages/protocol.hpp"

#include <cstddef>
#include <string>
#include <vector>

namespace soci {
class session;
}

namespace topup {

/// PostgreSQL's text form of a one-dimensional text array, {"a","b\"c"}: every element is
/// quoted and its quotes and backslashes escaped, so any text (commas, braces, spaces, the
/// word NULL) comes back unchanged from CAST(... AS text[]).
std::string postgresql_text_array(const std::vector<std::string>& values);

/// {1,-2,3}: for CAST(... AS bigint[]) or integer[].
std::string postgresql_integer_array(const std::vector<long long>& values);

/// The positions of `changes` split into rounds in which each order appears at most once,
/// in their order: a set-based UPDATE sees every row as it was before it, so a second change
/// of one order (written after the first in the same batch) must wait for the next round.
std::vector<std::vector<size_t>> rounds_by_order(const std::vector<transition>& changes);

/// The batched writes of an order_store on PostgreSQL, inside the caller's transaction.
/// Throws what SOCI throws (the caller turns it into a store_error).
class postgresql_batch_writer {
public:
  explicit postgresql_batch_writer(soci::session& session);

  /// Inserts the orders whose client reference is new (also within the batch: the first
  /// wins); returns, by position, whether each was inserted.
  std::vector<bool> insert(const std::vector<order>& orders);

  /// Applies the changes as order_store::apply_rows does, row by row: same results.
  std::vector<bool> apply(const std::vector<transition>& changes);

private:
  /// Applies one round (positions into `changes`, each order once), its history entries and
  /// attempt rows; sets `applied` for those whose order row changed.
  void apply_round(const std::vector<transition>& changes, const std::vector<size_t>& round,
                   std::vector<bool>& applied);

  soci::session& session_;
  std::string now_ms_;
};

} // namespace topup
