#pragma once

#include "domain/errors.hpp"
#include "domain/merchant.hpp"
#include "domain/order.hpp"

#include <cstddef>
#include <map>
#include <set>
#include <string>
#include <variant>

namespace topup {

/// Length limits of the text fields a client sends, in characters (Unicode code points): 30
/// Chinese characters are 30, not 90. Anything longer is refused before it reaches the store,
/// so one oversized message cannot bloat every index.
struct field_limits {
  size_t client_ref_max = 64;  ///< characters
  size_t phone_max = 32;       ///< characters; longer than any phone number
  /// Bytes a text field may take whatever its character limit: the reference is a unique
  /// key, and an index entry has a size bound in the database (2704 bytes on PostgreSQL).
  /// Only a character limit above 256 (4-byte characters) can reach it.
  static constexpr size_t max_bytes = 1024;
};

/// What intake checks an order request against; built from configuration.
struct validation_rules {
  /// Mobile prefix, three or four digits ("138", "1703"), to carrier name ("cmcc"). The
  /// longest prefix of a number wins: 170 belongs to one carrier, 1703 to another (the
  /// virtual operators' segments split 170 and 171 by their fourth digit).
  std::map<std::string, std::string> carrier_by_prefix;
  std::set<int64_t> allowed_amounts_fen;
  field_limits limits;
  /// Who orders may be for, and where their callbacks may go.
  merchant_directory merchants;
};

/// A request that passed validation, with the carrier its number belongs to.
struct validated_request {
  order_request request;  ///< merchant filled in: the default one when the request named none
  std::string carrier;
};

using validation_result = std::variant<validated_request, failure>;

/// Checks a request, the one validation every channel's orders go through (intake runs it on
/// every order, whatever client sent it). In this order:
/// 1. every text field (client_ref, phone) is valid UTF-8 (else invalid_text), has no control
///    character (U+0000-U+001F, U+007F-U+009F; else invalid_text) and is within its limit
///    of characters and field_limits::max_bytes (else field_too_long);
/// 2. client_ref and phone are not empty, and client_ref is not blank (only white space)
///    (else missing_field);
/// 3. client_ref neither begins nor ends with white space (Unicode White_Space, e.g. U+0020,
///    U+00A0, U+3000; else invalid_text): references are compared exactly, so surrounding
///    blanks are refused rather than silently kept or removed;
/// 4. the phone is an 11-digit mainland mobile number (ASCII digits 0-9) starting with 1
///    (else invalid_phone) whose prefix a carrier owns (else unknown_carrier); an order that
///    names its carrier (a number ported to another carrier keeps its prefix) must name a
///    configured one (else unknown_carrier), and its prefix need not be known;
/// 5. the amount is an allowed denomination (else unsupported_amount);
/// 6. the merchant is known, or none is named (else unknown_merchant), and the notify_url,
///    if any, lies under one of its allowed prefixes (else invalid_notify_url).
/// The first violation found is returned, with a reason that names the offending value
/// (phone numbers masked, text that is not valid UTF-8 never echoed).
validation_result validate(const order_request& request, const validation_rules& rules);

/// The carrier owning a well-formed number's longest known prefix, if any.
std::optional<std::string> carrier_of(const std::string& phone, const validation_rules& rules);

} // namespace topup
