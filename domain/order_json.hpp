#pragma once

// An order written as one JSON object: a line of topup-cli's JSON-lines input and a message
// a producer pushes to the Redis list or the RabbitMQ queue the node consumes. One reading
// for both, so that a message means in a queue what it means in a file, with typed errors a
// dead letter can carry. Only the syntax is checked here; whether the reference, the phone
// number and the amount are acceptable is intake's decision (domain/validation).

#include "domain/errors.hpp"
#include "domain/order.hpp"

#include <nlohmann/json_fwd.hpp>

#include <cstddef>
#include <string_view>
#include <variant>

namespace topup {

/// The longest order text read at all: a valid order is well below 2 KiB (a reference of
/// at most 1024 bytes, a phone number of 32 characters and an amount), so anything longer is
/// refused before it is parsed.
constexpr size_t max_order_json_bytes = 16 * 1024;

using order_json_result = std::variant<order_request, failure>;

/// Reads `{"client_ref": "...", "phone": "...", "amount_fen": 1000}` (keys in any order,
/// white space as JSON allows), and the optional "carrier" (a string: the carrier of a
/// number ported away from its prefix's; intake checks it is configured). Refused, with the
/// first problem found:
/// - malformed_message: more than max_order_json_bytes; not JSON (including text that is not
///   valid UTF-8 inside a string); not an object; a key given twice (which value would count?);
///   a key other than the four above (named in the reason, so a typo like "amount" is found
///   at once rather than ignored); client_ref, phone or carrier not a JSON string;
/// - unsupported_field: "merchant" or "notify_url" where the channel does not read them (see
///   order_json_keys). They are refused, not ignored: an order meant for one merchant must
///   not be accepted as another's, nor wait for a callback that will never come;
/// - missing_field: one of the three keys absent;
/// - invalid_amount: amount_fen not a JSON number read by parse_json_amount (domain/amount).
/// Reasons name keys and never echo a value of the order (a phone number must not reach a
/// dead letter's reason or a log line); key names are shown with text::printable.
order_json_result parse_order_json(std::string_view text);

/// Which keys an order object may have beyond client_ref, phone and amount_fen.
struct order_json_keys {
  /// The merchant API: "notify_url" (a string) is read into the request; "merchant" stays
  /// refused (unsupported_field: the merchant is the one who signed the request).
  bool notify_url = false;
  /// The queue ingresses: "merchant" (a string) is read into the request too. The broker is the
  /// operator's own, so its messages may name any configured merchant; intake refuses an
  /// unknown one (unknown_merchant) and a notify_url outside that merchant's prefixes.
  bool merchant = false;
};

/// The keys of an order taken from a Redis list or a RabbitMQ queue.
constexpr order_json_keys queue_order_keys{true, true};

/// parse_order_json of one order object already parsed (an element of a batch), with `keys`.
order_json_result parse_order_object(const nlohmann::json& object, order_json_keys keys);

/// parse_order_json with `keys`.
order_json_result parse_order_json(std::string_view text, order_json_keys keys);

} // namespace topup
