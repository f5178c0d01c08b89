#include "domain/log_line.hpp"

#include "domain/civil_time.hpp"
#include "domain/order.hpp"

#include <nlohmann/json.hpp>

namespace topup::log_line {
namespace {

constexpr size_t phone_digits = 11;
constexpr std::string_view order_marker = "order=";

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

} // namespace

std::string mask_phone_numbers(std::string_view text) {
  std::string masked;
  masked.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    if (!is_digit(text[i])) {
      masked += text[i++];
      continue;
    }
    auto end = i;
    while (end < text.size() && is_digit(text[end]))
      ++end;
    auto run = text.substr(i, end - i);
    if (run.size() == phone_digits && run.front() == '1')
      masked += mask_phone(run);
    else
      masked += run;
    i = end;
  }
  return masked;
}

std::optional<std::string_view> order_id_of(std::string_view message) {
  for (auto at = message.find(order_marker); at != std::string_view::npos;
       at = message.find(order_marker, at + 1)) {
    // "reorder=" is not the marker: it starts the message or follows a blank or '('.
    if (at > 0 && message[at - 1] != ' ' && message[at - 1] != '(')
      continue;
    auto id = message.substr(at + order_marker.size());
    id = id.substr(0, id.find_first_of(" \t,;)"));
    if (!id.empty())
      return id;
  }
  return std::nullopt;
}

std::string_view component_of(std::string_view message) {
  auto word = message.substr(0, message.find(' '));
  if (!word.empty() && word.back() == ':')
    word.remove_suffix(1);
  if (word.empty())
    return {};
  for (char c : word)
    if (!((c >= 'a' && c <= 'z') || is_digit(c) || c == '_' || c == '-'))
      return {};
  return word;
}

std::string json_of(const record& r) {
  nlohmann::json line{{"time", format_rfc3339_utc(r.time_ms)},
                      {"level", std::string{r.level}},
                      {"logger", std::string{r.logger}}};
  if (auto component = component_of(r.message); !component.empty())
    line["component"] = std::string{component};
  line["message"] = mask_phone_numbers(r.message);
  if (auto id = order_id_of(r.message))
    line["order_id"] = mask_phone_numbers(*id);
  return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

} // namespace topup::log_line
