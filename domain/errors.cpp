#include "domain/errors.hpp"

#include <array>
#include <utility>

namespace topup {
namespace {

constexpr std::array<std::pair<errc, std::string_view>, 24> names{{
  {errc::none, "none"},
  {errc::invalid_phone, "invalid_phone"},
  {errc::unknown_carrier, "unknown_carrier"},
  {errc::unsupported_amount, "unsupported_amount"},
  {errc::field_too_long, "field_too_long"},
  {errc::missing_field, "missing_field"},
  {errc::duplicate_reference, "duplicate_reference"},
  {errc::overloaded, "overloaded"},
  {errc::unavailable, "unavailable"},
  {errc::not_found, "not_found"},
  {errc::illegal_transition, "illegal_transition"},
  {errc::invalid_argument, "invalid_argument"},
  {errc::shutting_down, "shutting_down"},
  {errc::stale_owner, "stale_owner"},
  {errc::outcome_unknown, "outcome_unknown"},
  {errc::invalid_text, "invalid_text"},
  {errc::invalid_amount, "invalid_amount"},
  {errc::malformed_message, "malformed_message"},
  {errc::unsupported_field, "unsupported_field"},
  {errc::unknown_merchant, "unknown_merchant"},
  {errc::invalid_notify_url, "invalid_notify_url"},
  {errc::unauthenticated, "unauthenticated"},
  {errc::request_too_large, "request_too_large"},
  {errc::wrong_carrier, "wrong_carrier"},
}};

} // namespace

std::string_view to_string(errc code) {
  for (const auto& [value, name] : names)
    if (value == code)
      return name;
  return "unrecognized_error";
}

std::optional<errc> errc_from_string(std::string_view name) {
  for (const auto& [value, text] : names)
    if (text == name)
      return value;
  return std::nullopt;
}

bool is_retryable(errc code) {
  return code == errc::overloaded || code == errc::unavailable || code == errc::shutting_down;
}

std::string failure::describe() const {
  std::string text{to_string(code)};
  if (!reason.empty()) {
    text += ": ";
    text += reason;
  }
  return text;
}

} // namespace topup
