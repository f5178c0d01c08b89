// topup-intake-bench: how many orders per second intake acknowledges durably on this machine,
// and how long each ack takes. One process: the store and intake actors as the node runs them
// (no recharging), and a driver actor that keeps a fixed number of orders in flight.
// Prints one JSON line on stdout and a readable summary on stderr.

#include "actors/intake.hpp"
#include "apps/latency_histogram.hpp"
#include "domain/order_id.hpp"
#include "messages/errors.hpp"
#include "persistence/store_actor.hpp"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <random>
#include <unistd.h>

using namespace topup;

namespace {

struct bench_options {
  uint64_t orders = 200000;
  uint64_t outstanding = 1024;
  uint64_t batch = 1;
  std::string db_path;
  bool keep = false;
  std::string synchronous = "normal";
  size_t max_batch = 2000;
  size_t threads = 2;
};

/// What the driver measured; read by main once the driver has terminated.
struct bench_outcome {
  uint64_t accepted = 0;
  uint64_t failed = 0;
  std::string first_error;
  latency_histogram latencies;
  mono_time started;
  mono_time finished;
};

/// The carriers and amounts the generated orders use (a subset of WORKLOAD, bench/README.md).
const std::array<std::pair<const char*, const char*>, 3> prefix_carriers{
  {{"138", "cmcc"}, {"130", "cucc"}, {"133", "ctcc"}}};
const std::array<int64_t, 6> amounts_fen{1000, 2000, 3000, 5000, 10000, 20000};

validation_rules bench_rules() {
  validation_rules rules;
  for (const auto& [prefix, carrier] : prefix_carriers)
    rules.carrier_by_prefix[prefix] = carrier;
  rules.allowed_amounts_fen.insert(amounts_fen.begin(), amounts_fen.end());
  return rules;
}

/// Order n of this run: a client ref no earlier run used (so a kept --db can be reused) and a
/// phone and amount that spread over every carrier and denomination.
order_request nth_request(const std::string& ref_prefix, uint64_t n) {
  char phone[16];
  auto prefix = prefix_carriers[n % prefix_carriers.size()].first;
  std::snprintf(phone, sizeof phone, "%s%08llu", prefix,
                static_cast<unsigned long long>(n % 100000000));
  auto amount = amounts_fen[(n / prefix_carriers.size()) % amounts_fen.size()];
  return {ref_prefix + to_base36(n), phone, amount};
}

/// Longer than any commit can take; a request still unanswered then counts as failed.
constexpr auto submit_timeout = std::chrono::seconds(60);

struct driver_state {
  static constexpr const char* name = "bench_driver";
  bench_options options;
  intake_actor intake;
  std::shared_ptr<bench_outcome> outcome;
  std::string ref_prefix;
  uint64_t next_order = 0;
  uint64_t in_flight = 0;
};

using driver_pointer = caf::stateful_actor<driver_state>*;

void fill_window(driver_pointer self);

/// Books the answers to one submit message sent at `sent`, then refills the window.
void settle(driver_pointer self, mono_time sent, uint64_t orders, uint64_t failed,
            const caf::error& error) {
  auto& st = self->state;
  auto& outcome = *st.outcome;
  auto latency = mono_clock::now() - sent;
  for (uint64_t i = 0; i < orders; ++i)
    outcome.latencies.record(latency);
  outcome.accepted += orders - failed;
  outcome.failed += failed;
  if (error && outcome.first_error.empty())
    outcome.first_error = describe(error);
  st.in_flight -= orders;
  fill_window(self);
  if (st.in_flight == 0 && st.next_order == st.options.orders) {
    outcome.finished = mono_clock::now();
    self->quit();
  }
}

/// Sends one submit message of up to `batch` orders.
void submit_next(driver_pointer self) {
  auto& st = self->state;
  auto count = std::min(st.options.batch, st.options.orders - st.next_order);
  auto first = st.next_order;
  st.next_order += count;
  st.in_flight += count;
  auto sent = mono_clock::now();
  if (st.options.batch == 1) {
    self->request(st.intake, submit_timeout, submit_atom::value, nth_request(st.ref_prefix, first))
      .then([=](const order&) { settle(self, sent, 1, 0, caf::error{}); },
            [=](const caf::error& error) { settle(self, sent, 1, 1, error); });
    return;
  }
  std::vector<order_request> requests;
  requests.reserve(count);
  for (auto n = first; n < first + count; ++n)
    requests.push_back(nth_request(st.ref_prefix, n));
  self->request(st.intake, submit_timeout, submit_atom::value, std::move(requests))
    .then(
      [=](const std::vector<submit_result>& results) {
        caf::error first_error;
        uint64_t failed = 0;
        for (const auto& result : results)
          if (result.error) {
            failed++;
            if (!first_error)
              first_error = result.error;
          }
        settle(self, sent, count, failed, first_error);
      },
      [=](const caf::error& error) { settle(self, sent, count, count, error); });
}

/// Sends submit messages while fewer than `outstanding` orders are in flight.
void fill_window(driver_pointer self) {
  auto& st = self->state;
  while (st.in_flight < st.options.outstanding && st.next_order < st.options.orders)
    submit_next(self);
}

caf::behavior driver(driver_pointer self, bench_options options, intake_actor intake,
                     std::shared_ptr<bench_outcome> outcome, std::string ref_prefix) {
  self->state.options = std::move(options);
  self->state.intake = std::move(intake);
  self->state.outcome = std::move(outcome);
  self->state.ref_prefix = std::move(ref_prefix);
  return {
    // The start signal.
    [=](submit_atom) {
      self->state.outcome->started = mono_clock::now();
      fill_window(self);
    },
  };
}

/// The database file of a run: --db as given, or a file in a fresh temporary directory that
/// is removed at the end unless --keep.
class bench_database {
public:
  explicit bench_database(const bench_options& options) : keep_(options.keep) {
    if (!options.db_path.empty()) {
      path_ = options.db_path;
      return;
    }
    std::random_device entropy;
    auto base = std::filesystem::temp_directory_path();
    for (int tries = 0; tries < 100 && directory_.empty(); ++tries) {
      auto candidate = base / ("topup-intake-bench-" + std::to_string(getpid()) + "-"
                               + std::to_string(entropy()));
      if (std::filesystem::create_directory(candidate))
        directory_ = candidate;
    }
    if (directory_.empty())
      throw std::runtime_error("cannot create a temporary directory under " + base.string());
    path_ = (directory_ / "orders.db").string();
  }

