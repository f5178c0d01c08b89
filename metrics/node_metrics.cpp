#include "metrics/node_metrics.hpp"

namespace topup {

namespace buckets {
const prometheus::Histogram::BucketBoundaries accept_latency{
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120,
  150, 180};
const prometheus::Histogram::BucketBoundaries order_life{0.1, 0.25, 0.5, 1,  2.5, 5,   10,
                                                         30,  60,   120, 150, 180};
const prometheus::Histogram::BucketBoundaries deadline_margin{0,  1,  5,   10,  30,
                                                              60, 120, 150, 180};
const prometheus::Histogram::BucketBoundaries provider_call{
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
const prometheus::Histogram::BucketBoundaries commit_duration{
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
const prometheus::Histogram::BucketBoundaries rows_per_commit{1,   2,    5,    10,   20,  50,
                                                              100, 200,  500,  1000, 2000, 5000};
} // namespace buckets

std::string_view to_string(call_result r) {
  switch (r) {
    case call_result::succeeded: return "succeeded";
    case call_result::failed_final: return "failed_final";
    case call_result::failed_retryable: return "failed_retryable";
    case call_result::query_failed: return "query_failed";
    case call_result::no_answer: return "no_answer";
    case call_result::wrong_carrier: return "wrong_carrier";
    case call_result::count_: break;
  }
  return "?";
}

std::string_view to_string(final_outcome o) {
  switch (o) {
    case final_outcome::succeeded: return "succeeded";
    case final_outcome::failed: return "failed";
    case final_outcome::expired: return "expired";
    case final_outcome::count_: break;
  }
  return "?";
}

namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

constexpr std::array<const char*, 2> call_kinds{"call", "query"};

/// A call never ends in query_failed, a status query never in failed_final or wrong_carrier.
bool possible(bool is_query, call_result result) {
  if (is_query)
    return result != call_result::failed_final && result != call_result::wrong_carrier;
  return result != call_result::query_failed;
}

} // namespace

node_metrics::node_metrics(const std::string& node, unsigned protocol)
  : registry_(std::make_shared<prometheus::Registry>()),
    accept_latency_(BuildHistogram()
                      .Name("topup_order_accept_latency_seconds")
                      .Help("From a submit reaching intake to the durable acknowledgement of "
                            "its new orders")
                      .Register(*registry_)
                      .Add({}, buckets::accept_latency)),
    cancelled_(BuildCounter()
                 .Name("topup_orders_cancelled_total")
                 .Help("Orders cancelled by their client while waiting for a provider")
                 .Register(*registry_)
                 .Add({})),
    provider_calls_(BuildCounter()
                      .Name("topup_provider_calls_total")
                      .Help("Provider calls (kind=call) and status queries (kind=query) "
                            "answered or given up, by result")
                      .Register(*registry_)),
    provider_call_duration_(BuildHistogram()
                              .Name("topup_provider_call_duration_seconds")
                              .Help("From a provider call or status query leaving to its "
                                    "answer or timeout")
                              .Register(*registry_)),
    rate_limited_waits_(BuildCounter()
                          .Name("topup_provider_rate_limited_waits_total")
                          .Help("Calls and status queries that waited for the provider's "
                                "rate limit before leaving")
                          .Register(*registry_)),
    late_answers_(BuildCounter()
                    .Name("topup_provider_late_answers_total")
                    .Help("Provider calls (kind=call) and status queries (kind=query) answered "
                          "after their lane had given them up at the provider's timeout_ms")
                    .Register(*registry_)),
    accept_to_final_(BuildHistogram()
                       .Name("topup_order_accept_to_final_seconds")
                       .Help("From an order's acceptance to its final state, by outcome "
                             "(orders ended by a provider's lane)")
                       .Register(*registry_)),
    deadline_margin_(BuildHistogram()
                       .Name("topup_order_deadline_margin_seconds")
                       .Help("Time left before the deadline when an order became final "
                             "(below 0: after it), by outcome")
                       .Register(*registry_)),
    commit_duration_(BuildHistogram()
                       .Name("topup_store_commit_duration_seconds")
                       .Help("Duration of one group commit of the store")
                       .Register(*registry_)
                       .Add({}, buckets::commit_duration)),
    rows_per_commit_(BuildHistogram()
                       .Name("topup_store_commit_rows")
                       .Help("Rows written by one group commit of the store")
                       .Register(*registry_)
                       .Add({}, buckets::rows_per_commit)),
    cluster_members_(BuildGauge()
                       .Name("topup_cluster_members")
                       .Help("Live members of the cluster as this node sees them (itself "
                             "included; 1 on a single node)")
                       .Register(*registry_)
                       .Add({})),
    leases_held_(BuildGauge()
                   .Name("topup_cluster_leases_held")
                   .Help("Provider leases this node holds (cluster mode; 0 on a single node, "
                         "which serves every provider without leases)")
                   .Register(*registry_)
                   .Add({})),
    lease_epoch_(BuildGauge()
                   .Name("topup_cluster_lease_epoch")
                   .Help("The epoch of this node's lease on each provider it has held (0 once "
                         "it holds it no more): a new epoch is a lease that changed hands")
                   .Register(*registry_)),
    callback_duration_(BuildHistogram()
                         .Name("topup_callback_duration_seconds")
                         .Help("From a result callback's call to a merchant leaving to its "
                               "answer or timeout, by outcome (delivered: acknowledged; "
                               "failed: anything else)")
                         .Register(*registry_)) {
  BuildGauge()
    .Name("topup_build_info")
    .Help("Always 1: the node's name, version and remote protocol version as labels")
    .Register(*registry_)
    .Add({{"node", node}, {"version", TOPUP_VERSION}, {"protocol", std::to_string(protocol)}})
    .Set(1);
  cluster_members_.Set(1);
}

provider_instruments node_metrics::provider(const std::string& name) {
  provider_instruments instruments;
  for (size_t kind = 0; kind < call_kinds.size(); ++kind) {
    for (size_t r = 0; r < call_result_count; ++r) {
      if (!possible(kind == 1, static_cast<call_result>(r)))
        continue;
      instruments.results[kind][r] = &provider_calls_.Add(
        {{"provider", name},
         {"kind", call_kinds[kind]},
         {"result", std::string{to_string(static_cast<call_result>(r))}}});
    }
    instruments.duration[kind] = &provider_call_duration_.Add(
      {{"provider", name}, {"kind", call_kinds[kind]}}, buckets::provider_call);
    instruments.late_answers[kind] =
      &late_answers_.Add({{"provider", name}, {"kind", call_kinds[kind]}});
  }
  instruments.rate_limited_waits = &rate_limited_waits_.Add({{"provider", name}});
  for (size_t o = 0; o < final_outcome_count; ++o) {
    prometheus::Labels labels{{"outcome", std::string{to_string(static_cast<final_outcome>(o))}}};
    instruments.accept_to_final[o] = &accept_to_final_.Add(labels, buckets::order_life);
    instruments.deadline_margin[o] = &deadline_margin_.Add(labels, buckets::deadline_margin);
  }
  return instruments;
}

store_instruments node_metrics::store() {
  return {&commit_duration_, &rows_per_commit_};
}

cluster_instruments node_metrics::cluster() {
  return {&cluster_members_, &leases_held_, &lease_epoch_};
}

callback_instruments node_metrics::callbacks() {
  callback_instruments instruments;
  instruments.duration[0] = &callback_duration_.Add({{"outcome", "failed"}}, buckets::provider_call);
  instruments.duration[1] =
    &callback_duration_.Add({{"outcome", "delivered"}}, buckets::provider_call);
  return instruments;
}

} // namespace topup
