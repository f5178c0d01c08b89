#include "api/merchant_api.hpp"

#include "api/signature.hpp"
#include "domain/order_json.hpp"
#include "domain/text.hpp"

#include <algorithm>
#include <array>
#include <charconv>

namespace topup::merchant_api {
namespace {

using json = nlohmann::json;

constexpr std::string_view orders_path = "/v1/orders";

failure unauthenticated(std::string reason) {
  return {errc::unauthenticated, std::move(reason)};
}

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

http_error error_of(errc code, std::string reason) {
  return {status_of(code), failure{code, std::move(reason)}};
}

/// The order id of "/v1/orders/{id}" or "/v1/orders/{id}/cancel" (suffix given).
std::optional<std::string> order_id_in(std::string_view path, std::string_view suffix) {
  auto prefix = std::string{orders_path} + "/";
  if (!starts_with(path, prefix) || path.size() < prefix.size() + suffix.size())
    return std::nullopt;
  auto id = path.substr(prefix.size(), path.size() - prefix.size() - suffix.size());
  if (path.substr(path.size() - suffix.size()) != suffix || id.empty()
      || id.find('/') != std::string_view::npos)
    return std::nullopt;
  return percent_decoded(id, false);
}

} // namespace

std::optional<std::string> percent_decoded(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      int high = i + 1 < text.size() ? hex_value(text[i + 1]) : -1;
      int low = i + 2 < text.size() ? hex_value(text[i + 2]) : -1;
      if (high < 0 || low < 0)
        return std::nullopt;
      out.push_back(static_cast<char>(high * 16 + low));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string string_to_sign(std::string_view timestamp, std::string_view method,
                           std::string_view target, std::string_view body) {
  std::string message;
  message.reserve(timestamp.size() + method.size() + target.size() + body.size() + 3);
  message.append(timestamp).append("\n").append(method).append("\n").append(target).append("\n");
  message.append(body);
  return message;
}

std::string sign(std::string_view secret, std::string_view timestamp, std::string_view method,
                 std::string_view target, std::string_view body) {
  return signature::hmac_sha256_hex(secret, string_to_sign(timestamp, method, target, body));
}

std::vector<std::pair<std::string, std::string>>
callback_headers(const merchant& to, std::string_view delivery_id, std::string_view target,
                 std::string_view body, int64_t now_s) {
  auto timestamp = std::to_string(now_s);
  std::vector<std::pair<std::string, std::string>> headers{
    {std::string{merchant_header}, to.id},
    {std::string{timestamp_header}, timestamp},
    {std::string{delivery_header}, std::string{delivery_id}}};
  if (!to.secret.empty())
    headers.emplace_back(std::string{signature_header},
                         sign(to.secret, timestamp, "POST", target, body));
  return headers;
}

std::variant<const merchant*, failure> authenticate(const merchant_directory& merchants,
                                                    const signed_request& request, int64_t now_s,
                                                    int64_t window_s) {
  for (auto [name, value] : {std::pair{merchant_header, request.merchant},
                             std::pair{timestamp_header, request.timestamp},
                             std::pair{signature_header, request.signature}})
    if (value.empty())
      return unauthenticated("missing header " + std::string{name});
  const merchant* signer = merchants.find(request.merchant);
  // One answer for an unknown merchant and a wrong signature: the reason does not tell a
  // prober which merchant ids exist.
  auto bad_signature = unauthenticated("the signature does not match (unknown merchant or"
                                       " wrong secret)");
  if (!signer || signer->secret.empty())
    return bad_signature;
  int64_t sent_s = 0;
  auto [end, error] = std::from_chars(request.timestamp.data(),
                                      request.timestamp.data() + request.timestamp.size(), sent_s);
  if (error != std::errc{} || end != request.timestamp.data() + request.timestamp.size())
    return unauthenticated(std::string{timestamp_header} + " must be Unix time in seconds");
  auto skew = sent_s > now_s ? sent_s - now_s : now_s - sent_s;
  if (sent_s < 0 || skew > window_s)
    return unauthenticated(std::string{timestamp_header} + " is " + std::to_string(skew)
                           + " s away from the node's clock; at most "
                           + std::to_string(window_s) + " s are accepted");
  auto expected = sign(signer->secret, request.timestamp, request.method, request.target,
                       request.body);
  if (!signature::equal_in_constant_time(expected, request.signature))
    return bad_signature;
  return signer;
}

std::variant<route, http_error> route_of(std::string_view method, std::string_view target) {
  auto query_start = target.find('?');
  auto path = target.substr(0, query_start);
  auto query = query_start == std::string_view::npos ? std::string_view{}
                                                     : target.substr(query_start + 1);
  auto only = [&](std::string_view wanted, route r) -> std::variant<route, http_error> {
    if (method != wanted)
      return http_error{405, {errc::invalid_argument,
                              std::string{path} + " accepts " + std::string{wanted} + " only"}};
    return r;
  };
  if (path == "/v1/health")
    return only("GET", {endpoint::health, "", ""});
  if (path == "/v1/ready")
    return only("GET", {endpoint::ready, "", ""});
  if (path == "/metrics")
    return only("GET", {endpoint::metrics, "", ""});
  if (path == "/v1/orders/batch")
    return only("POST", {endpoint::submit_batch, "", ""});
  if (path == orders_path) {
    if (method == "POST")
      return route{endpoint::submit, "", ""};
    if (method != "GET")
      return http_error{405, {errc::invalid_argument, "/v1/orders accepts GET and POST only"}};
    constexpr std::string_view key = "client_ref=";
    if (!starts_with(query, key) || query.find('&') != std::string_view::npos)
      return error_of(errc::missing_field,
                      "client_ref: GET /v1/orders needs exactly ?client_ref=REF");
    auto ref = percent_decoded(query.substr(key.size()), true);
    if (!ref)
      return error_of(errc::malformed_message, "client_ref: a malformed percent escape");
    if (ref->empty())
      return error_of(errc::missing_field, "client_ref is empty");
    return route{endpoint::find_by_ref, "", std::move(*ref)};
  }
  if (auto id = order_id_in(path, "/cancel"))
    return only("POST", {endpoint::cancel, std::move(*id), ""});
  if (auto id = order_id_in(path, ""))
    return only("GET", {endpoint::get_order, std::move(*id), ""});
  return error_of(errc::not_found, "no endpoint " + text::printable(path, 80));
}

bool metrics_authorized(std::string_view authorization, std::string_view token) {
  if (token.empty())
    return true;
  constexpr std::string_view scheme = "Bearer ";
  return starts_with(authorization, scheme)
         && signature::equal_in_constant_time(token, authorization.substr(scheme.size()));
}

bool is_json_content_type(std::string_view content_type) {
  auto media = content_type.substr(0, content_type.find(';'));
  while (!media.empty() && media.back() == ' ')
    media.remove_suffix(1);
  std::string lower{media};
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) {
    return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  });
  return lower == "application/json";
}

