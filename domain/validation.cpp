#include "domain/validation.hpp"

#include <algorithm>

namespace topup {
namespace {

constexpr size_t mobile_digits = 11;
constexpr size_t prefix_digits = 3;

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

failure too_long(const char* field, size_t size, size_t limit) {
  return {errc::field_too_long, std::string{field} + " has " + std::to_string(size)
                                  + " characters, the limit is " + std::to_string(limit)};
}

} // namespace

std::optional<std::string> carrier_of(const std::string& phone, const validation_rules& rules) {
  if (phone.size() < prefix_digits)
    return std::nullopt;
  auto found = rules.carrier_by_prefix.find(phone.substr(0, prefix_digits));
  if (found == rules.carrier_by_prefix.end())
    return std::nullopt;
  return found->second;
}

validation_result validate(const order_request& request, const validation_rules& rules) {
  const auto& limits = rules.limits;
  if (request.client_ref.size() > limits.client_ref_max)
    return too_long("client_ref", request.client_ref.size(), limits.client_ref_max);
  if (request.phone.size() > limits.phone_max)
    return too_long("phone", request.phone.size(), limits.phone_max);
  if (request.client_ref.empty())
    return failure{errc::missing_field, "client_ref is empty"};
  if (request.phone.empty())
    return failure{errc::missing_field, "phone is empty"};
  if (!all_digits(request.phone))
    return failure{errc::invalid_phone,
                   mask_phone(request.phone) + " contains characters other than digits"};
  if (request.phone.size() != mobile_digits)
    return failure{errc::invalid_phone, mask_phone(request.phone) + " has "
                                          + std::to_string(request.phone.size())
                                          + " digits, a mobile number has 11"};
  if (request.phone.front() != '1')
    return failure{errc::invalid_phone,
                   mask_phone(request.phone) + " does not start with 1, as mobile numbers do"};
  auto carrier = carrier_of(request.phone, rules);
  if (!carrier)
    return failure{errc::unknown_carrier, "no carrier serves prefix "
                                            + request.phone.substr(0, prefix_digits)};
  if (rules.allowed_amounts_fen.count(request.amount_fen) == 0)
    return failure{errc::unsupported_amount,
                   std::to_string(request.amount_fen)
                     + " fen is not an allowed denomination (allowed: "
                     + amount_list(rules.allowed_amounts_fen) + ")"};
  return validated_request{request, *carrier};
}

} // namespace topup
