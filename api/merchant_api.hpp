#pragma once

// The merchants' HTTP API as pure functions: which endpoint a request is for, who signed it,
// what its body says, and how every answer and error is written. No CAF and no sockets: the
// listener (actors/http_api) reads a request, calls these, asks the node, writes the answer.
//
// Every request is signed by its merchant:
//   X-Topup-Merchant:  the merchant id
//   X-Topup-Timestamp: Unix time in seconds (within the configured window of the node's clock)
//   X-Topup-Signature: lowercase hex HMAC-SHA256 under the merchant's secret of
//                      "<timestamp>\n<METHOD>\n<target>\n<body>" (target: path and query as
//                      sent, e.g. "/v1/orders?client_ref=r-1"; body empty for a GET)
// GET /v1/health, GET /v1/ready and GET /metrics need no signature (/metrics may need the
// configured metrics token instead: metrics_authorized).

#include "domain/errors.hpp"
#include "domain/merchant.hpp"
#include "domain/order.hpp"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace topup::merchant_api {

inline constexpr std::string_view merchant_header = "X-Topup-Merchant";
inline constexpr std::string_view timestamp_header = "X-Topup-Timestamp";
inline constexpr std::string_view signature_header = "X-Topup-Signature";
/// A result callback's delivery id (also in its body): the same on every attempt.
inline constexpr std::string_view delivery_header = "X-Topup-Delivery";

/// "<timestamp>\n<METHOD>\n<target>\n<body>": what a signature covers.
std::string string_to_sign(std::string_view timestamp, std::string_view method,
                           std::string_view target, std::string_view body);

/// The X-Topup-Signature of a request.
std::string sign(std::string_view secret, std::string_view timestamp, std::string_view method,
                 std::string_view target, std::string_view body);

/// The headers of a result callback POSTed to `target` (the path and query of its URL) with
/// `body`: X-Topup-Merchant, X-Topup-Timestamp (`now_s`), X-Topup-Delivery, and
/// X-Topup-Signature signed exactly like a merchant's request to the node, under the
/// merchant's secret (no signature when it has none). See README.md, "Result callbacks".
std::vector<std::pair<std::string, std::string>>
callback_headers(const merchant& to, std::string_view delivery_id, std::string_view target,
                 std::string_view body, int64_t now_s);

/// A request as authentication sees it; header values empty when absent.
struct signed_request {
  std::string_view merchant;
  std::string_view timestamp;
  std::string_view signature;
  std::string_view method;
  std::string_view target;
  std::string_view body;
};

/// The merchant who signed `request`, or `unauthenticated` (a header missing, an unknown
/// merchant or one without a secret, a timestamp that is not a number of seconds or is more
/// than `window_s` from `now_s`, a signature that does not match; compared in constant time).
/// The reasons never say which merchants exist.
std::variant<const merchant*, failure> authenticate(const merchant_directory& merchants,
                                                    const signed_request& request, int64_t now_s,
                                                    int64_t window_s);

enum class endpoint { submit, submit_batch, get_order, find_by_ref, cancel, health, ready, metrics };

struct route {
  endpoint which = endpoint::health;
  std::string order_id;    ///< get_order, cancel
  std::string client_ref;  ///< find_by_ref: percent-decoded
  /// Whether the endpoint needs a signature and, for a POST, a JSON body.
  bool signed_only() const {
    return which != endpoint::health && which != endpoint::ready && which != endpoint::metrics;
  }
  bool has_body() const { return which == endpoint::submit || which == endpoint::submit_batch; }
};

/// An answer that is an error: the HTTP status and the typed failure.
struct http_error {
  unsigned status = 400;
  failure error;
};

/// The endpoint of `method` and `target`: 404 not_found for an unknown path, 405
/// invalid_argument for a known path with another method, 400 for a malformed query.
std::variant<route, http_error> route_of(std::string_view method, std::string_view target);

/// A query value or path segment, percent-decoded ('+' is a space in a query); none when an
/// escape is malformed.
std::optional<std::string> percent_decoded(std::string_view text, bool plus_is_space);

/// Whether a GET /metrics may be answered: always without a configured token, else only
/// with `Authorization: Bearer <token>` (compared in constant time).
bool metrics_authorized(std::string_view authorization, std::string_view token);

/// Whether a Content-Type is JSON ("application/json", parameters such as charset allowed).
bool is_json_content_type(std::string_view content_type);

/// The HTTP status of a typed error: 400 bad input, 401 unknown_merchant/unauthenticated,
/// 404 not_found, 409 duplicate_reference/illegal_transition, 413 request_too_large,
/// 429 overloaded, 503 unavailable/shutting_down and other "not now" failures.
unsigned status_of(errc code);

/// The request field a failure concerns ("phone", "amount_fen", "notify_url", ...), or "".
std::string field_of(const failure& f);

/// Retry-After seconds of an overloaded answer: the failure's hint, at least 1.
int64_t retry_after_s(const failure& f);

/// {"error": {"code": "invalid_phone", "message": "...", "field": "phone"}}.
nlohmann::json error_json(const failure& f);

/// An order as the API shows it.
nlohmann::json order_json(const order& o);

/// The body a merchant POSTs for `request` (its merchant is the signer, not a field):
/// client_ref, phone, amount_fen, and notify_url and carrier when set. parse_submit reads it
/// back.
nlohmann::json request_json(const order_request& request);

/// POST /v1/orders: one order object (client_ref, phone, amount_fen, optional notify_url).
std::variant<order_request, failure> parse_submit(std::string_view body);

/// POST /v1/orders/batch: {"orders": [order, ...]} with 1 to `max_orders` orders. A body
/// that is not such an object is one failure; each order that does not parse is its own
/// failure in its place, so that the others are still submitted.
std::variant<std::vector<std::variant<order_request, failure>>, failure>
parse_batch(std::string_view body, size_t max_orders);

/// What became of one submitted order: its failure, or the stored order (new or existing).
struct order_answer {
  std::optional<failure> error;
  order stored;
  bool existing = false;
};

/// The status of one answer: 201 new, 200 the same order again, or the error's status.
unsigned status_of(const order_answer& answer);

/// The body of a single submit's answer: the order, or the error.
nlohmann::json answer_json(const order_answer& answer);

/// The batch answer: {"results": [{"status": 201, "order": {...}} | {"status": 400,
/// "error": {...}}, ...]}, one per order in the order of the request.
nlohmann::json batch_json(const std::vector<order_answer>& answers);

} // namespace topup::merchant_api