unsigned status_of(errc code) {
  switch (code) {
    case errc::none: return 200;
    case errc::unknown_merchant:
    case errc::unauthenticated: return 401;
    case errc::not_found: return 404;
    case errc::duplicate_reference:
    case errc::illegal_transition: return 409;
    case errc::request_too_large: return 413;
    case errc::overloaded: return 429;
    case errc::unavailable:
    case errc::shutting_down:
    case errc::stale_owner:
    case errc::outcome_unknown: return 503;
    case errc::invalid_phone:
    case errc::unknown_carrier:
    case errc::unsupported_amount:
    case errc::field_too_long:
    case errc::missing_field:
    case errc::invalid_argument:
    case errc::invalid_text:
    case errc::invalid_amount:
    case errc::malformed_message:
    case errc::unsupported_field:
    case errc::invalid_notify_url:
    case errc::wrong_carrier: return 400;
  }
  return 400;
}

std::string field_of(const failure& f) {
  switch (f.code) {
    case errc::invalid_phone: return "phone";
    // The carrier the order named, or else the one of the phone's prefix.
    case errc::unknown_carrier: return f.reason.rfind("carrier", 0) == 0 ? "carrier" : "phone";
    case errc::unsupported_amount:
    case errc::invalid_amount: return "amount_fen";
    case errc::duplicate_reference: return "client_ref";
    case errc::invalid_notify_url: return "notify_url";
    case errc::unknown_merchant:
    case errc::unauthenticated: return std::string{merchant_header};
    default: break;
  }
  // Reasons of the other input errors begin with the field, bare or quoted ("phone is
  // empty", "\"amount_fen\": ...", "missing key \"client_ref\"").
  static constexpr std::array<std::string_view, 7> fields{
    "client_ref", "phone", "amount_fen", "notify_url", "merchant", "carrier", "orders"};
  size_t first = std::string::npos;
  std::string found;
  for (auto field : fields) {
    auto at = f.reason.find(field);
    if (at != std::string::npos && at < first) {
      first = at;
      found = field;
    }
  }
  return found;
}

