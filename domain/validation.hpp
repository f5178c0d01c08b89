#pragma once

#include "domain/errors.hpp"
#include "domain/order.hpp"

#include <cstddef>
#include <map>
#include <set>
#include <string>
#include <variant>

namespace topup {

/// Length limits of the string fields a client sends. Anything longer is refused before it
/// reaches the store, so one oversized message cannot bloat every index.
struct field_limits {
  size_t client_ref_max = 64;
  size_t phone_max = 32;  ///< longer than any phone number; refused as field_too_long
};

/// What intake checks an order request against; built from configuration.
struct validation_rules {
  /// Three-digit mobile prefix ("138") to carrier name ("cmcc").
  std::map<std::string, std::string> carrier_by_prefix;
  std::set<int64_t> allowed_amounts_fen;
  field_limits limits;
};

/// A request that passed validation, with the carrier its number belongs to.
struct validated_request {
  order_request request;
  std::string carrier;
};

using validation_result = std::variant<validated_request, failure>;

/// Checks a request: every string within its limit, a non-empty reference, an 11-digit
/// mainland mobile number starting with 1, a prefix a carrier owns, an allowed amount.
/// The first violation found is returned, with a reason that names the offending value
/// (phone numbers masked).
validation_result validate(const order_request& request, const validation_rules& rules);

/// The carrier owning a well-formed number's prefix, if any.
std::optional<std::string> carrier_of(const std::string& phone, const validation_rules& rules);

} // namespace topup
