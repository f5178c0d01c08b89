#pragma once

// The HTTP+JSON protocol between topup's HTTP provider adapter and a provider (the real one,
// or apps/topup-provider-sim). Both sides use these functions, so the two cannot drift apart.
//
//   POST <base>/recharge   {"request_id","order_id","phone","amount_fen","node","epoch"}
//     200 {"result":"success","txn":"..."}
//     200 {"result":"failed","retryable":true|false,"detail":"..."}
//     200 {"result":"failed","retryable":false,"code":"wrong_carrier","detail":"..."}
//   POST <base>/query      {"request_id","node","epoch"}
//     200 {"result":"recharged","txn":"..."} | {"result":"not_recharged"}
//
// "code":"wrong_carrier" on a failed answer: the number is not with a carrier this provider
// serves (ported away), nothing was recharged; whatever "retryable" says, the engine takes
// the order to another provider (recharge_outcome::wrong_carrier). Any other code, or none,
// is an ordinary failure.
//
// "node" and "epoch" name the caller: the node and the epoch of its lease on the provider
// ("" and 0 from a single node; optional when parsed), so that a provider's records can tell
// under which lease each call was made.
//
// Every request carries the headers X-Topup-Timestamp (wall-clock ms since the epoch) and
// X-Topup-Signature: lowercase hex HMAC-SHA256 under the provider's secret of
// "<timestamp>\n<body>". A provider refuses a bad signature with 401 and a timestamp further
// than signature_max_skew from its clock with 401 as well (replayed or forged requests).

#include "messages/protocol.hpp"

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace topup::http_wire {

/// The "code" of a failed recharge answer that says "wrong carrier".
inline constexpr const char* wrong_carrier_code = "wrong_carrier";

/// A body or URL that does not follow the protocol. what() names the field, never the phone.
class wire_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

inline constexpr std::string_view timestamp_header = "X-Topup-Timestamp";
inline constexpr std::string_view signature_header = "X-Topup-Signature";
inline constexpr std::string_view recharge_path = "/recharge";
inline constexpr std::string_view query_path = "/query";
inline constexpr std::chrono::milliseconds signature_max_skew{300000};

/// Lowercase hex HMAC-SHA256 under `secret` of timestamp + "\n" + body.
std::string sign(std::string_view secret, std::string_view timestamp, std::string_view body);

/// True when `signature` is the signature of (timestamp, body); compared in constant time.
bool verify(std::string_view secret, std::string_view timestamp, std::string_view body,
            std::string_view signature);

/// True when `timestamp` (ms since the epoch, as text) is within signature_max_skew of
/// `now_ms`; false for text that is not a number.
bool timestamp_fresh(std::string_view timestamp, int64_t now_ms);

std::string recharge_request_body(const recharge_call& call);
recharge_call parse_recharge_request(std::string_view body);

std::string query_request_body(const status_query& query);
status_query parse_query_request(std::string_view body);

std::string recharge_response_body(const recharge_reply& reply);
recharge_reply parse_recharge_response(std::string_view body);

/// query_failed is not a body: a provider that cannot answer answers 5xx or not at all.
std::string query_response_body(const query_reply& reply);
query_reply parse_query_response(std::string_view body);

/// A provider's base URL, split for a client: http:// or https://.
struct endpoint {
  std::string host;
  std::string port;         ///< "80" (http) or "443" (https) when the URL names none
  std::string path_prefix;  ///< without a trailing slash; "" for the root
  bool tls = false;         ///< https://: TLS, the certificate checked (providers/http_client)
};

/// "http://host:port" or "https://host:port" (IPv6 hosts in brackets), for logs and details.
std::string origin_of(const endpoint& where);

/// Parses "http[s]://host[:port][/prefix]"; wire_error with the reason otherwise.
endpoint parse_base_url(std::string_view url);

} // namespace topup::http_wire
