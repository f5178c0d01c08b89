#include "providers/http_wire.hpp"

#include "api/signature.hpp"

#include "domain/amount.hpp"
#include "domain/host_port.hpp"

#include <nlohmann/json.hpp>

#include <charconv>

namespace topup::http_wire {
namespace {

using json = nlohmann::json;

json parse_object(std::string_view body, const char* what) {
  auto parsed = json::parse(body.begin(), body.end(), nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object())
    throw wire_error(std::string{what} + ": body is not a JSON object");
  return parsed;
}

std::string string_field(const json& object, const char* what, const char* key) {
  auto found = object.find(key);
  if (found == object.end() || !found->is_string())
    throw wire_error(std::string{what} + ": \"" + key + "\" must be a string");
  return found->get<std::string>();
}

std::string optional_string(const json& object, const char* key) {
  auto found = object.find(key);
  return found != object.end() && found->is_string() ? found->get<std::string>() : std::string{};
}

} // namespace

std::string sign(std::string_view secret, std::string_view timestamp, std::string_view body) {
  std::string message;
  message.reserve(timestamp.size() + 1 + body.size());
  message.append(timestamp).append("\n").append(body);
  return signature::hmac_sha256_hex(secret, message);
}

bool verify(std::string_view secret, std::string_view timestamp, std::string_view body,
            std::string_view given) {
  return signature::equal_in_constant_time(sign(secret, timestamp, body), given);
}

bool timestamp_fresh(std::string_view timestamp, int64_t now_ms) {
  int64_t sent_ms = 0;
  auto [end, error] = std::from_chars(timestamp.data(), timestamp.data() + timestamp.size(),
                                      sent_ms);
  if (error != std::errc{} || end != timestamp.data() + timestamp.size())
    return false;
  auto skew = sent_ms > now_ms ? sent_ms - now_ms : now_ms - sent_ms;
  return skew <= signature_max_skew.count();
}

namespace {

/// The caller's node and epoch; both optional, for callers that do not send them.
call_origin parse_origin(const json& object, const char* what) {
  call_origin origin;
  origin.node = optional_string(object, "node");
  if (auto epoch = object.find("epoch"); epoch != object.end()) {
    if (!epoch->is_number_integer())
      throw wire_error(std::string{what} + ": \"epoch\" must be an integer");
    origin.epoch = epoch->get<int64_t>();
  }
  return origin;
}

/// A request's body: its own fields and the caller's node and epoch.
std::string request_body(json fields, const call_origin& origin) {
  fields["node"] = origin.node;
  fields["epoch"] = origin.epoch;
  return fields.dump();
}

} // namespace

std::string recharge_request_body(const recharge_call& call) {
  return request_body({{"request_id", call.request_id},
                       {"order_id", call.order_id},
                       {"phone", call.phone},
                       {"amount_fen", call.amount_fen}},
                      call.origin);
}

recharge_call parse_recharge_request(std::string_view body) {
  const char* what = "recharge request";
  auto object = parse_object(body, what);
  recharge_call call;
  call.request_id = string_field(object, what, "request_id");
  call.order_id = string_field(object, what, "order_id");
  call.phone = string_field(object, what, "phone");
  auto amount = object.find("amount_fen");
  if (amount == object.end())
    throw wire_error("recharge request: \"amount_fen\" is missing");
  // The one amount parser: a huge unsigned number must not wrap into a negative amount.
  auto parsed = parse_json_amount(*amount);
  if (auto refused = std::get_if<failure>(&parsed))
    throw wire_error("recharge request: \"amount_fen\": " + refused->describe());
  call.amount_fen = std::get<int64_t>(parsed);
  call.origin = parse_origin(object, what);
  return call;
}

std::string query_request_body(const status_query& query) {
  return request_body({{"request_id", query.request_id}}, query.origin);
}

status_query parse_query_request(std::string_view body) {
  const char* what = "query request";
  auto object = parse_object(body, what);
  return {string_field(object, what, "request_id"), parse_origin(object, what)};
}

std::string recharge_response_body(const recharge_reply& reply) {
  switch (reply.outcome) {
    case recharge_outcome::success:
      return json{{"result", "success"}, {"txn", reply.provider_txn}}.dump();
    case recharge_outcome::wrong_carrier:
      return json{{"result", "failed"},
                  {"retryable", false},
                  {"code", wrong_carrier_code},
                  {"detail", reply.detail}}
        .dump();
    case recharge_outcome::transient_failure:
    case recharge_outcome::permanent_failure:
      break;
  }
  return json{{"result", "failed"},
              {"retryable", reply.outcome == recharge_outcome::transient_failure},
              {"detail", reply.detail}}
    .dump();
}

recharge_reply parse_recharge_response(std::string_view body) {
  const char* what = "recharge response";
  auto object = parse_object(body, what);
  auto result = string_field(object, what, "result");
  if (result == "success")
    return {recharge_outcome::success, string_field(object, what, "txn"), std::string{}};
  if (result == "failed") {
    if (optional_string(object, "code") == wrong_carrier_code)
      return {recharge_outcome::wrong_carrier, std::string{}, optional_string(object, "detail")};
    auto retryable = object.find("retryable");
    if (retryable == object.end() || !retryable->is_boolean())
      throw wire_error("recharge response: \"retryable\" must be a boolean");
    return {retryable->get<bool>() ? recharge_outcome::transient_failure
                                   : recharge_outcome::permanent_failure,
            std::string{}, optional_string(object, "detail")};
  }
  throw wire_error("recharge response: unknown result \"" + result + "\"");
}

std::string query_response_body(const query_reply& reply) {
  switch (reply.outcome) {
    case query_outcome::recharged:
      return json{{"result", "recharged"}, {"txn", reply.provider_txn}}.dump();
    case query_outcome::not_recharged:
      return json{{"result", "not_recharged"}}.dump();
    case query_outcome::query_failed:
      break;
  }
  throw std::invalid_argument("query_failed has no response body");
}

query_reply parse_query_response(std::string_view body) {
  const char* what = "query response";
  auto object = parse_object(body, what);
  auto result = string_field(object, what, "result");
  if (result == "recharged")
    return {query_outcome::recharged, string_field(object, what, "txn"), std::string{}};
  if (result == "not_recharged")
    return {query_outcome::not_recharged, std::string{}, std::string{}};
  throw wire_error("query response: unknown result \"" + result + "\"");
}

std::string origin_of(const endpoint& where) {
  return std::string{where.tls ? "https://" : "http://"}
         + host_port{where.host, static_cast<uint16_t>(std::stoul(where.port))}.to_string();
}

endpoint parse_base_url(std::string_view url) {
  constexpr std::string_view plain = "http://", secure = "https://";
  endpoint result;
  result.tls = url.substr(0, secure.size()) == secure;
  if (!result.tls && url.substr(0, plain.size()) != plain)
    throw wire_error("base URL must start with http:// or https:// (got \"" + std::string{url}
                     + "\")");
  auto rest = url.substr(result.tls ? secure.size() : plain.size());
  auto slash = rest.find('/');
  auto authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) {
    result.path_prefix = std::string{rest.substr(slash)};
    while (!result.path_prefix.empty() && result.path_prefix.back() == '/')
      result.path_prefix.pop_back();
  }
  auto address = parse_host_port(authority, {static_cast<uint16_t>(result.tls ? 443 : 80)});
  if (!address)
    throw wire_error("base URL \"" + std::string{url} + "\": " + address.error);
  result.host = address.address->host;
  result.port = std::to_string(address.address->port);
  return result;
}

} // namespace topup::http_wire
