#pragma once

#include "domain/circuit_breaker.hpp"
#include "domain/clock.hpp"
#include "domain/edf_queue.hpp"
#include "domain/order.hpp"
#include "domain/order_state_machine.hpp"
#include "domain/retry_backoff.hpp"
#include "domain/token_bucket.hpp"

#include <map>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

namespace topup {

struct lane_settings {
  double rate = 100;
  double burst = 10;
  size_t concurrency = 64;
  milliseconds call_timeout{2000};
  milliseconds query_interval{1000};
  milliseconds retry_base{200};
  milliseconds retry_cap{5000};
  /// Failures in a row that open the breaker. High enough that a provider failing a quarter
  /// of its calls (the W2 workload) never trips it by chance (0.25^20 ~ 1e-12), while one
  /// that fails every call (an outage) trips it within milliseconds.
  uint32_t breaker_threshold = 20;
  milliseconds breaker_open_for{2000};
  /// How the rate limit starts (see token_bucket::start).
  token_bucket::start tokens_at_start = token_bucket::start::full;
};

/// What a lane reports to routing.
struct lane_load {
  size_t queued = 0;     ///< waiting for a call slot
  size_t in_flight = 0;  ///< calls and queries running
  size_t waiting = 0;    ///< in retry backoff or waiting for a status query
  circuit_breaker::state breaker = circuit_breaker::state::closed;
  size_t tokens = 0;     ///< calls the token bucket allows at once now
};

/// What a call or status query of an order came back with, as the lane decides on it.
enum class call_answer {
  recharged,      ///< call: success; query: the provider did recharge
  refused,        ///< call: permanent failure
  wrong_carrier,  ///< call: the number is not with a carrier this provider serves
  not_recharged,  ///< call: transient failure; query: the provider did not recharge
  unknown,        ///< no answer in time, or a query that could not say: money may have moved
};

/// What follows the answer to a call or status query: a state change of the order, written
/// (durable) before anything else happens to it, then the next step.
struct after_call_action {
  enum class step {
    finish,       ///< `event` (succeed or fail_final) ends the order
    retry,        ///< fail_retryable, then requeue(): here after backoff, or failed over
    move_on,      ///< wrong_carrier: the router gives it to a provider that may serve it
    query,        ///< lose_outcome, then a status query after query_interval
    query_again,  ///< unknown already: nothing changes (a note in the history at most);
                  ///< queried again after query_interval
  };
  step next = step::finish;
  order_event event = order_event::fail_final;
  std::string detail;  ///< the change's detail
};

/// The scheduling of one provider's calls, without any I/O: which orders to call next
/// (earliest steady deadline first, urgent re-sends first), within the token bucket and the
/// concurrency cap, behind a circuit breaker; retries after backoff with jitter; status
/// queries of unknown outcomes, which go before new calls and count against the same limits.
/// The recharge actor executes what take_work() returns and reports back.
class provider_lane {
public:
  provider_lane(lane_settings settings, mono_time now, uint64_t seed = 1);

  /// Queues an order to call; false when the lane already holds it.
  bool enqueue(order o, bool urgent);

  /// Takes an order out of the queue or its retry wait (to serve it elsewhere).
  std::optional<order> release(const std::string& id);

  /// Takes every queued and retry-waiting order out (the breaker opened: fail them over).
  std::vector<order> release_all();

  /// Re-queues an order after a transient failure, after exponential backoff with jitter
  /// (backoff_policy of retry_base and retry_cap by the order's attempts), and not before
  /// `at_least` (the recharge actor's backoff while the store refuses or fails its writes);
  /// an order whose last chance to start passes meanwhile is failed then. Ignored for an
  /// order the lane holds already.
  void retry_later(order o, mono_time now, milliseconds at_least = milliseconds{0});

  /// Queries the outcome of the order's last attempt at `at`. Until it is known the order is
  /// held here: it cannot be enqueued again or released elsewhere.
  void query_later(order o, mono_time at);