int64_t retry_after_s(const failure& f) {
  return std::max<int64_t>(1, f.retry_after_s);
}

json error_json(const failure& f) {
  return {{"error",
           {{"code", std::string{to_string(f.code)}},
            {"message", f.reason},
            {"field", field_of(f)}}}};
}

json order_json(const order& o) {
  return {{"id", o.id},
          {"merchant", o.merchant},
          {"client_ref", o.client_ref},
          {"phone", o.phone},
          {"amount_fen", o.amount_fen},
          {"carrier", o.carrier},
          {"status", std::string{to_string(o.status)}},
          {"notify_url", o.notify_url},
          {"provider", o.provider},
          {"attempts", o.attempts},
          {"accepted_at_ms", o.accepted_at_ms},
          {"deadline_ms", o.deadline_ms},
          {"updated_at_ms", o.updated_at_ms},
          {"last_error", o.last_error}};
}

json request_json(const order_request& request) {
  json body{{"client_ref", request.client_ref},
            {"phone", request.phone},
            {"amount_fen", request.amount_fen}};
  if (!request.notify_url.empty())
    body["notify_url"] = request.notify_url;
  if (!request.carrier.empty())
    body["carrier"] = request.carrier;
  return body;
}

std::variant<order_request, failure> parse_submit(std::string_view body) {
  auto parsed = parse_order_json(body, order_json_keys{true});
  if (auto f = std::get_if<failure>(&parsed))
    return *f;
  return std::get<order_request>(parsed);
}

std::variant<std::vector<std::variant<order_request, failure>>, failure>
parse_batch(std::string_view body, size_t max_orders) {
  auto document = json::parse(body.begin(), body.end(), nullptr, false);
  if (document.is_discarded())
    return failure{errc::malformed_message, "not JSON"};
  if (!document.is_object() || document.size() != 1 || !document.contains("orders"))
    return failure{errc::malformed_message, "expected {\"orders\": [...]}"};
  const auto& list = document["orders"];
  if (!list.is_array())
    return failure{errc::malformed_message, "\"orders\" must be an array"};
  if (list.empty())
    return failure{errc::invalid_argument, "orders: a batch needs at least one order"};
  if (list.size() > max_orders)
    return failure{errc::invalid_argument, "orders: " + std::to_string(list.size())
                                             + " orders; a batch holds at most "
                                             + std::to_string(max_orders)};
  std::vector<std::variant<order_request, failure>> orders;
  orders.reserve(list.size());
  for (const auto& element : list) {
    auto parsed = parse_order_object(element, order_json_keys{true});
    if (auto f = std::get_if<failure>(&parsed))
      orders.emplace_back(*f);
    else
      orders.emplace_back(std::move(std::get<order_request>(parsed)));
  }
  return orders;
}

unsigned status_of(const order_answer& answer) {
  if (answer.error)
    return status_of(answer.error->code);
  return answer.existing ? 200 : 201;
}

json answer_json(const order_answer& answer) {
  return answer.error ? error_json(*answer.error) : order_json(answer.stored);
}

json batch_json(const std::vector<order_answer>& answers) {
  auto results = json::array();
  for (const auto& answer : answers) {
    json entry{{"status", status_of(answer)}};
    if (answer.error)
      entry["error"] = error_json(*answer.error)["error"];
    else
      entry["order"] = order_json(answer.stored);
    results.push_back(std::move(entry));
  }
  return {{"results", std::move(results)}};
}

} // namespace topup::merchant_api
