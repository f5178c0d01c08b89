#pragma once

// Group commits on PostgreSQL in a few statements per batch instead of several per row.
// SOCI's PostgreSQL backend makes one round trip per statement execution (its "bulk" binding
// too), so a commit of 500 new orders and 1,000 state changes cost thousands of round trips
// on one connection. Here each column of a batch travels as one array parameter and
// unnest() turns the arrays back into rows inside the server: an insert batch is one
// statement, a round of state changes at most three (the update with its history entries,
// the notes, the attempts started). Each statement is bound once per session and sent with
// each batch's arrays in one round trip (libpq's PQexecParams; a SOCI rowset prepares a named
// statement, runs it and deallocates it: three). The server plans every execution for its
// arrays: a statement prepared once would turn to a generic plan after five executions, made
// without the arrays and with the statistics of the moment, which ran the state changes'
// UPDATE 11 times slower in W1 (bench/README.md, "What bounds a node on PostgreSQL").

#include "messages/protocol.hpp"

#include <soci/soci.h>

#include <cstddef>
#include <string>
#include <type_traits>
#include <vector>

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

/// A statement whose parameters are the text forms of arrays, bound once and executed again
/// with new arrays; `Row` is the type of its RETURNING column (void: none).
template <class Row>
class array_statement {
public:
  array_statement(soci::session& session, const std::string& sql, size_t parameters);
  array_statement(const array_statement&) = delete;
  array_statement& operator=(const array_statement&) = delete;

  using rows = std::conditional_t<std::is_void_v<Row>, void, std::vector<Row>>;

  /// Executes with `arrays` (as many as the statement has parameters, in their order; any
  /// other count is a std::logic_error) and returns the rows it returned.
  rows run(std::vector<std::string> arrays);

private:
  /// Bound by reference when prepared: never resized, only assigned.
  std::vector<std::string> parameters_;
  std::conditional_t<std::is_void_v<Row>, int, std::vector<Row>> fetched_{};
  soci::statement statement_;
};

/// The batched writes of an order_store on PostgreSQL, inside the caller's transaction.
/// Throws what SOCI throws (the caller turns it into a store_error).
class postgresql_batch_writer {
public:
  /// Binds the statements on `session`, which must outlive the writer.
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

  array_statement<std::string> insert_orders_;
  array_statement<long long> add_notes_;
  array_statement<long long> change_orders_;
  array_statement<void> insert_attempts_;
};

} // namespace topup
