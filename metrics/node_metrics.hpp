#pragma once

// The node's live instruments for Prometheus: what the counters of `topup-cli stats` do not
// already hold (latency histograms, provider calls by outcome, commit sizes, cluster
// gauges). Each actor takes its instruments once, when it starts, and updates them with
// atomic operations (a histogram also takes its own uncontended mutex): no lookup, lock of
// ours or allocation per order. The exposition (metrics/exposition.hpp) adds the stats
// counters at scrape time. No CAF here. See README.md, "Metrics".

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <chrono>
#include <memory>
#include <string>

namespace topup {

/// What a provider call or status query came back with, as the metrics count it.
enum class call_result : size_t {
  succeeded,         ///< call: recharged; query: the provider did recharge
  failed_final,      ///< call: permanent failure
  failed_retryable,  ///< call: transient failure; query: the provider did not recharge
  query_failed,      ///< query: the provider could not say
  no_answer,         ///< no answer within the call timeout (or the adapter died)
  wrong_carrier,     ///< call: the number is not with a carrier the provider serves
  count_
};
inline constexpr size_t call_result_count = static_cast<size_t>(call_result::count_);

/// How an order ended, as the metrics count it.
enum class final_outcome : size_t { succeeded, failed, expired, count_ };
inline constexpr size_t final_outcome_count = static_cast<size_t>(final_outcome::count_);

std::string_view to_string(call_result r);
std::string_view to_string(final_outcome o);

/// Seconds in a duration, as Prometheus wants them (base units).
template <class Rep, class Period>
double seconds_of(std::chrono::duration<Rep, Period> d) {
  return std::chrono::duration<double>(d).count();
}

/// One provider's instruments, as its recharge actor holds them.
struct provider_instruments {
  /// By call_result: calls (index 0) and status queries (index 1); null where a kind cannot
  /// end so (a call in query_failed, a query in failed_final).
  std::array<std::array<prometheus::Counter*, call_result_count>, 2> results{};
  std::array<prometheus::Histogram*, 2> duration{};  ///< calls, queries
  prometheus::Counter* rate_limited_waits = nullptr;
  /// Calls (index 0) and status queries (index 1) answered after the lane gave them up.
  std::array<prometheus::Counter*, 2> late_answers{};
  std::array<prometheus::Histogram*, final_outcome_count> accept_to_final{};
  std::array<prometheus::Histogram*, final_outcome_count> deadline_margin{};

  void call_answered(bool is_query, call_result result, double seconds) const {
    results[is_query][static_cast<size_t>(result)]->Increment();
    duration[is_query]->Observe(seconds);
  }
  /// An order ended here: `since_accept_s` after its acceptance, `margin_s` before its
  /// deadline (negative: after it).
  void finished(final_outcome outcome, double since_accept_s, double margin_s) const {
    accept_to_final[static_cast<size_t>(outcome)]->Observe(since_accept_s);
    deadline_margin[static_cast<size_t>(outcome)]->Observe(margin_s);
  }
};

/// The store's instruments.
struct store_instruments {
  prometheus::Histogram* commit_duration = nullptr;
  prometheus::Histogram* rows_per_commit = nullptr;
};

/// The cluster actor's gauges.
struct cluster_instruments {
  prometheus::Gauge* members = nullptr;
  prometheus::Gauge* leases_held = nullptr;
  /// The epoch of this node's lease on a provider; 0 while it holds none.
  prometheus::Family<prometheus::Gauge>* lease_epoch = nullptr;
};

/// The callback sender's instruments: the duration of its calls to merchants, by whether
/// the merchant acknowledged (index 1) or not (index 0: refused, no answer, timeout).
struct callback_instruments {
  std::array<prometheus::Histogram*, 2> duration{};

  void call_ended(bool acknowledged, double seconds) const {
    duration[acknowledged]->Observe(seconds);
  }
};

/// The registry of one node and its metric families. Shared by the actors that update it
/// and the HTTP listener that serves it; outlives them all (held by shared_ptr).
class node_metrics {
public:
  /// `node` becomes the label of topup_build_info (with the version and protocol).
  node_metrics(const std::string& node, unsigned protocol);

  node_metrics(const node_metrics&) = delete;
  node_metrics& operator=(const node_metrics&) = delete;

  /// Intake: from a submit's arrival to the durable acknowledgement of its new orders.
  prometheus::Histogram& accept_latency() { return accept_latency_; }
  /// Instruments of `provider`: the same ones again for a restarted recharge actor.
  provider_instruments provider(const std::string& name);
  store_instruments store();
  cluster_instruments cluster();
  callback_instruments callbacks();
  /// Router: orders cancelled by their client (an ending the recharge actors do not see).
  prometheus::Counter& cancelled() { return cancelled_; }

  const prometheus::Registry& registry() const { return *registry_; }

private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Histogram& accept_latency_;
  prometheus::Counter& cancelled_;
  prometheus::Family<prometheus::Counter>& provider_calls_;
  prometheus::Family<prometheus::Histogram>& provider_call_duration_;
  prometheus::Family<prometheus::Counter>& rate_limited_waits_;
  prometheus::Family<prometheus::Counter>& late_answers_;
  prometheus::Family<prometheus::Histogram>& accept_to_final_;
  prometheus::Family<prometheus::Histogram>& deadline_margin_;
  prometheus::Histogram& commit_duration_;
  prometheus::Histogram& rows_per_commit_;
  prometheus::Gauge& cluster_members_;
  prometheus::Gauge& leases_held_;
  prometheus::Family<prometheus::Gauge>& lease_epoch_;
  prometheus::Family<prometheus::Histogram>& callback_duration_;
};

/// Bucket bounds, in the metric's base unit.
namespace buckets {
/// Acknowledgements: milliseconds to seconds.
extern const prometheus::Histogram::BucketBoundaries accept_latency;
/// An order's life and its time left, against the 3-minute limit: ..., 60, 120, 150, 180.
extern const prometheus::Histogram::BucketBoundaries order_life;
extern const prometheus::Histogram::BucketBoundaries provider_call;
extern const prometheus::Histogram::BucketBoundaries commit_duration;
extern const prometheus::Histogram::BucketBoundaries rows_per_commit;
} // namespace buckets

} // namespace topup
