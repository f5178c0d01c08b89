#pragma once

// When orders go out and what became of each submission: the open-loop schedule (a fixed
// rate whatever the node answers), the closed-loop window (a fixed number outstanding), and
// the book of every order offered, in flight, to retry or acknowledged. No actor system: the
// bench's driver actor calls these with the answers it receives.

#include "apps/latency_histogram.hpp"

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <vector>

namespace topup::bench {

using steady_clock = std::chrono::steady_clock;
using steady_time = steady_clock::time_point;

/// Seconds from `from` to `to`.
double seconds_between(steady_time from, steady_time to);

/// Milliseconds since the Unix epoch, now: the time base of the store's rows.
int64_t wall_now_ms();

/// Order k (from 0) is due k / rate seconds after the start, the last one being number
/// total - 1.
class open_loop_schedule {
public:
  open_loop_schedule(double rate, uint64_t total) : rate_(rate), total_(total) {}

  /// Orders due by `elapsed` seconds after the start (those sent already included).
  uint64_t due_by(double elapsed_s) const;

  /// When order k is due, in seconds after the start.
  double due_at(uint64_t k) const { return static_cast<double>(k) / rate_; }

private:
  double rate_;
  uint64_t total_;
};

/// Closed loop: how many new orders may be offered now, so that no more than `limit` are
/// outstanding (offered and not yet settled), at most `batch` at a time, and never more than
/// `remaining`.
uint64_t closed_loop_quota(uint64_t limit, uint64_t outstanding, uint64_t batch,
                           uint64_t remaining);

/// What the node said about one order of a submit message.
enum class answer {
  acknowledged,  ///< durable: new, or the existing order of this reference
  retry,         ///< overloaded, unavailable, shutting down: offer it again, same reference
  refused,       ///< invalid or a conflicting reference: a bug of the bench, never retried
};

/// Every order of a run from its first offer to its acknowledgement.
class submission_book {
public:
  struct batch {
    uint64_t id = 0;
    std::vector<uint64_t> orders;  ///< order numbers
  };

  submission_book(uint64_t total, steady_time start);

  /// Offers the next `count` new orders (they queue for sending); returns how many there
  /// were left to offer.
  uint64_t offer(uint64_t count, steady_time now);

  /// The next message of at most `max_orders`, retries first; empty when nothing queues.
  batch take(uint64_t max_orders);

  /// The answers to batch `id`, one per order in its order. False for a batch no longer in
  /// flight (given up by `disconnected`): its answers are ignored, its orders queue again.
  bool answered(uint64_t id, const std::vector<answer>& answers, steady_time now);

  /// The same, with the node's retry hint for each answer (zero: none). An order refused
  /// with a hint is offered again no sooner than the hint says, nor sooner than twice its
  /// previous wait (at most `max_retry_wait`), as a client that backs off; without a hint,
  /// at once. `retry_after` may be shorter than `answers` (no hints for the rest).
  bool answered(uint64_t id, const std::vector<answer>& answers,
                const std::vector<std::chrono::milliseconds>& retry_after, steady_time now);

  /// Orders whose retry wait is over queue again, ahead of new ones.
  void release_due(steady_time now);

  /// The client gives up what is not acknowledged yet: queued and waiting orders at once,
  /// those in flight when they are refused or go unanswered. Nothing is offered any more.
  void give_up();

  /// Batch `id` got no answer (timeout, connection lost): all of it queues again.
  bool unanswered(uint64_t id);

  /// The node went away: everything in flight queues again, and late answers are ignored.
  void disconnected();

  uint64_t total() const { return total_; }
  uint64_t offered() const { return offered_; }
  uint64_t acknowledged() const { return acknowledged_; }
  uint64_t refused() const { return refused_; }
  uint64_t in_flight() const { return in_flight_orders_; }
  uint64_t queued() const { return queue_.size(); }
  /// Waiting for their retry hint (or backoff) to pass.
  uint64_t waiting() const { return delayed_.size(); }
  /// Offered and never acknowledged: given up by the client (give_up).
  uint64_t given_up() const { return given_up_; }
  /// Offered and not yet acknowledged, refused or given up.
  uint64_t outstanding() const { return offered_ - acknowledged_ - refused_ - given_up_; }
  /// Orders offered again after a retryable answer or no answer.
  uint64_t retries() const { return retries_; }
  bool finished() const { return (offered_ == total_ || giving_up_) && outstanding() == 0; }
  bool is_acknowledged(uint64_t order) const { return acked_[order]; }

  /// First offer to acknowledgement, per order.
  const latency_histogram& ack_latency() const { return ack_latency_; }
  /// When the last acknowledgement came, relative to the start.
  steady_clock::duration last_ack() const { return last_ack_; }

  /// The longest a hinted retry waits (the backoff doubles up to it).
  static constexpr std::chrono::milliseconds max_retry_wait{30000};

private:
  void requeue(const std::vector<uint64_t>& orders);

  uint64_t total_;
  steady_time start_;
  uint64_t offered_ = 0;
  uint64_t acknowledged_ = 0;
  uint64_t refused_ = 0;
  uint64_t given_up_ = 0;
  bool giving_up_ = false;
  /// Orders waiting to be offered again, by when.
  std::multimap<steady_time, uint64_t> delayed_;
  /// By order: how long it waited before its last hinted retry (0: never refused with a hint).
  std::vector<std::chrono::milliseconds> last_wait_;
  uint64_t retries_ = 0;
  uint64_t in_flight_orders_ = 0;
  uint64_t next_batch_ = 1;
  std::deque<uint64_t> queue_;
  std::map<uint64_t, std::vector<uint64_t>> in_flight_;
  std::vector<steady_time> first_offered_;
  std::vector<bool> acked_;
  latency_histogram ack_latency_{std::chrono::microseconds(10), std::chrono::seconds(600)};
  steady_clock::duration last_ack_{0};
};

} // namespace topup::bench
