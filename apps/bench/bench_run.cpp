#include "apps/bench/bench_run.hpp"

#include "apps/app_support.hpp"
#include "apps/bench/caf_submitter.hpp"
#include "apps/bench/cluster_scenario.hpp"
#include "apps/bench/crash_scenario.hpp"
#include "apps/bench/hold_scenario.hpp"
#include "apps/bench/http_route.hpp"
#include "apps/bench/in_process_engine.hpp"
#include "apps/bench/node_fleet.hpp"
#include "apps/bench/provider_simulator.hpp"
#include "apps/bench/report_output.hpp"
#include "apps/bench/run_progress.hpp"
#include "apps/bench/run_setup.hpp"
#include "apps/bench/stop_signal.hpp"
#include "apps/bench/store_reader.hpp"
#include "apps/bench/verdict.hpp"
#include "domain/host_port.hpp"
#include "persistence/sql_backend.hpp"
#include "persistence/store_layout.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>
#include <spdlog/spdlog.h>

#include <iostream>
#include <set>
#include <thread>
#include <unistd.h>

namespace topup::bench {

namespace fs = std::filesystem;

bench_run::bench_run(bench_options options, workload load, config cfg, fs::path run_dir)
  : o_(std::move(options)), load_(std::move(load)), cfg_(std::move(cfg)),
    run_dir_(std::move(run_dir)), node_config_paths_{fs::absolute(o_.config_path)},
    orders_(std::make_shared<order_generator>(
      run_ref_prefix(load_.name, static_cast<uint64_t>(wall_now_ms())), o_.seed)) {}

bench_run::~bench_run() = default;

void bench_run::kill_children() {
  if (fleet_)
    fleet_->kill_all();
  if (sim_)
    sim_->kill();
  if (http_)
    http_->kill_merchant_sim();
}

void bench_run::use_node_configs(std::vector<fs::path> paths) {
  node_config_paths_ = std::move(paths);
  cfg_ = load_node_config(node_config_paths_[0], run_dir_);
}

namespace {

/// Runs one step of the set-up; false, logged as "cannot <what>", when it throws.
template <class Step>
bool set_up(const char* what, Step&& step) {
  try {
    step();
    return true;
  } catch (const std::exception& error) {
    spdlog::error("cannot {}: {}", what, error.what());
    return false;
  }
}

} // namespace

bool bench_run::prepare_scenarios() {
  // The providers the configuration simulates in the node, played by the simulator.
  if (!o_.provider_sim_binary.empty() && !set_up("run the providers out of process", [&] {
        sim_ = std::make_unique<provider_simulator>(o_.provider_sim_binary, o_.config_path,
                                                    run_dir_);
        use_node_configs({sim_->node_config_path()});
      }))
    return false;
  if (o_.clustered() && !set_up("set the cluster up", [&] {
        cluster_ = std::make_unique<cluster_scenario>(o_, node_config_paths_[0], run_dir_);
        use_node_configs(cluster_->node_config_paths());
        cluster_->open_leases(cfg_.store);
      }))
    return false;
  return !o_.via_http() || set_up("set the HTTP API up", [&] {
    http_ = std::make_unique<http_route>(o_, node_config_paths_[0], run_dir_);
    use_node_configs({http_->node_config_path()});
  });
}

std::optional<std::vector<gateway_actor>> bench_run::start_nodes(steady_time& node_ready) {
  if (o_.in_process) {
    // As topup-node does before it starts: the shard count recorded in the store, which is
    // where every reader of the store (this bench's among them) learns how many files to read.
    if (!set_up("open the store", [&] { cfg_.store = open_store_shards(cfg_.store); }))
      return std::nullopt;
    engine_ = std::make_unique<in_process_engine>(*system_, cfg_);
    node_ready = steady_clock::now();
    return std::vector<gateway_actor>{engine_->entry};
  }
  if (!o_.node_binary.empty()) {
    for (size_t i = 0; i < fleet_->size(); ++i)
      if (!fleet_->start(i))
        return std::nullopt;
    node_ready = fleet_->process(fleet_->size() - 1)->ready_at();
  } else {
    auto node = *parse_host_port(o_.connect).address;  // checked with the options
    fleet_->set_endpoint(0, node.host, node.port);
  }
  auto gateways = fleet_->connect_all(*system_);
  if (o_.node_binary.empty())
    node_ready = steady_clock::now();
  return gateways;
}

void bench_run::start_submitting(const std::vector<gateway_actor>& gateways) {
  for (size_t i = 0; i < gateways.size(); ++i)
    shared_->connected[i] = true;
  if (http_) {
    http_->start_submitting(shared_, load_, orders_, start_);
    return;
  }
  driver_ = spawn_caf_submitter(*system_, load_, shared_, orders_, start_,
                                std::chrono::milliseconds(o_.submit_timeout_ms));
  for (size_t i = 0; i < gateways.size(); ++i)
    caf::anon_send(driver_, uint64_t{i}, gateways[i]);
}

int bench_run::run() {
  caf_cfg_ = std::make_unique<caf::actor_system_config>();
  configure_caf(*caf_cfg_, o_.in_process ? cfg_.node.scheduler_threads : 2,
                cfg_.node.heartbeat_interval_ms, cfg_.node.connection_timeout_ms);
  system_ = std::make_unique<caf::actor_system>(*caf_cfg_);

  if (!prepare_scenarios())
    return exit_failed;
  auto node_count = o_.in_process || !o_.connect.empty() ? size_t{1} : size_t{o_.nodes};
  std::optional<pid_t> outside_pid;
  if (o_.in_process)
    outside_pid = ::getpid();
  else if (o_.node_pid > 0)
    outside_pid = static_cast<pid_t>(o_.node_pid);
  fleet_ = std::make_unique<node_fleet>(
    node_count,
    node_launch{o_.node_binary, node_config_paths_, run_dir_, o_.clustered(),
                load_.name == "hold"},
    outside_pid);
  crash_ = std::make_unique<crash_scenario>(load_, *fleet_, cluster_.get());
  steady_time node_ready;
  auto gateways = start_nodes(node_ready);
  if (!gateways) {
    stop_everything();
    return exit_failed;
  }
  start_ = steady_clock::now();
  start_wall_ms_ = wall_now_ms();
  node_start_to_load_ms_ = std::chrono::duration<double, std::milli>(start_ - node_ready).count();
  if (sim_)
    spdlog::info("load starts {:.0f} ms after the provider simulator reported listening (its "
                 "outage windows count from its start)",
                 std::chrono::duration<double, std::milli>(start_ - sim_->ready_at()).count());
  else if (fleet_->process(0))
    spdlog::info("load starts {:.0f} ms after the node reported listening (provider outage "
                 "windows count from the node's start)",
                 node_start_to_load_ms_);
  progress_ = std::make_unique<run_progress>(load_, cfg_.store, o_.clustered(),
                                             orders_->ref_prefix(), start_);
  shared_ = std::make_shared<shared_book>(load_.orders, start_, node_count);
  start_submitting(*gateways);
  run_load();
  interrupted_ = stop_requested();
  if (load_.name == "hold") {
    if (!interrupted_ && measure_holding(*fleet_, hold_)) {
      caf::anon_send_exit(driver_, caf::exit_reason::user_shutdown);
      driver_ = nullptr;
      restart_and_measure(*fleet_, hold_);
    }
    stop_everything();
    return report_hold();
  }
  if (!interrupted_)
    wait_for_completion();
  if (http_) {
    http_->stop_submitting();
    if (http_->calls_back() && !stop_requested())
      http_->wait_for_callbacks(progress_->terminal_now());
  }
  interrupted_ = stop_requested();
  stop_everything();
  return report();
}

void bench_run::run_load() {
  std::vector<steady_time> next_connect(fleet_->size(), start_);
  // A node that went away without a planned kill gets this long to come back.
  const auto lost_node_limit = std::chrono::seconds(30);
  while (!stop_requested()) {
    auto now = steady_clock::now();
    auto t = seconds_between(start_, now);
    {
      std::lock_guard<std::mutex> lock{shared_->mutex};
      if (shared_->book.finished())
        break;
    }
    if (!crash_->step(t, now))
      break;
    bool gave_up = false;
    for (size_t i = 0; i < fleet_->size(); ++i) {
      if (shared_->connected[i] || engine_ || now < next_connect[i])
        continue;
      if (auto again = fleet_->reconnect(*system_, i, now, start_)) {
        shared_->connected[i] = true;
        caf::anon_send(driver_, uint64_t{i}, *again);
      }
      next_connect[i] = now + std::chrono::milliseconds(100);
      if (!crash_->planned_gap(i) && fleet_->lost_longer_than(i, now, lost_node_limit)) {
        spdlog::error("the node at {}:{} is gone for more than {} s; giving up",
                      fleet_->endpoint(i).first, fleet_->endpoint(i).second,
                      std::chrono::duration_cast<std::chrono::seconds>(lost_node_limit).count());
        gave_up = true;
      }
    }
    if (gave_up)
      break;
    fleet_->note_peak_rss();
    progress_->show(*shared_, now, fleet_->all_up() ? "load" : "node down");
    // Finer steps while a failover is timed.
    std::this_thread::sleep_for(std::chrono::milliseconds(crash_->timing_failover() ? 10 : 50));
  }
  progress_->end_line();
}

void bench_run::wait_for_completion() {
  uint64_t acked = 0;
  steady_time last_ack;
  {
    std::lock_guard<std::mutex> lock{shared_->mutex};
    acked = shared_->book.acknowledged();
    last_ack = start_ + shared_->book.last_ack();
  }
  // Every acknowledged order has a final state by its deadline (plus grace); a little more
  // for the last commits and the store reader's view.
  auto limit = o_.completion_wait_s
                 ? std::chrono::duration_cast<steady_clock::duration>(
                   std::chrono::duration<double>(*o_.completion_wait_s))
                 : std::chrono::milliseconds(load_.deadline_ms + load_.grace_ms + 10000);
  auto until = last_ack + limit;
  progress_->count_anew();
  while (progress_->terminal_now() < acked && !stop_requested()) {
    auto now = steady_clock::now();
    if (now >= until) {
      wait_timed_out_ = true;
      break;
    }
    fleet_->note_peak_rss();
    progress_->show(*shared_, now, "draining");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  progress_->show(*shared_, steady_clock::now(), "done", true);
  progress_->end_line();
}

void bench_run::stop_everything() {
  fleet_->note_peak_rss();
  if (driver_)
    caf::anon_send_exit(driver_, caf::exit_reason::user_shutdown);
  if (http_)
    http_->stop_submitting();
  if (engine_)
    engine_->stop();
  fleet_->stop();
  if (sim_)
    sim_->stop();
  if (http_)
    http_->stop_merchant_sim();
}

template <class Report>
void bench_run::take_intake_figures(Report& r) {
  std::lock_guard<std::mutex> lock{shared_->mutex};
  const auto& book = shared_->book;
  r.offered = book.offered();
  r.acknowledged = book.acknowledged();
  r.refused = book.refused();
  r.retries = book.retries();
  r.load_seconds = std::chrono::duration<double>(book.last_ack()).count();
  r.accept_latency = summarize(book.ack_latency());
  if (!shared_->first_refusal.empty())
    spdlog::error("{} orders refused; the first: {}", book.refused(), shared_->first_refusal);
}

void bench_run::read_store(run_report& r, std::vector<stored_order>& acknowledged_rows,
                           std::optional<std::vector<audited_order>>& run_orders) {
  try {
    store_reader reader{cfg_.store};
    run_orders.emplace();
    std::set<std::string> counted;
    for (auto& [ref, row] : reader.orders(orders_->ref_prefix())) {
      run_orders->push_back(audited(row));
      auto n = orders_->number_of(ref);
      if (n && shared_->book.is_acknowledged(*n) && counted.insert(ref).second)
        acknowledged_rows.push_back(std::move(row));
    }
    if (!sim_)
      for (auto& [provider, starts] : reader.call_starts_by_provider(orders_->ref_prefix()))
        r.busiest_second[provider] = max_in_window(starts, 1000);
    auto killed_at_wall_ms = crash_->killed_at_wall_ms();
    if (r.cluster && killed_at_wall_ms)
      if (auto first = reader.first_call_after(o_.kill_owner_of, *killed_at_wall_ms))
        r.cluster->calls_resumed_ms = static_cast<double>(*first - *killed_at_wall_ms);
  } catch (const std::exception& error) {
    spdlog::error("cannot read the store {}: {}", describe_target(cfg_.store), error.what());
    r.audit_error = std::string{"cannot read the store: "} + error.what();
  }
}

int bench_run::report() {
  run_report r;
  r.load = load_;
  r.mode = o_.in_process   ? "in-process"
           : o_.clustered() ? "cluster"
           : o_.via_http()  ? o_.via
                            : "remote";
  take_intake_figures(r);
  r.run_seconds = seconds_between(start_, steady_clock::now());
  r.node_start_to_load_ms = node_start_to_load_ms_;
  r.peak_rss_kib = fleet_->peak_rss_kib();
  r.node_starts = fleet_->starts();
  if (cluster_) {
    cluster_->figures().peak_rss_kib = fleet_->peak_rss_by_node();
    r.cluster = cluster_->figures();
  }
  r.reconnects = fleet_->reconnects();
  r.failed_connects = fleet_->failed_connects();
  r.completion_wait_timed_out = wait_timed_out_;
  {
    std::lock_guard<std::mutex> lock{shared_->mutex};
    r.refusals_by_error = shared_->refusals_by_error;
    r.given_up = shared_->book.given_up();
  }
  r.ref_prefix = orders_->ref_prefix();
  r.interrupted = interrupted_;
  if (sim_) {
    r.providers = "provider-sim";
    r.provider_start_to_load_ms =
      std::chrono::duration<double, std::milli>(start_ - sim_->ready_at()).count();
  }

  std::vector<stored_order> rows;            // acknowledged orders, for the figures
  std::optional<std::vector<audited_order>> audited_orders;  // every stored order of the run
  read_store(r, rows, audited_orders);
  for (const auto& provider : cfg_.providers)
    r.provider_rates[provider.name] = provider.rate;
  if (sim_ && sim_->ledger()) {
    // The simulator counts status queries too, and its ledger outlived every node process.
    r.sim_ledger = sim_->ledger();
    for (const auto& provider : sim_->ledger()->providers)
      r.busiest_second[provider.name] = provider.max_calls_in_1s_window;
  }
  if (audited_orders)
    audit_against_ledgers(r, *audited_orders,
                          sim_ ? std::vector<std::string>{sim_->ledger_path()} : ledger_files(cfg_),
                          !o_.connect.empty());
  auto figures = compute_completion(rows, r.acknowledged, load_, start_wall_ms_);
  auto violations = judge(r, figures);
  auto line = to_json(r, figures);
  line.update(verdict_json(violations));
  if (http_)
    http_->add_callback_figures(line, rows);
  print_verdict(line, violations, r);
  if (!o_.svg_path.empty())
    write_chart(o_.svg_path, r, figures);
  if (interrupted_)
    return exit_interrupted;
  return violations.empty() ? exit_ok : exit_failed;
}

int bench_run::report_hold() {
  auto& r = hold_;
  r.load = load_;
  r.interrupted = stop_requested();
  r.ref_prefix = orders_->ref_prefix();
  take_intake_figures(r);
  std::cout << to_json(r).dump() << std::endl;
  if (r.interrupted)
    return exit_interrupted;
  return r.acknowledged == load_.orders && r.recovered ? exit_ok : exit_failed;
}

} // namespace topup::bench
