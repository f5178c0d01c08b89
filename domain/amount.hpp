#pragma once

// The one reading of an amount written as text. topup-cli's --amount, its CSV and JSON-lines
// readers and the provider wire protocol all read amounts through it, so "01750" or " 5000"
// means the same (here: an error) wherever it is written.

#include "domain/errors.hpp"

#include <cstdint>
#include <string_view>
#include <variant>

namespace topup {

/// An amount in fen, or why the text is not one (errc::invalid_amount).
using amount_result = std::variant<int64_t, failure>;

/// Reads a plain decimal integer: the ASCII digits 0-9 and nothing else, at most
/// 9223372036854775807 (INT64_MAX). Refused, each with a reason naming the text (shown with
/// text::printable) and what is wrong with it:
/// - empty text;
/// - a sign ("+5000", "-5"): amounts are never negative and "+" is not part of a number;
/// - white space anywhere (" 5000", "5000\n"): a value is taken exactly as written;
/// - a leading zero ("01750", "00"), except "0" itself: some programs read "01750" as octal
///   (1000), others as 1750, so it is refused rather than guessed;
/// - anything else that is not a digit: "0x1388", "10.5", "1e3", "5,000", full-width digits;
/// - a value above INT64_MAX.
/// Whether the amount is one the engine sells is the node's decision (unsupported_amount).
amount_result parse_amount(std::string_view text);

/// An amount given as a JSON value (any nlohmann JSON type): it must be a number, and the
/// number is read by parse_amount from its JSON text, so JSON follows the same rule: 1000 is
/// 1000 fen; -5, 10.5, 1e3 (written back as 1000.0) and numbers above INT64_MAX are refused;
/// "1000" (a string) is refused as not a number.
template <class Json>
amount_result parse_json_amount(const Json& value) {
  if (!value.is_number())
    return failure{errc::invalid_amount, "must be a JSON number of fen (digits, no quotes)"};
  return parse_amount(value.dump());
}

} // namespace topup
