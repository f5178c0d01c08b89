#pragma once

// Reading many orders from a file or stdin for `topup-cli submit --file`: CSV with an
// optional header, or JSON lines. Only the syntax is checked here; whether a phone number or
// an amount is acceptable is the node's decision, so its typed errors are what users see.

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
/// CSV: fields separated by commas, surrounding blanks trimmed; a field may be quoted with
/// double quotes ("" inside stands for one quote; quoted fields cannot span lines). Blank
/// lines and lines starting with '#' are skipped. The first line is a header when it names
/// the columns (client_ref, phone, amount_fen, in any order, each exactly once); without a
/// header the columns are client_ref,phone,amount_fen in that order.
///
/// JSON lines: one object per line with exactly the keys "client_ref" (string), "phone"
/// (string) and "amount_fen" (integer); blank lines are skipped.
///
/// A line with a problem is reported and left out; the caller decides what that means.
order_input read_orders(std::istream& in, input_format format);

} // namespace topup::cli
