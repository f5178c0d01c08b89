#include "domain/queue_ingress.hpp"

#include "domain/order_json.hpp"
#include "domain/text.hpp"

#include <boost/archive/iterators/base64_from_binary.hpp>
#include <boost/archive/iterators/transform_width.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>

namespace topup {

std::string_view to_string(message_fate fate) {
  switch (fate) {
    case message_fate::done: return "done";
    case message_fate::dead_letter: return "dead_letter";
    case message_fate::retry: return "retry";
  }
  return "retry";
}

message_fate fate_of(const std::optional<failure>& refusal) {
  if (!refusal)
    return message_fate::done;
  return is_retryable(refusal->code) ? message_fate::retry : message_fate::dead_letter;
}

ingress_batch::ingress_batch(const std::vector<std::string>& messages) {
  parse_failures_.reserve(messages.size());
  requests_.reserve(messages.size());
  for (const auto& message : messages) {
    auto parsed = parse_order_json(message, queue_order_keys);
    if (auto refused = std::get_if<failure>(&parsed)) {
      parse_failures_.emplace_back(std::move(*refused));
      continue;
    }
    parse_failures_.emplace_back(std::nullopt);
    requests_.push_back(std::move(std::get<order_request>(parsed)));
  }
}

std::vector<message_outcome>
ingress_batch::settle(const std::vector<std::optional<failure>>& answers) const {
  if (answers.size() != requests_.size())
    return unanswered({errc::unavailable, "intake answered " + std::to_string(answers.size())
                                            + " results for " + std::to_string(requests_.size())
                                            + " orders"});
  std::vector<message_outcome> outcomes;
  outcomes.reserve(parse_failures_.size());
  auto answer = answers.begin();
  for (const auto& parse_failure : parse_failures_) {
    if (parse_failure) {
      outcomes.push_back({message_fate::dead_letter, *parse_failure});
      continue;
    }
    const auto& refusal = *answer++;
    outcomes.push_back({fate_of(refusal), refusal ? *refusal : failure{}});
  }
  return outcomes;
}

std::vector<message_outcome> ingress_batch::unanswered(const failure& why) const {
  std::vector<message_outcome> outcomes;
  outcomes.reserve(parse_failures_.size());
  for (const auto& parse_failure : parse_failures_)
    outcomes.push_back(parse_failure ? message_outcome{message_fate::dead_letter, *parse_failure}
                                     : message_outcome{message_fate::retry, why});
  return outcomes;
}

fate_counts count_fates(const std::vector<message_outcome>& outcomes) {
  fate_counts counts;
  for (const auto& outcome : outcomes) {
    switch (outcome.fate) {
      case message_fate::done: ++counts.done; break;
      case message_fate::dead_letter: ++counts.dead_letters; break;
      case message_fate::retry: ++counts.retries; break;
    }
  }
  return counts;
}

namespace {

std::string base64(std::string_view bytes) {
  using namespace boost::archive::iterators;
  using encoder = base64_from_binary<transform_width<std::string_view::const_iterator, 6, 8>>;
  std::string encoded{encoder{bytes.begin()}, encoder{bytes.end()}};
  encoded.append((3 - bytes.size() % 3) % 3, '=');
  return encoded;
}

} // namespace

std::string dead_letter_json(std::string_view message, const failure& why, std::string_view node,
                             int64_t at_ms) {
  nlohmann::json entry;
  if (text::first_invalid_byte(message))
    entry["message_base64"] = base64(message);
  else
    entry["message"] = std::string{message};
  entry["error"] = std::string{to_string(why.code)};
  // Reasons are built from printable pieces; replace anything else rather than fail.
  entry["reason"] = text::printable(why.reason, 1000);
  entry["node"] = std::string{node};
  entry["at_ms"] = at_ms;
  return entry.dump();
}

std::vector<std::pair<std::string, std::string>>
dead_letter_headers(const failure& why, std::string_view node, int64_t at_ms) {
  return {
    {"x-topup-error", std::string{to_string(why.code)}},
    {"x-topup-reason", text::printable(why.reason, 1000)},
    {"x-topup-node", std::string{node}},
    {"x-topup-at-ms", std::to_string(at_ms)},
  };
}

std::vector<std::pair<std::string, std::string>> result_fields(const order& o) {
  return {
    {"client_ref", o.client_ref},
    {"order_id", o.id},
    {"status", std::string{to_string(o.status)}},
    {"amount_fen", std::to_string(o.amount_fen)},
    {"carrier", o.carrier},
    {"provider", o.provider},
    {"error", o.last_error},
    {"accepted_at_ms", std::to_string(o.accepted_at_ms)},
    {"finished_at_ms", std::to_string(o.updated_at_ms)},
  };
}

std::string result_json(const order& o) {
  nlohmann::ordered_json object;
  object["client_ref"] = o.client_ref;
  object["order_id"] = o.id;
  object["status"] = std::string{to_string(o.status)};
  object["amount_fen"] = o.amount_fen;
  object["carrier"] = o.carrier;
  object["provider"] = o.provider;
  object["error"] = o.last_error;
  object["accepted_at_ms"] = o.accepted_at_ms;
  object["finished_at_ms"] = o.updated_at_ms;
  // Stored text passed intake's UTF-8 checks; an error text from a provider may not have.
  return object.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

bool wants_result(const order& o, std::string_view ingress) {
  return is_final(o.status) && o.ingress == ingress;
}

int64_t result_resume_point(int64_t previous, int64_t now_ms,
                            std::optional<int64_t> oldest_unwritten_ms, int64_t margin_ms) {
  auto oldest = oldest_unwritten_ms ? std::min(*oldest_unwritten_ms, now_ms) : now_ms;
  return std::max(previous, oldest - margin_ms);
}

std::optional<std::string> check_name_template(std::string_view text,
                                               const std::vector<std::string_view>& placeholders) {
  for (size_t pos = 0; pos < text.size(); ++pos) {
    if (text[pos] == '}')
      return "a '}' at position " + std::to_string(pos) + " closes no placeholder";
    if (text[pos] != '{')
      continue;
    auto close = text.find('}', pos);
    if (close == std::string_view::npos)
      return "the '{' at position " + std::to_string(pos) + " is not closed";
    auto name = text.substr(pos + 1, close - pos - 1);
    if (std::find(placeholders.begin(), placeholders.end(), name) == placeholders.end()) {
      std::string known;
      for (auto placeholder : placeholders)
        known += (known.empty() ? "{" : ", {") + std::string{placeholder} + "}";
      return "unknown placeholder {" + text::printable(name, 40) + "}; known: " + known;
    }
    pos = close;
  }
  return std::nullopt;
}

std::string expand_name_template(std::string_view text,
                                 const std::function<std::string(std::string_view)>& value) {
  std::string out;
  out.reserve(text.size() + 32);
  for (size_t pos = 0; pos < text.size();) {
    auto open = text.find('{', pos);
    if (open == std::string_view::npos) {
      out.append(text.substr(pos));
      break;
    }
    auto close = text.find('}', open);
    if (close == std::string_view::npos) {
      out.append(text.substr(pos));
      break;
    }
    out.append(text.substr(pos, open - pos));
    out += value(text.substr(open + 1, close - open - 1));
    pos = close + 1;
  }
  return out;
}

std::string expand_result_template(std::string_view text, const order& o) {
  return expand_name_template(text, [&](std::string_view name) -> std::string {
    if (name == "client_ref")
      return o.client_ref;
    if (name == "order_id")
      return o.id;
    if (name == "status")
      return std::string{to_string(o.status)};
    if (name == "merchant")
      return o.merchant;
    return {};
  });
}

} // namespace topup