  /// Brings the status query of each of these orders forward to `now` when it waits for
  /// one here (reconciliation settles unknown outcomes before comparing a statement). An
  /// order whose query is running, or that the lane does not hold for a query, is left
  /// alone: a second query of the same request is never started. Returns how many moved.
  size_t query_now(const std::vector<std::string>& ids, mono_time now);

  struct work {
    std::vector<order> queries;  ///< query now (token and slot taken)
    std::vector<order> calls;    ///< start an attempt now (token and slot taken)
    std::vector<order> expired;  ///< no attempt can finish before their deadline any more
  };

  /// From now on take_work() starts no new calls (the node is stopping); status queries
  /// and expiries go on.
  void stop_calls() { calls_stopped_ = true; }

  /// While held (cluster: the lease this lane works under has lapsed, as far as this node
  /// knows), take_work() starts neither calls nor status queries and next_wakeup() waits for
  /// none of them; expiries go on. Lifted when the lease is renewed.
  void hold_sends(bool held) { sends_held_ = held; }

  /// Everything that can start now. An attempt must be able to time out before its order's
  /// deadline, judged on the steady clock: every order given to the lane carries its
  /// steady_deadline (anchor_deadline), so a step of the wall clock changes nothing here.
  work take_work(mono_time now);

  /// A call or query started by take_work() ended. `provider_healthy` is false for
  /// connection errors, timeouts and transient failures: they feed the breaker.
  void call_finished(mono_time now, bool provider_healthy);

  /// What to do with `o` after its call or status query came back at `now` with `answer`;
  /// `detail` is what the provider said (or why it said nothing). An order not recharged is
  /// retried only while another attempt can still time out before its deadline after the
  /// shortest backoff; otherwise it fails. `another_provider_left`: after wrong_carrier,
  /// whether a provider that might serve the number is left (none: the order fails).
  after_call_action after_call(const order& o, call_answer answer, std::string detail,
                               mono_time now, bool another_provider_left = true) const;

  /// An order whose retry (after_call_action::step::retry) is written: it waits here for
  /// retry_later()'s backoff, or, while the breaker is open, comes back to be failed over.
  std::optional<order> requeue(order o, mono_time now);

  /// A slot taken by take_work() that was not used for a call after all.
  void slot_unused();

  /// When take_work() may have something new, if ever without further input: a token for a
  /// queued order or due query, a retry or query coming due, the breaker turning half-open,
  /// or the last chance of the most urgent queued order to start.
  std::optional<mono_time> next_wakeup(mono_time now) const;

  bool holds(const std::string& id) const;
  bool breaker_open(mono_time now) const;
  lane_load load(mono_time now) const;
  const lane_settings& settings() const { return settings_; }

private:
  using timed_orders = std::multimap<mono_time, order>;

  void move_due_retries(mono_time now);
  /// Takes an order out of the retry wait.
  order take_retry(std::unordered_map<std::string, timed_orders::iterator>::iterator indexed);
  bool can_start(mono_time now) const;
  /// The queue's key for an order: its steady deadline in ms (steady_ms).
  static int64_t deadline_key(const order& o);
  /// The last moment at which an order whose deadline key is `key` can start a call.
  mono_time last_chance(int64_t key) const;

  lane_settings settings_;
  token_bucket tokens_;
  circuit_breaker breaker_;
  edf_queue<std::string, order> queue_;
  timed_orders retries_;
  std::unordered_map<std::string, timed_orders::iterator> retry_index_;
  /// Orders in retry backoff by deadline key, so one whose last chance to start passes
  /// during its backoff is failed then, not when its retry comes due.
  std::multimap<int64_t, std::string> retry_deadlines_;
  timed_orders queries_;
  std::unordered_map<std::string, timed_orders::iterator> query_index_;
  size_t in_flight_ = 0;
  bool probe_out_ = false;  ///< the half-open breaker's probe is one of the calls in flight
  bool calls_stopped_ = false;
  bool sends_held_ = false;
  std::mt19937_64 random_;
};

} // namespace topup
