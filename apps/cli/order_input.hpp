#pragma once

// Reading many orders from a file or stdin for `topup-cli submit --file`: CSV with an
// optional header, or JSON lines. Only the syntax is checked here, and amounts are read by
// the one amount parser (domain/amount.hpp) as everywhere else; whether a reference, a phone
// number or an amount is acceptable is the node's decision (domain/validation, the same for
// every channel), so its typed errors are what users see.

#include "domain/order.hpp"

#include <cstddef>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace topup::cli {

enum class input_format {
  auto_detect,  ///< JSON lines if the first line that is not blank or '#' starts with '{'
  csv,
  jsonl,
};

std::string_view to_string(input_format format);
std::optional<input_format> input_format_from_string(std::string_view name);

/// An order and the line it came from (1-based), so results can point back at the input.
struct numbered_request {
  size_t line = 0;
  order_request request;
};

/// A line that could not be read.
struct input_problem {
  size_t line = 0;
  std::string message;
};

struct order_input {
  input_format format = input_format::auto_detect;  ///< the format actually read
  std::vector<numbered_request> orders;
  std::vector<input_problem> problems;  ///< in line order
};

/// Reads every line of `in`.
///
/// CSV: fields separated by commas, each taken exactly as written: blanks around a comma are
/// part of the field, as in RFC 4180 and as on the command line (so " 1000" is not an amount
/// and " r-1" is a reference the node refuses). A field may be quoted with double quotes
/// (to hold a comma; "" inside stands for one quote; quoted fields cannot span lines); the
/// closing quote must end the field. Blank lines and lines starting with '#' (after blanks)
/// are skipped. The first line is a header when it names the columns (client_ref, phone,
/// amount_fen, in any order, each exactly once); without a header the columns are
/// client_ref,phone,amount_fen in that order. amount_fen goes through parse_amount.
///
/// JSON lines: one object per line, read by parse_order_json (domain/order_json.hpp), the
/// same reading as the messages the node consumes from Redis and RabbitMQ; a refused line's
/// problem is the typed failure ("missing_field: missing key \"amount_fen\""). Blank lines
/// are skipped.
///
/// A line with a problem is reported and left out; the caller decides what that means.
order_input read_orders(std::istream& in, input_format format);

} // namespace topup::cli
