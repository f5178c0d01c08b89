#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace topup {

/// Every failure a client can be told about. The numeric values travel over the network
/// inside CAF errors (category "topup"), so existing values never change meaning.
enum class errc : uint8_t {
  none = 0,
  invalid_phone = 1,        ///< not an 11-digit mainland mobile number
  unknown_carrier = 2,      ///< well-formed number whose prefix no configured carrier owns
  unsupported_amount = 3,   ///< amount not in the configured denominations
  field_too_long = 4,       ///< a string field exceeds its length limit
  missing_field = 5,        ///< a required field is empty
  duplicate_reference = 6,  ///< client reference already used for different content
  overloaded = 7,           ///< the engine cannot finish more orders in time right now
  unavailable = 8,          ///< the store cannot accept writes right now
  not_found = 9,            ///< no such order
  illegal_transition = 10,  ///< the order's state does not allow the operation
  invalid_argument = 11,    ///< a request that makes no sense (e.g. empty batch)
  shutting_down = 12,       ///< the node is stopping and takes no new orders
  stale_owner = 13,         ///< a node wrote for a provider it no longer owns
  outcome_unknown = 14,     ///< a provider call may have been performed; only a query can tell
  invalid_text = 15,        ///< a text field is not valid UTF-8, holds a control character,
                            ///< or (a reference) begins or ends with white space
  invalid_amount = 16,      ///< an amount written as text is not a plain decimal integer
  malformed_message = 17,   ///< an order written as JSON (a queue message, a JSON line) is
                            ///< not JSON, not an object, has a key it may not have or a value
                            ///< of the wrong JSON type
  unsupported_field = 18,   ///< a field this channel does not read (an HTTP order
                            ///< naming a merchant: the signer is its merchant)
  unknown_merchant = 19,    ///< the order names a merchant the node does not know
  invalid_notify_url = 20,  ///< a callback URL that is malformed or outside the merchant's
                            ///< allowed prefixes
  unauthenticated = 21,     ///< HTTP API: unknown merchant, bad or stale signature
  request_too_large = 22,   ///< HTTP API: a body or header beyond the configured bounds
  wrong_carrier = 23,       ///< a failed order's reason: providers answered that the number is
                            ///< not with a carrier they serve (a ported number) and no
                            ///< provider is left that might serve it
};

/// True for the refusals that say "not now" rather than "not this": overloaded, unavailable
/// and shutting_down. The same request may succeed later (resubmitting is safe: the client
/// reference makes it idempotent); any other refusal will be repeated.
bool is_retryable(errc code);

/// Stable snake_case name of a code, e.g. "invalid_phone".
std::string_view to_string(errc code);

/// Parses a name produced by to_string.
std::optional<errc> errc_from_string(std::string_view name);

/// An error code with a human-readable reason, as domain functions return it.
struct failure {
  errc code = errc::none;
  std::string reason;
  /// overloaded: seconds after which submitting again may succeed; 0: no hint.
  int64_t retry_after_s = 0;

  /// "invalid_phone: 1380013800 has 10 digits, expected 11".
  std::string describe() const;
};

} // namespace topup
