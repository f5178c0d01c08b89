#include "metrics/exposition.hpp"

#include "domain/circuit_breaker.hpp"

#include <prometheus/text_serializer.h>

#include <array>
#include <map>

namespace topup {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

/// Builds one family sample by sample.
class family_builder {
public:
  family_builder(std::string name, std::string help, MetricType type)
    : family_{std::move(name), std::move(help), type, {}} {}

  family_builder& sample(double value, std::vector<ClientMetric::Label> labels = {}) {
    ClientMetric metric;
    metric.label = std::move(labels);
    if (family_.type == MetricType::Counter)
      metric.counter.value = value;
    else
      metric.gauge.value = value;
    family_.metric.push_back(std::move(metric));
    return *this;
  }

  MetricFamily done() { return std::move(family_); }

private:
  MetricFamily family_;
};

family_builder counter(std::string name, std::string help) {
  return {std::move(name), std::move(help), MetricType::Counter};
}

family_builder gauge(std::string name, std::string help) {
  return {std::move(name), std::move(help), MetricType::Gauge};
}

double as_double(uint64_t n) {
  return static_cast<double>(n);
}

void add_provider_families(const std::vector<provider_stats>& providers,
                           std::vector<MetricFamily>& out) {
  auto finished = counter("topup_orders_finished_total",
                          "Orders made final by a provider's lane, by provider and outcome");
  auto unknown_at_deadline = counter(
    "topup_orders_unknown_at_deadline_total",
    "Orders whose provider outcome was still unknown at their deadline (to reconcile)");
  auto retries = counter("topup_provider_retries_total",
                         "Transient failures retried (here or on another provider)");
  auto lost = counter("topup_provider_outcomes_lost_total",
                      "Calls and status queries whose outcome was lost (no answer in time)");
  auto failed_over =
    counter("topup_provider_failovers_total", "Orders handed from this provider to another");
  auto queued = gauge("topup_provider_queue_depth", "Orders waiting in the provider's queue");
  auto in_flight = gauge("topup_provider_in_flight", "Calls and status queries in flight");
  auto store_lag = gauge("topup_provider_store_lag_seconds",
                         "How long the lane's oldest state change has waited for the store");
  auto breaker = gauge("topup_provider_breaker_state",
                       "The provider's circuit breaker: 1 for its current state, 0 otherwise");
  constexpr std::array<circuit_breaker::state, 3> states{
    circuit_breaker::state::closed, circuit_breaker::state::open,
    circuit_breaker::state::half_open};
  for (const auto& p : providers) {
    auto outcome = [&](const char* name) {
      return std::vector<ClientMetric::Label>{{"provider", p.provider}, {"outcome", name}};
    };
    std::vector<ClientMetric::Label> provider{{"provider", p.provider}};
    finished.sample(as_double(p.succeeded), outcome("succeeded"))
      .sample(as_double(p.failed), outcome("failed"))
      .sample(as_double(p.expired), outcome("expired"));
    unknown_at_deadline.sample(as_double(p.unknown_at_deadline), provider);
    retries.sample(as_double(p.retries), provider);
    lost.sample(as_double(p.unknown), provider);
    failed_over.sample(as_double(p.failed_over), provider);
    queued.sample(as_double(p.queued), provider);
    in_flight.sample(as_double(p.in_flight), provider);
    store_lag.sample(p.store_lag_ms / 1000.0, provider);
    for (auto s : states) {
      std::string name{to_string(s)};
      breaker.sample(p.breaker == name ? 1 : 0, {{"provider", p.provider}, {"state", name}});
    }
  }
  for (auto* family : {&finished, &unknown_at_deadline, &retries, &lost, &failed_over, &queued,
                       &in_flight, &store_lag, &breaker})
    out.push_back(family->done());
}

} // namespace

std::vector<MetricFamily> stats_families(const node_stats& stats) {
  std::vector<MetricFamily> out;
  const auto& intake = stats.intake;
  out.push_back(counter("topup_orders_accepted_total", "New orders acknowledged (durable)")
                  .sample(as_double(intake.accepted))
                  .done());
  out.push_back(counter("topup_orders_resubmitted_total",
                        "Resubmissions answered with the existing order")
                  .sample(as_double(intake.existing))
                  .done());
  out.push_back(counter("topup_orders_rejected_total",
                        "Orders refused as invalid input or duplicates with other content")
                  .sample(as_double(intake.rejected))
                  .done());
  out.push_back(counter("topup_intake_refused_total",
                        "Orders refused for back-pressure: overloaded (store queue full or "
                        "providers unable to start them in time), unavailable (store down)")
                  .sample(as_double(intake.overloaded), {{"reason", "overloaded"}})
                  .sample(as_double(intake.unavailable), {{"reason", "unavailable"}})
                  .done());
  out.push_back(gauge("topup_intake_waiting_orders", "Orders waiting for the store to commit")
                  .sample(as_double(intake.in_flight))
                  .done());
  const auto& store = stats.store;
  out.push_back(counter("topup_store_commits_total", "Store transactions committed")
                  .sample(as_double(store.commits))
                  .done());
  out.push_back(counter("topup_store_rows_written_total", "Rows written by committed transactions")
                  .sample(as_double(store.rows_written))
                  .done());
  out.push_back(counter("topup_store_failed_commits_total", "Store transactions rolled back")
                  .sample(as_double(store.failed_commits))
                  .done());
  out.push_back(gauge("topup_store_pending_rows", "Rows waiting for the next commit")
                  .sample(as_double(store.pending_writes))
                  .done());
  out.push_back(gauge("topup_store_healthy", "1 while the store can write, else 0")
                  .sample(store.healthy ? 1 : 0)
                  .done());
  const auto& callbacks = stats.callbacks;
  out.push_back(counter("topup_callbacks_total",
                        "Result callback attempts by outcome: delivered (acknowledged), failed "
                        "(tried again later), abandoned (given up)")
                  .sample(as_double(callbacks.delivered), {{"outcome", "delivered"}})
                  .sample(as_double(callbacks.failed_attempts), {{"outcome", "failed"}})
                  .sample(as_double(callbacks.abandoned), {{"outcome", "abandoned"}})
                  .done());
  out.push_back(gauge("topup_callbacks_in_flight", "Result callback calls under way")
                  .sample(as_double(callbacks.in_flight))
                  .done());
  out.push_back(gauge("topup_callbacks_pending",
                      "Result callbacks in the outbox neither delivered nor abandoned (every "
                      "node's: the outbox is shared)")
                  .sample(as_double(callbacks.pending))
                  .done());
  add_provider_families(stats.providers, out);
  out.push_back(counter("topup_actor_restarts_total", "Actor restarts by the supervisor")
                  .sample(as_double(stats.restarts))
                  .done());
  out.push_back(gauge("topup_start_time_seconds", "When the node started (Unix time)")
                  .sample(static_cast<double>(stats.started_at_ms) / 1000.0)
                  .done());
  return out;
}

std::string metrics_text(const node_metrics& metrics, const node_stats* stats) {
  std::vector<MetricFamily> families;
  if (stats)
    families = stats_families(*stats);
  families.push_back(gauge("topup_stats_up",
                           "1 if the node's actors answered for this scrape's counters, else 0 "
                           "(the counters from them are then missing)")
                       .sample(stats ? 1 : 0)
                       .done());
  auto live = metrics.registry().Collect();
  families.insert(families.end(), std::make_move_iterator(live.begin()),
                  std::make_move_iterator(live.end()));
  return prometheus::TextSerializer{}.Serialize(families);
}

} // namespace topup
