#include "domain/merchant_callback.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>

namespace topup {

std::optional<int64_t> next_callback_attempt_ms(const callback_schedule& schedule,
                                                uint32_t failed_attempts, int64_t due_at_ms,
                                                int64_t now_ms, double random_unit) {
  auto index = failed_attempts == 0 ? 0 : failed_attempts - 1;
  auto wait = index < schedule.retry_after.size() ? schedule.retry_after[index]
                                                  : schedule.repeat_every;
  auto unit = std::clamp(random_unit, 0.0, 1.0);
  auto stretch = 1.0 + schedule.jitter * (2.0 * unit - 1.0);
  auto next = now_ms + static_cast<int64_t>(static_cast<double>(wait.count()) * stretch);
  if (next - due_at_ms > schedule.give_up_after.count())
    return std::nullopt;
  return next;
}

std::string_view to_string(callback_state state) {
  switch (state) {
    case callback_state::pending: return "pending";
    case callback_state::delivered: return "delivered";
    case callback_state::abandoned: return "abandoned";
  }
  return "pending";
}

callback_attempt callback_attempt_outcome(const callback_delivery& delivery,
                                          const callback_schedule& schedule, std::string_view ack,
                                          int64_t now_ms, unsigned http_status,
                                          std::string_view body, std::string error,
                                          double random_unit) {
  callback_attempt attempt;
  attempt.delivery_id = delivery.delivery_id;
  attempt.at_ms = now_ms;
  attempt.http_status = http_status;
  if (error.empty() && callback_acknowledged(http_status, body, ack)) {
    attempt.state = callback_state::delivered;
    return attempt;
  }
  if (error.empty())
    error = http_status >= 200 && http_status <= 299
              ? "answered " + std::to_string(http_status) + " without the acknowledgement"
              : "answered " + std::to_string(http_status);
  attempt.error = std::move(error);
  auto next = next_callback_attempt_ms(schedule, delivery.attempts + 1, delivery.due_at_ms,
                                       now_ms, random_unit);
  attempt.state = next ? callback_state::pending : callback_state::abandoned;
  attempt.next_attempt_at_ms = next.value_or(now_ms);
  return attempt;
}

bool notifies_merchant(order_status from, order_status to) {
  if (is_final(to))
    return true;
  return to == order_status::unknown && from != order_status::unknown;
}

std::string callback_delivery_id(std::string_view order_id, order_status status) {
  std::string id{order_id};
  id += ':';
  id += to_string(status);
  return id;
}

std::string callback_destination(const merchant_directory& merchants, const order& o) {
  if (!o.notify_url.empty())
    return o.notify_url;
  if (const auto* owner = merchants.find(o.merchant))
    return owner->callback_url;
  return {};
}

bool any_callback_destinations(const merchant_directory& merchants) {
  return std::any_of(merchants.all().begin(), merchants.all().end(), [](const auto& entry) {
    return !entry.second.callback_url.empty() || !entry.second.callback_prefixes.empty();
  });
}

std::vector<undeliverable_callbacks>
undeliverable(const merchant_directory& merchants,
              const std::map<std::string, uint64_t>& pending_by_merchant) {
  std::vector<undeliverable_callbacks> held;
  for (const auto& [id, pending] : pending_by_merchant) {
    const auto* known = merchants.find(id);
    if (pending == 0
        || (known && (!known->callback_url.empty() || !known->callback_prefixes.empty())))
      continue;
    held.push_back({id, pending, known != nullptr});
  }
  return held;
}

std::string describe(const undeliverable_callbacks& held) {
  return std::to_string(held.pending) + " pending result callback(s) of merchant " + held.merchant
         + (held.listed ? ", which has no callback_url or allowed_callback_prefixes any more"
                        : ", which is not in the configuration any more")
         + ", are kept in the outbox and not sent; configure the merchant (with its secret) "
           "again to deliver them (topup-cli deliveries ORDER_ID lists an order's)";
}

std::string callback_body(const order& o, std::string_view provider_txn) {
  nlohmann::json body{{"delivery_id", callback_delivery_id(o.id, o.status)},
                      {"order_id", o.id},
                      {"merchant", o.merchant},
                      {"client_ref", o.client_ref},
                      {"status", std::string{to_string(o.status)}},
                      {"amount_fen", o.amount_fen},
                      {"phone", mask_phone(o.phone)},
                      {"provider_txn", std::string{provider_txn}},
                      {"error", o.status == order_status::succeeded ? "" : o.last_error},
                      {"accepted_at_ms", o.accepted_at_ms},
                      {"deadline_ms", o.deadline_ms},
                      {"updated_at_ms", o.updated_at_ms}};
  // Invalid UTF-8 (a provider's error text) is replaced rather than thrown on.
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

bool callback_acknowledged(unsigned status, std::string_view body, std::string_view ack) {
  if (status < 200 || status > 299)
    return false;
  if (ack.empty())
    return true;
  auto space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  while (!body.empty() && space(body.front()))
    body.remove_prefix(1);
  while (!body.empty() && space(body.back()))
    body.remove_suffix(1);
  auto lower = [](char c) { return std::tolower(static_cast<unsigned char>(c)); };
  return std::equal(body.begin(), body.end(), ack.begin(), ack.end(),
                    [&](char a, char b) { return lower(a) == lower(b); });
}

} // namespace topup
