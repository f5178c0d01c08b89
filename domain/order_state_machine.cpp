#include "domain/order_state_machine.hpp"

namespace topup {

std::string_view to_string(order_event event) {
  switch (event) {
    case order_event::dispatch: return "dispatch";
    case order_event::succeed: return "succeed";
    case order_event::fail_retryable: return "fail_retryable";
    case order_event::wrong_carrier: return "wrong_carrier";
    case order_event::fail_final: return "fail_final";
    case order_event::lose_outcome: return "lose_outcome";
    case order_event::expire: return "expire";
    case order_event::cancel: return "cancel";
    case order_event::query_unanswered: return "query_unanswered";
    case order_event::resend: return "resend";
  }
  return "invalid";
}

std::optional<order_event> order_event_from_string(std::string_view name) {
  for (auto event : all_order_events)
    if (to_string(event) == name)
      return event;
  return std::nullopt;
}

bool is_note(order_event event) {
  return event == order_event::query_unanswered || event == order_event::resend;
}

std::optional<order_status> next_status(order_status from, order_event event) {
  using s = order_status;
  using e = order_event;
  switch (from) {
    case s::accepted:
      switch (event) {
        case e::dispatch: return s::dispatched;
        case e::expire:
        case e::cancel: return s::failed;
        case e::resend: return s::accepted;
        default: return std::nullopt;
      }
    case s::dispatched:
    case s::unknown:
      switch (event) {
        case e::succeed: return s::succeeded;
        case e::fail_retryable: return s::accepted;
        case e::fail_final: return s::failed;
        case e::lose_outcome: return s::unknown;
        case e::query_unanswered:
          if (from == s::unknown)
            return s::unknown;
          return std::nullopt;
        case e::wrong_carrier:
          // Only a call's answer says it; a status query knows "recharged" or "not" alone.
          if (from == s::dispatched)
            return s::accepted;
          return std::nullopt;
        default: return std::nullopt;
      }
    case s::succeeded:
    case s::failed:
      return std::nullopt;
  }
  return std::nullopt;
}

} // namespace topup
