#include "domain/amount.hpp"

#include "domain/text.hpp"

#include <algorithm>
#include <charconv>
#include <system_error>

namespace topup {
namespace {

bool is_ascii_digit(char c) {
  return c >= '0' && c <= '9';
}

bool has_white_space(std::string_view text) {
  for (size_t pos = 0; pos < text.size();) {
    auto step = text::decode_at(text, pos);
    if (step.code_point && text::is_white_space(*step.code_point))
      return true;
    pos += step.width;
  }
  return false;
}

failure refused(std::string_view text, const std::string& why) {
  return {errc::invalid_amount, "'" + text::printable(text, 32) + "' " + why};
}

} // namespace

amount_result parse_amount(std::string_view text) {
  constexpr const char* digits_only =
    "is not a whole number of fen written with the digits 0-9 only";
  if (text.empty())
    return failure{errc::invalid_amount, "the amount is empty"};
  if (has_white_space(text))
    return refused(text, "contains white space; write the digits alone");
  if (text.front() == '+' || text.front() == '-')
    return refused(text, "has a sign; an amount is a number of fen written with digits only");
  if (!std::all_of(text.begin(), text.end(), is_ascii_digit))
    return refused(text, digits_only);
  if (text.size() > 1 && text.front() == '0')
    return refused(text, "has a leading zero, which some programs read as octal; write the "
                         "amount without it");
  int64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error == std::errc::result_out_of_range)
    return refused(text, "is too large (at most 9223372036854775807 fen)");
  if (error != std::errc{} || end != text.data() + text.size())
    return refused(text, digits_only);
  return value;
}

} // namespace topup
