#include "domain/order_json.hpp"

#include "domain/amount.hpp"
#include "domain/text.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <string>
#include <vector>

namespace topup {
namespace {

constexpr std::array<std::string_view, 3> order_keys{"client_ref", "phone", "amount_fen"};
/// Keys of the merchant API's orders, which other channels refuse.
constexpr std::array<std::string_view, 2> merchant_keys{"merchant", "notify_url"};

bool listed(std::string_view key, const std::array<std::string_view, 3>& keys) {
  return std::find(keys.begin(), keys.end(), key) != keys.end();
}

std::string quoted_key(std::string_view key) {
  return "\"" + text::printable(key, 40) + "\"";
}

failure malformed(std::string reason) {
  return {errc::malformed_message, std::move(reason)};
}

} // namespace

order_json_result parse_order_json(std::string_view text) {
  return parse_order_json(text, order_json_keys{});
}

order_json_result parse_order_json(std::string_view text, order_json_keys keys) {
  if (text.size() > max_order_json_bytes)
    return malformed("a message of " + std::to_string(text.size())
                     + " bytes; an order is at most " + std::to_string(max_order_json_bytes));
  nlohmann::json object;
  // A key given twice would silently mean its last value: "amount_fen" twice is a message
  // whose amount nobody can tell, so it is refused.
  std::string repeated_key;
  auto note_repeated_keys = [&, keys = std::vector<std::vector<std::string>>{}](
                              int, nlohmann::json::parse_event_t event,
                              nlohmann::json& parsed) mutable {
    using event_t = nlohmann::json::parse_event_t;
    if (event == event_t::object_start) {
      keys.emplace_back();
    } else if (event == event_t::object_end) {
      keys.pop_back();
    } else if (event == event_t::key) {
      auto key = parsed.get<std::string>();
      auto& seen = keys.back();
      if (std::find(seen.begin(), seen.end(), key) != seen.end() && repeated_key.empty())
        repeated_key = key;
      seen.push_back(std::move(key));
    }
    return true;
  };
  try {
    object = nlohmann::json::parse(text, note_repeated_keys);
  } catch (const nlohmann::json::exception& error) {
    // what() is "[json.exception.parse_error.101] parse error at line 1, column 7: ...";
    // a number too large for a double ("1e400") is an out_of_range error. The prefix is
    // noise for a reader, and the rest names positions and token kinds, never the text.
    std::string_view detail = error.what();
    if (auto at = detail.find("] "); at != std::string_view::npos)
      detail.remove_prefix(at + 2);
    return malformed("not JSON: " + std::string{detail});
  }
  if (!repeated_key.empty())
    return malformed("key " + quoted_key(repeated_key) + " appears twice");
  return parse_order_object(object, keys);
}

order_json_result parse_order_object(const nlohmann::json& object, order_json_keys keys) {
  if (!object.is_object())
    return malformed("expected a JSON object {\"client_ref\":...,\"phone\":...,\"amount_fen\":...}");
  order_request request;
  for (const auto& [key, value] : object.items()) {
    if (listed(key, order_keys))
      continue;
    // The optional keys each channel reads, all strings.
    std::string* optional = key == "carrier"                       ? &request.carrier
                            : keys.notify_url && key == "notify_url" ? &request.notify_url
                            : keys.merchant && key == "merchant"     ? &request.merchant
                                                                     : nullptr;
    if (optional) {
      if (!value.is_string())
        return malformed(quoted_key(key) + " must be a string");
      *optional = value.get<std::string>();
      continue;
    }
    if (std::find(merchant_keys.begin(), merchant_keys.end(), key) != merchant_keys.end())
      return failure{errc::unsupported_field,
                     keys.notify_url
                       ? quoted_key(key) + " is not part of an order: the signer is its merchant"
                       : quoted_key(key) + " is not supported here: a file's orders all belong"
                                           " to the merchant named for the whole file (topup-cli"
                                           " submit --merchant) and use its callback URL"};
    return malformed("unknown key " + quoted_key(key) + "; expected client_ref, phone, amount_fen"
                     + (keys.notify_url ? ", notify_url" : "") + (keys.merchant ? ", merchant" : "")
                     + ", carrier");
  }
  for (auto [key, into] : {std::pair{order_keys[0], &request.client_ref},
                           std::pair{order_keys[1], &request.phone}}) {
    auto it = object.find(key);
    if (it == object.end())
      return failure{errc::missing_field, "missing key " + quoted_key(key)};
    if (!it->is_string())
      return malformed(quoted_key(key) + " must be a string");
    *into = it->get<std::string>();
  }
  auto amount = object.find(order_keys[2]);
  if (amount == object.end())
    return failure{errc::missing_field, "missing key " + quoted_key(order_keys[2])};
  auto parsed = parse_json_amount(*amount);
  if (auto refused = std::get_if<failure>(&parsed))
    return failure{refused->code, quoted_key(order_keys[2]) + ": " + refused->reason};
  request.amount_fen = std::get<int64_t>(parsed);
  return request;
}

} // namespace topup
