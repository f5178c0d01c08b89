#pragma once

// What the bench's submitters share: the book of every order (apps/bench/pacing) behind a
// lock, the refusals counted by error, and which messages go out now. The CAF driver
// (apps/bench/caf_submitter) and the HTTP submitter (apps/bench/http_submitter) both feed the
// node from it, so that a W1 over CAF and one over the HTTP API are paced and judged alike.

#include "apps/bench/pacing.hpp"
#include "apps/bench/workload.hpp"

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace topup::bench {

/// What the submitters and the main loop share. The book is the submitters'; main reads it
/// under the lock for progress and figures.
struct shared_book {
  shared_book(uint64_t total, steady_time start, size_t nodes)
    : book(total, start), connected(nodes) {}
  std::mutex mutex;
  submission_book book;
  /// By node: whether a submitter has a live connection to it.
  std::vector<std::atomic<bool>> connected;
  std::string first_refusal;
  /// Every refusal answer by error code (w4: how many times orders were refused).
  std::map<std::string, uint64_t> refusals_by_error;

  /// Counts a refusal answer (retryable or not) under `code`; the first one that is not
  /// retryable is kept, described, for the log. Call under the lock.
  void note_refusal(const std::string& code, bool retryable, const std::string& description);
};

/// The messages to send now, of at most `message_orders` each and at most `max_messages`
/// of them: offers what the loop allows (open: the schedule; closed: the window), queues
/// retries whose wait is over, gives up at the workload's give_up_at_s, then takes what
/// queues. Nothing is taken while `can_send` is false. Call under the lock.
std::vector<submission_book::batch> due_messages(const workload& load, submission_book& book,
                                                 steady_time start, steady_time now,
                                                 bool can_send, uint64_t message_orders,
                                                 uint64_t max_messages = UINT64_MAX);

} // namespace topup::bench
