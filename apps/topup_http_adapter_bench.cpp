// topup-http-adapter-bench: how many recharge calls per second the HTTP provider adapter makes
// against a given provider URL, and how long each takes. One process: the adapter as the node
// spawns it, and a driver actor that keeps a fixed number of calls in flight for a while.
// Prints one JSON line on stdout and a readable summary on stderr.

#include "apps/latency_histogram.hpp"
#include "messages/errors.hpp"
#include "providers/http_provider.hpp"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <iostream>

using namespace topup;

namespace {

struct bench_options {
  std::string url;
  std::string secret = "bench-secret";
  uint64_t in_flight = 64;
  double seconds = 10;
  size_t pool_size = 64;
  int64_t timeout_ms = 2000;
  int64_t connect_timeout_ms = 1000;
  size_t threads = 2;
};

/// What the driver measured; read by main once the driver has terminated.
struct bench_outcome {
  uint64_t success = 0;
  uint64_t failed = 0;   ///< transient or permanent failure replies
  uint64_t unknown = 0;  ///< error replies: the adapter's unknown outcome, or a timeout
  std::string first_problem;
  latency_histogram latencies;
  mono_time started;
  mono_time finished;

  uint64_t calls() const { return success + failed + unknown; }
};

struct driver_state {
  static constexpr const char* name = "http_bench_driver";
  bench_options options;
  provider_actor adapter;
  std::shared_ptr<bench_outcome> outcome;
  mono_time stop_at;
  uint64_t next_call = 0;
  uint64_t in_flight = 0;
};

using driver_pointer = caf::stateful_actor<driver_state>*;

void call_next(driver_pointer self);

void settle(driver_pointer self, mono_time sent, const std::string& problem) {
  auto& st = self->state;
  auto& outcome = *st.outcome;
  outcome.latencies.record(mono_clock::now() - sent);
  if (!problem.empty() && outcome.first_problem.empty())
    outcome.first_problem = problem;
  st.in_flight--;
  if (mono_clock::now() < st.stop_at) {
    call_next(self);
  } else if (st.in_flight == 0) {
    outcome.finished = mono_clock::now();
    self->quit();
  }
}

void call_next(driver_pointer self) {
  auto& st = self->state;
  auto n = st.next_call++;
  st.in_flight++;
  recharge_call call{"bench-" + std::to_string(n), "order-" + std::to_string(n), "13800138000",
                     1000};
  auto sent = mono_clock::now();
  // The recharge actor's request timeout is the provider's timeout_ms: the same here.
  self->request(st.adapter, milliseconds{st.options.timeout_ms}, recharge_atom::value,
                std::move(call))
    .then(
      [=](const recharge_reply& reply) {
        auto& outcome = *self->state.outcome;
        if (reply.outcome == recharge_outcome::success) {
          outcome.success++;
          settle(self, sent, {});
        } else {
          outcome.failed++;
          settle(self, sent, reply.detail);
        }
      },
      [=](const caf::error& error) {
        self->state.outcome->unknown++;
        settle(self, sent, describe(error));
      });
}

caf::behavior driver(driver_pointer self, bench_options options, provider_actor adapter,
                     std::shared_ptr<bench_outcome> outcome) {
  self->state.options = std::move(options);
  self->state.adapter = std::move(adapter);
  self->state.outcome = std::move(outcome);
  return {
    // The start signal.
    [=](caf::ok_atom) {
      auto& st = self->state;
      st.outcome->started = mono_clock::now();
      st.stop_at = st.outcome->started + std::chrono::duration_cast<nanoseconds>(
                                           std::chrono::duration<double>(st.options.seconds));
      for (uint64_t i = 0; i < st.options.in_flight; ++i)
        call_next(self);
    },
  };
}

struct caf_config : caf::actor_system_config {
  explicit caf_config(size_t threads) {
    set("scheduler.max-threads", threads);
    set("scheduler.policy", caf::atom("sharing"));
    register_protocol(*this);
  }
};

double milliseconds_of(latency_histogram::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

/// Prints the JSON line and the summary; returns the process exit code.
int report(const bench_options& options, const bench_outcome& outcome) {
  auto seconds = std::chrono::duration<double>(outcome.finished - outcome.started).count();
  auto calls_per_s = seconds > 0 ? static_cast<double>(outcome.calls()) / seconds : 0.0;
  auto p50_ms = milliseconds_of(outcome.latencies.quantile(0.50));
  auto p99_ms = milliseconds_of(outcome.latencies.quantile(0.99));
  auto max_ms = milliseconds_of(outcome.latencies.max());
  nlohmann::json line{
    {"url", options.url},
    {"calls", outcome.calls()},
    {"seconds", seconds},
    {"calls_per_s", calls_per_s},
    {"p50_ms", p50_ms},
    {"p99_ms", p99_ms},
    {"max_ms", max_ms},
    {"success", outcome.success},
    {"failed", outcome.failed},
    {"unknown", outcome.unknown},
    {"in_flight", options.in_flight},
    {"pool_size", options.pool_size},
    {"timeout_ms", options.timeout_ms},
    {"threads", options.threads},
  };
  std::cout << line.dump() << std::endl;
  spdlog::info("bench made {} calls to {} in {:.2f} s: {:.0f}/s, p50 {:.2f} ms, p99 {:.2f} ms, "
               "max {:.2f} ms ({} in flight, pool of {})",
               outcome.calls(), options.url, seconds, calls_per_s, p50_ms, p99_ms, max_ms,
               options.in_flight, options.pool_size);
  if (outcome.success != outcome.calls()) {
    spdlog::error("bench: {} calls failed and {} have an unknown outcome; the first: {}",
                  outcome.failed, outcome.unknown, outcome.first_problem);
    return 1;
  }
  return 0;
}

int run(const bench_options& options) {
  caf_config cfg{options.threads};
  caf::actor_system system{cfg};
  caf::scoped_actor self{system};
  http_adapter_config adapter_cfg{options.url, options.secret, options.connect_timeout_ms,
                                  options.pool_size};
  auto adapter = spawn_http_provider(system, "bench", adapter_cfg,
                                     milliseconds{options.timeout_ms},
                                     std::make_shared<topup::system_clock>());
  auto outcome = std::make_shared<bench_outcome>();
  auto caller = system.spawn(driver, options, adapter, outcome);
  self->send(caller, caf::ok_atom::value);
  // Bounded: every call has a timeout.
  self->wait_for(caller);
  self->send_exit(adapter, caf::exit_reason::user_shutdown);
  self->wait_for(adapter);
  return report(options, *outcome);
}

} // namespace

int main(int argc, char** argv) {
  bench_options options;
  CLI::App app{"Measures the HTTP provider adapter: keeps --in-flight recharge calls going to "
               "--url for --seconds and prints one JSON line (calls, seconds, calls_per_s, "
               "p50_ms, p99_ms, max_ms, success, failed, unknown, ...) on stdout and a summary "
               "on stderr. The provider must answer success; exits 1 if any call did not.",
               "topup-http-adapter-bench"};
  app.add_option("--url", options.url, "The provider's base URL, e.g. http://127.0.0.1:8080")
    ->required();
  app.add_option("--secret", options.secret, "The signing secret")->capture_default_str();
  app.add_option("--in-flight", options.in_flight, "Calls kept in flight")
    ->capture_default_str()
    ->check(CLI::PositiveNumber);
  app.add_option("--seconds", options.seconds, "How long new calls are started")
    ->capture_default_str()
    ->check(CLI::PositiveNumber);
  app.add_option("--pool-size", options.pool_size, "Keep-alive connections at most")
    ->capture_default_str()
    ->check(CLI::Range(1, 4096));
  app.add_option("--timeout-ms", options.timeout_ms, "The provider's call timeout")
    ->capture_default_str()
    ->check(CLI::PositiveNumber);
  app.add_option("--connect-timeout-ms", options.connect_timeout_ms, "Connect timeout")
    ->capture_default_str()
    ->check(CLI::PositiveNumber);
  app.add_option("--threads", options.threads, "CAF scheduler threads (the adapter's asio "
                                               "thread comes on top)")
    ->capture_default_str()
    ->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);

  // spdlog's default logger writes to stdout, which carries the JSON line only.
  spdlog::set_default_logger(spdlog::stderr_color_mt("topup-http-adapter-bench"));
  try {
    return run(options);
  } catch (const std::exception& error) {
    spdlog::error("bench failed: {}", error.what());
    return 1;
  }
}