  ~bench_database() {
    if (directory_.empty())
      return;
    if (keep_) {
      spdlog::info("bench keeps its database {}", path_);
      return;
    }
    std::error_code ignored;
    std::filesystem::remove_all(directory_, ignored);
  }

  bench_database(const bench_database&) = delete;
  bench_database& operator=(const bench_database&) = delete;

  const std::string& path() const { return path_; }

private:
  bool keep_;
  std::filesystem::path directory_;  ///< empty when the user chose the file
  std::string path_;
};

struct caf_config : caf::actor_system_config {
  explicit caf_config(size_t threads) {
    set("scheduler.max-threads", threads);
    // Fair between the store's replies and the driver's flood: the default work stealing
    // can starve actors under sustained load on two cores (apps/app_support.hpp).
    set("scheduler.policy", caf::atom("sharing"));
    register_protocol(*this);
  }
};

double milliseconds_of(latency_histogram::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

/// Stops long-lived actors on every way out of run(): ~actor_system waits for all actors, and
/// the store and intake would otherwise run forever.
class actor_stopper {
public:
  actor_stopper(caf::scoped_actor& self, std::vector<caf::actor> actors)
    : self_(self), actors_(std::move(actors)) {}
  ~actor_stopper() { stop(); }
  actor_stopper(const actor_stopper&) = delete;
  actor_stopper& operator=(const actor_stopper&) = delete;

  void stop() {
    for (const auto& handle : actors_) {
      self_->send_exit(handle, caf::exit_reason::user_shutdown);
      self_->wait_for(handle);
    }
    actors_.clear();
  }

private:
  caf::scoped_actor& self_;
  std::vector<caf::actor> actors_;
};

/// The store's counters; healthy is false when it did not answer.
store_stats ask_store_stats(caf::scoped_actor& self, const store_actor& store) {
  store_stats stats;
  stats.healthy = false;
  self->request(store, std::chrono::seconds(30), stats_atom::value)
    .receive([&](store_stats& answer) { stats = answer; },
             [&](caf::error& error) {
               spdlog::error("bench cannot read the store's stats: {}", describe(error));
             });
  return stats;
}

/// Prints the JSON line and the summary; returns the process exit code.
int report(const bench_options& options, const bench_outcome& outcome,
           const store_stats& written) {
  if (outcome.accepted + outcome.failed != options.orders) {
    spdlog::error("bench driver stopped after {} of {} answers", outcome.accepted + outcome.failed,
                  options.orders);
    return 1;
  }
  auto seconds = std::chrono::duration<double>(outcome.finished - outcome.started).count();
  auto per_second = [&](uint64_t count) {
    return seconds > 0 ? static_cast<double>(count) / seconds : 0.0;
  };
  auto rows_per_commit = written.commits > 0 ? static_cast<double>(written.rows_written)
                                                 / static_cast<double>(written.commits)
                                             : 0.0;
  auto p50_ms = milliseconds_of(outcome.latencies.quantile(0.50));
  auto p99_ms = milliseconds_of(outcome.latencies.quantile(0.99));
  auto max_ms = milliseconds_of(outcome.latencies.max());
  nlohmann::json line{
    {"orders", options.orders},
    {"seconds", seconds},
    {"accepted_per_s", per_second(outcome.accepted)},
    {"p50_ms", p50_ms},
    {"p99_ms", p99_ms},
    {"max_ms", max_ms},
    {"commits", written.commits},
    {"commits_per_s", per_second(written.commits)},
    {"rows_per_commit", rows_per_commit},
    {"synchronous", options.synchronous},
    {"batch", options.batch},
    {"outstanding", options.outstanding},
    {"failed", outcome.failed},
    {"max_batch", options.max_batch},
    {"threads", options.threads},
  };
  std::cout << line.dump() << std::endl;
  spdlog::info("bench accepted {} of {} orders in {:.2f} s: {:.0f}/s, ack p50 {:.2f} ms, "
               "p99 {:.2f} ms, max {:.2f} ms; {} commits of {:.0f} rows (synchronous={}, "
               "batch={}, outstanding={})",
               outcome.accepted, options.orders, seconds, per_second(outcome.accepted), p50_ms,
               p99_ms, max_ms, written.commits, rows_per_commit, options.synchronous,
               options.batch, options.outstanding);
  if (outcome.failed > 0) {
    spdlog::error("bench: {} orders were not accepted; the first error: {}", outcome.failed,
                  outcome.first_error);
    return 1;
  }
  return 0;
}

/// Runs the benchmark; returns the process exit code.
int run(const bench_options& options) {
  bench_database database{options};
  store_config store_cfg;
  store_cfg.sqlite_path = database.path();
  store_cfg.synchronous =
    options.synchronous == "full" ? sqlite_synchronous::full : sqlite_synchronous::normal;
  store_cfg.max_batch = options.max_batch;
  intake_options intake_opts;
  intake_opts.rules = bench_rules();
  intake_opts.node_name = "bench";
  auto time = std::make_shared<topup::system_clock>();
  auto outcome = std::make_shared<bench_outcome>();
  auto ref_prefix = "bench-" + to_base36(static_cast<uint64_t>(time->wall_ms())) + "-";

  caf_config cfg{options.threads};
  caf::actor_system system{cfg};
  caf::scoped_actor self{system};
  auto store = spawn_store(system, store_cfg, time);
  auto intake = system.spawn(topup::intake, intake_opts, time, store, order_sink_actor{});
  actor_stopper stopper{self, {caf::actor_cast<caf::actor>(intake),
                               caf::actor_cast<caf::actor>(store)}};
  // The store answers nothing before it has opened the database, so this also waits for that.
  if (!ask_store_stats(self, store).healthy) {
    spdlog::error("bench cannot use the database {}", database.path());
    return 1;
  }
  auto submitter = system.spawn(driver, options, intake, outcome, ref_prefix);
  self->send(submitter, submit_atom::value);
  // Bounded: every request of the driver has a timeout.
  self->wait_for(submitter);
  auto written = ask_store_stats(self, store);
  stopper.stop();
  return report(options, *outcome, written);
}

} // namespace

int main(int argc, char** argv) {
  bench_options options;
  CLI::App app{"Measures intake's durable acknowledgements: spawns the store (SQLite) and intake "
               "in this process, keeps --outstanding orders in flight until --orders are "
               "acknowledged, and prints one JSON line (orders, seconds, accepted_per_s, p50_ms, "
               "p99_ms, max_ms, commits, commits_per_s, rows_per_commit, ...) on stdout and a "
               "summary on stderr. Exits 1 if any order was not accepted.",
               "topup-intake-bench"};
  app.add_option("--orders", options.orders, "Orders to submit, each with a new client ref")
    ->capture_default_str()
    ->check(CLI::PositiveNumber);
  app.add_option("--outstanding", options.outstanding,
                 "Orders in flight (sent, not yet answered); with --batch, whole messages are "
                 "sent while fewer than this are in flight")
    ->capture_default_str()
    ->check(CLI::PositiveNumber);
  app.add_option("--batch", options.batch,
                 "Orders per submit message; above 1 uses intake's batch handler")
    ->capture_default_str()
    ->check(CLI::PositiveNumber);
  app.add_option("--db", options.db_path,
                 "SQLite file to write (default: a fresh file in a temporary directory, removed "
                 "at the end unless --keep)");
  app.add_flag("--keep", options.keep, "Keep the default temporary database (its path is logged)");
  app.add_option("--synchronous", options.synchronous, "SQLite synchronous level")
    ->capture_default_str()
    ->check(CLI::IsMember({"normal", "full"}));
  app.add_option("--max-batch", options.max_batch, "Rows per store commit at most")
    ->capture_default_str()
    ->check(CLI::PositiveNumber);
  app.add_option("--threads", options.threads, "CAF scheduler threads (the store has its own)")
    ->capture_default_str()
    ->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);

  // spdlog's default logger writes to stdout, which carries the JSON line only.
  spdlog::set_default_logger(spdlog::stderr_color_mt("topup-intake-bench"));
  try {
    return run(options);
  } catch (const std::exception& error) {
    spdlog::error("bench failed: {}", error.what());
    return 1;
  }
}
