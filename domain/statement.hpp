#pragma once

// A provider's statement (对账单): the requests it says it performed or refused over a
// period, as a CSV file the provider supplies and `topup-cli reconcile` compares with the
// engine's attempts. topup-provider-sim exports one (GET /statement).
//
// The format (RFC 4180, UTF-8, a header row, one request per row):
//
//   request_id,order_id,phone,amount_fen,status,provider_txn,time
//   o-1a2b@p-cmcc,o-1a2b,138****8000,1000,success,p-cmcc-17,2026-12-05T10:11:12.345Z
//
//   request_id    the engine's request id (order id "@" provider), as sent with the call
//   order_id      the engine's order id, as sent with the call
//   phone         optional column: the number recharged, in full or masked (138****8000);
//                 may be empty
//   amount_fen    the amount in fen: a plain decimal integer above 0 (domain/amount.hpp)
//   status        success (recharged: money moved) or failed (refused, not recharged)
//   provider_txn  the provider's transaction id; required for success
//   time          when the provider performed or refused it: RFC 3339 with seconds and an
//                 explicit zone ("2026-12-05T18:11:12+08:00", "...Z"; milliseconds optional)
//
// Columns may come in any order; an unknown or repeated column, a missing required one, a
// field with bad quoting, a value that does not follow its rule, a blank line between rows:
// each is a problem with its line number, and a statement with problems is not compared.

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

namespace topup {

enum class statement_status : uint8_t {
  success,  ///< recharged
  failed,   ///< not recharged
};

std::string_view to_string(statement_status status);

/// One row of a statement.
struct statement_row {
  size_t line = 0;  ///< in the file, 1-based (the header is line 1); 0 when not read from one
  std::string request_id;
  std::string order_id;
  std::string phone;  ///< as the statement gives it; empty when it gives none
  int64_t amount_fen = 0;
  statement_status status = statement_status::success;
  std::string provider_txn;
  int64_t at_ms = 0;  ///< milliseconds since the epoch
};

struct statement_problem {
  size_t line = 0;
  std::string message;
};

/// A statement as read: its rows and every problem found, in line order.
struct statement {
  std::vector<statement_row> rows;
  std::vector<statement_problem> problems;
};

/// The column names, in the order topup writes them.
inline const std::vector<std::string_view> statement_columns{
  "request_id", "order_id", "phone", "amount_fen", "status", "provider_txn", "time"};

/// Reads a whole statement (see the format above). A UTF-8 byte order mark before the header
/// and CRLF line ends are accepted; blank lines at the very end too.
statement read_statement(std::istream& in);

/// The header line topup writes (every column, in statement_columns order), without a line
/// break.
std::string statement_header();

/// One row as topup writes it (time in UTC with milliseconds), without a line break.
std::string statement_line(const statement_row& row);

} // namespace topup
