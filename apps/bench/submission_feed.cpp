#include "apps/bench/submission_feed.hpp"

namespace topup::bench {

void shared_book::note_refusal(const std::string& code, bool retryable,
                               const std::string& description) {
  ++refusals_by_error[code];
  if (!retryable && first_refusal.empty())
    first_refusal = description;
}

std::vector<submission_book::batch> due_messages(const workload& load, submission_book& book,
                                                 steady_time start, steady_time now,
                                                 bool can_send, uint64_t message_orders,
                                                 uint64_t max_messages) {
  auto elapsed_s = std::chrono::duration<double>(now - start).count();
  if (load.loop == loop_kind::open) {
    open_loop_schedule schedule{load.rate, load.orders};
    auto due = schedule.due_by(elapsed_s);
    if (due > book.offered())
      book.offer(due - book.offered(), now);
  }
  if (load.give_up_at_s && elapsed_s >= *load.give_up_at_s)
    book.give_up();
  book.release_due(now);
  std::vector<submission_book::batch> messages;
  if (!can_send)
    return messages;
  while (messages.size() < max_messages) {
    if (load.loop == loop_kind::closed)
      book.offer(closed_loop_quota(load.outstanding, book.outstanding(), message_orders,
                                   book.total() - book.offered()),
                 now);
    auto next = book.take(message_orders);
    if (next.orders.empty())
      break;
    messages.push_back(std::move(next));
  }
  return messages;
}

} // namespace topup::bench
