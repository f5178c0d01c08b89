#include "domain/validation.hpp"

#include "domain/text.hpp"

#include <algorithm>

namespace topup {
namespace {

constexpr size_t mobile_digits = 11;
constexpr size_t shortest_prefix = 3;
constexpr size_t longest_prefix = 4;

bool all_digits(const std::string& text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string amount_list(const std::set<int64_t>& amounts) {
  std::string text;
  for (auto amount : amounts) {
    if (!text.empty())
      text += ", ";
    text += std::to_string(amount);
  }
  return text;
}

failure too_long(const char* field, size_t size, size_t limit, const char* unit) {
  return {errc::field_too_long, std::string{field} + " has " + std::to_string(size) + " "
                                  + unit + ", the limit is " + std::to_string(limit) + " "
                                  + unit};
}

/// Rule 1 of validate() for one field: valid UTF-8, no control character, within limits.
std::optional<failure> check_text(const char* field, std::string_view value,
                                  size_t max_characters) {
  if (value.size() > field_limits::max_bytes)
    return too_long(field, value.size(), field_limits::max_bytes, "bytes");
  // Printable ASCII, what nearly every order holds, needs no decoding: one byte is one
  // character, valid and no control character (this keeps validation at intake's speed).
  auto printable_ascii = std::all_of(value.begin(), value.end(), [](char c) {
    auto byte = static_cast<unsigned char>(c);
    return byte >= 0x20 && byte < 0x7F;
  });
  size_t count = printable_ascii ? value.size() : 0;
  for (size_t pos = printable_ascii ? value.size() : 0; pos < value.size(); ++count) {
    auto step = text::decode_at(value, pos);
    // The value itself is not echoed: it is not text a client could print.
    if (!step.code_point)
      return failure{errc::invalid_text, std::string{field} + " is not valid UTF-8 (byte "
                                           + std::to_string(pos + 1) + " of "
                                           + std::to_string(value.size()) + ")"};
    if (text::is_control(*step.code_point))
      return failure{errc::invalid_text, std::string{field} + " contains the control character "
                                           + text::code_point_name(*step.code_point)
                                           + " (character " + std::to_string(count + 1) + ")"};
    pos += step.width;
  }
  if (count > max_characters)
    return too_long(field, count, max_characters, "characters");
  return std::nullopt;
}

/// The white space character `value` begins with (at_end: ends with), if any.
std::optional<char32_t> white_space_at(std::string_view value, bool at_end) {
  if (value.empty())
    return std::nullopt;
  size_t pos = 0;
  if (at_end) {
    // Back to the first byte of the last character (valid UTF-8: rule 1 ran before).
    pos = value.size() - 1;
    while (pos > 0 && (static_cast<unsigned char>(value[pos]) & 0xC0) == 0x80)
      --pos;
  }
  auto step = text::decode_at(value, pos);
  if (step.code_point && text::is_white_space(*step.code_point))
    return step.code_point;
  return std::nullopt;
}

/// Rules 2 and 3 for the reference.
std::optional<failure> check_reference(const std::string& ref) {
  if (ref.empty())
    return failure{errc::missing_field, "client_ref is empty"};
  auto leading = white_space_at(ref, false);
  auto trailing = white_space_at(ref, true);
  if (!leading && !trailing)
    return std::nullopt;
  bool blank = true;
  for (size_t pos = 0; pos < ref.size() && blank;) {
    auto step = text::decode_at(ref, pos);
    blank = step.code_point && text::is_white_space(*step.code_point);
    pos += step.width;
  }
  if (blank)
    return failure{errc::missing_field, "client_ref is blank (only white space)"};
  return failure{errc::invalid_text,
                 "client_ref '" + text::printable(ref) + "' " + (leading ? "begins" : "ends")
                   + " with white space (" + text::code_point_name(leading ? *leading : *trailing)
                   + "); references are compared exactly, so surrounding blanks are refused"};
}

} // namespace

std::optional<std::string> carrier_of(const std::string& phone, const validation_rules& rules) {
  for (auto digits = std::min(longest_prefix, phone.size()); digits >= shortest_prefix; --digits) {
    auto found = rules.carrier_by_prefix.find(phone.substr(0, digits));
    if (found != rules.carrier_by_prefix.end())
      return found->second;
  }
  return std::nullopt;
}

namespace {

/// The carrier an order is for: the one it names, which must be configured, or the one its
/// number's prefix belongs to.
std::variant<std::string, failure> carrier_for(const order_request& request,
                                               const validation_rules& rules) {
  if (!request.carrier.empty()) {
    std::set<std::string> configured;
    for (const auto& [prefix, carrier] : rules.carrier_by_prefix)
      configured.insert(carrier);
    if (configured.count(request.carrier))
      return request.carrier;
    std::string names;
    for (const auto& name : configured)
      names += (names.empty() ? "" : ", ") + name;
    // Not echoed: an unknown name may be anything a client sent.
    return failure{errc::unknown_carrier,
                   "carrier is not one of the configured carriers (" + names + ")"};
  }
  if (auto carrier = carrier_of(request.phone, rules))
    return *carrier;
  return failure{errc::unknown_carrier,
                 "no carrier serves prefix " + request.phone.substr(0, shortest_prefix)
                   + " (name the carrier of a number whose prefix is not configured)"};
}

} // namespace

validation_result validate(const order_request& request, const validation_rules& rules) {
  const auto& limits = rules.limits;
  if (auto f = check_text("client_ref", request.client_ref, limits.client_ref_max))
    return *f;
  if (auto f = check_text("phone", request.phone, limits.phone_max))
    return *f;
  if (auto f = check_reference(request.client_ref))
    return *f;
  if (request.phone.empty())
    return failure{errc::missing_field, "phone is empty"};
  if (!all_digits(request.phone))
    return failure{errc::invalid_phone,
                   mask_phone(request.phone)
                     + " contains characters other than the digits 0-9"};
  if (request.phone.size() != mobile_digits)
    return failure{errc::invalid_phone, mask_phone(request.phone) + " has "
                                          + std::to_string(request.phone.size())
                                          + " digits, a mobile number has 11"};
  if (request.phone.front() != '1')
    return failure{errc::invalid_phone,
                   mask_phone(request.phone) + " does not start with 1, as mobile numbers do"};
  auto carrier = carrier_for(request, rules);
  if (auto f = std::get_if<failure>(&carrier))
    return *f;
  if (rules.allowed_amounts_fen.count(request.amount_fen) == 0)
    return failure{errc::unsupported_amount,
                   std::to_string(request.amount_fen)
                     + " fen is not an allowed denomination (allowed: "
                     + amount_list(rules.allowed_amounts_fen) + ")"};
  auto owner = resolve_merchant(rules.merchants, request.merchant, request.notify_url);
  if (auto f = std::get_if<failure>(&owner))
    return *f;
  validated_request valid{request, std::move(std::get<std::string>(carrier))};
  valid.request.merchant = std::move(std::get<std::string>(owner));
  return valid;
}

} // namespace topup
