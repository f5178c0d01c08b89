#include "domain/order.hpp"

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
         && amount_fen == request.amount_fen;
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

std::string mask_phone(std::string_view phone) {
  if (phone.size() < 8)
    return std::string(phone.size(), '*');
  std::string masked{phone};
  for (size_t i = 3; i + 4 < masked.size(); ++i)
    masked[i] = '*';
  return masked;
}

} // namespace topup
