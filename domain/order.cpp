#include "domain/order.hpp"

#include "domain/text.hpp"

#include <algorithm>
#include <stdexcept>

namespace topup {

std::string_view to_string(order_status status) {
  switch (status) {
    case order_status::accepted: return "accepted";
    case order_status::dispatched: return "dispatched";
    case order_status::succeeded: return "succeeded";
    case order_status::failed: return "failed";
    case order_status::unknown: return "unknown";
  }
  return "invalid";
}

std::optional<order_status> order_status_from_string(std::string_view name) {
  for (auto status : all_order_statuses)
    if (to_string(status) == name)
      return status;
  return std::nullopt;
}

bool is_final(order_status status) {
  return status == order_status::succeeded || status == order_status::failed;
}

bool order::same_content(const order_request& request) const {
  return client_ref == request.client_ref && phone == request.phone
         && amount_fen == request.amount_fen && merchant == request.merchant
         && notify_url == request.notify_url
         && (request.carrier.empty() || carrier == request.carrier);
}

bool failed_at_deadline(std::string_view last_error) {
  auto starts_with = [&](std::string_view prefix) {
    return last_error.substr(0, prefix.size()) == prefix;
  };
  return starts_with(deadline_reached) || starts_with(no_time_to_retry);
}

void anchor_deadline(order& o, const clock& time) {
  if (!o.steady_deadline)
    o.steady_deadline = steady_time_of(o.deadline_ms, time);
}

mono_time steady_deadline_of(const order& o) {
  if (!o.steady_deadline)
    throw std::logic_error("order " + o.id + " has no steady deadline");
  return *o.steady_deadline;
}

std::string stored_provider_entry(std::string_view provider) {
  std::string entry{provider};
  entry += '\n';
  return entry;
}

std::string encode_provider_list(const std::vector<std::string>& providers) {
  std::string stored;
  for (const auto& provider : providers)
    stored += stored_provider_entry(provider);
  return stored;
}

std::vector<std::string> decode_provider_list(std::string_view stored) {
  std::vector<std::string> providers;
  while (!stored.empty()) {
    auto end = stored.find('\n');
    if (end == std::string_view::npos)
      end = stored.size();
    if (end > 0)
      providers.emplace_back(stored.substr(0, end));
    stored.remove_prefix(std::min(end + 1, stored.size()));
  }
  return providers;
}

std::string mask_phone(std::string_view phone) {
  // Counted in characters, never bytes: a number typed in full-width digits (or anything
  // else a client sends) is masked without cutting a character in two.
  constexpr size_t shown_first = 3;
  constexpr size_t shown_last = 4;
  auto length = text::characters(phone);
  if (length <= shown_first + shown_last)
    return std::string(length, '*');
  auto head = text::first_characters(phone, shown_first);
  auto tail = phone.substr(text::first_characters(phone, length - shown_last).size());
  return text::printable(head) + std::string(length - shown_first - shown_last, '*')
         + text::printable(tail);
}

std::string mask_phone_in(std::string text, std::string_view phone) {
  if (phone.empty())
    return text;
  auto masked = mask_phone(phone);
  for (auto at = text.find(phone); at != std::string::npos;
       at = text.find(phone, at + masked.size()))
    text.replace(at, phone.size(), masked);
  return text;
}

} // namespace topup
