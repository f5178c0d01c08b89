// topup-bench: the load generator of WORKLOAD (bench/README.md; see `topup-bench --help`).
// Drives a node over the remote protocol (or, with --in-process, an engine in its own actor
// system), with its providers simulated in the node or played by topup-provider-sim, then reads the
// node's store and the providers' ledgers for the figures, and prints them as one JSON line
// on stdout. SIGINT/SIGTERM stop the run: the node and simulator it started are stopped and
// the figures so far printed (exit 130).
//
// The workload logic (pacing, bookkeeping, figures, output) lives in apps/bench/ and is
// unit-tested without an actor system (tests/bench_tests.cpp); this file is the plumbing: the
// node's process, the connection, one driver actor, and the main loop's timeline.

#include "actors/gateway.hpp"
#include "actors/supervisor.hpp"
#include "actors/watch_hub.hpp"
#include "apps/app_support.hpp"
#include "apps/merchant_sim/receipt_ledger.hpp"
#include "apps/bench/cluster_setup.hpp"
#include "apps/bench/figures.hpp"
#include "apps/bench/http_submitter.hpp"
#include "apps/bench/merchant_setup.hpp"
#include "apps/bench/order_generator.hpp"
#include "apps/bench/pacing.hpp"
#include "apps/bench/progress_line.hpp"
#include "apps/bench/provider_setup.hpp"
#include "apps/bench/server_process.hpp"
#include "apps/bench/store_reader.hpp"
#include "apps/bench/submission_feed.hpp"
#include "apps/bench/svg_chart.hpp"
#include "apps/bench/verdict.hpp"
#include "apps/bench/workload.hpp"
#include "config/config.hpp"
#include "config/json_reader.hpp"
#include "domain/host_port.hpp"
#include "domain/ownership.hpp"
#include "messages/errors.hpp"
#include "messages/interfaces.hpp"
#include "persistence/lease_store.hpp"
#include "persistence/sql_backend.hpp"
#include "providers/ledger.hpp"

#include <CLI/CLI.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <caf/io/all.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <iostream>
#include <csignal>
#include <mutex>
#include <set>
#include <thread>
#include <unistd.h>

using namespace topup;
using namespace topup::bench;
namespace fs = std::filesystem;

namespace {

constexpr int exit_ok = 0;
constexpr int exit_failed = 1;  ///< the run could not be carried out, or its verdict is fail
constexpr int exit_usage = 2;
constexpr int exit_interrupted = 130;  ///< stopped by SIGINT/SIGTERM, as shells report Ctrl-C

/// Set by SIGINT/SIGTERM; every wait of the run looks at it.
std::atomic<bool> stop_requested{false};

extern "C" void request_stop(int) {
  stop_requested = true;
}

void install_stop_handlers() {
  struct sigaction action {};
  action.sa_handler = request_stop;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);
}

using bench_tick_atom = caf::atom_constant<caf::atom("btick")>;
/// How often the driver looks at the schedule and sends what is due or queued.
constexpr auto tick_interval = std::chrono::milliseconds(5);

struct bench_options {
  std::string workload_name;
  std::optional<uint64_t> orders, outstanding, batch;
  std::optional<double> rate, duration_s, kill_at_s, restart_at_s;
  std::optional<int64_t> deadline_ms;
  std::string node_binary, config_path, connect, run_dir, svg_path;
  std::string provider_sim_binary;
  bool in_node_providers = false;
  uint64_t nodes = 1;
  std::string postgresql;     ///< the cluster's shared store; empty: a single SQLite node
  std::string kill_owner_of;  ///< cluster w3: the provider whose lease is watched
  bool kill_owner_only = false;  ///< cluster w3: kill its owner alone, not every node
  cluster_timing timing;
  int64_t node_pid = 0;
  bool in_process = false;
  uint64_t seed = 1;
  int64_t submit_timeout_ms = 10000;
  std::optional<double> completion_wait_s;
  std::string log_level = "warn";
  /// How orders reach the node: "caf" (the remote protocol), "http" (POST /v1/orders, one
  /// order a request) or "http-batch" (POST /v1/orders/batch, --batch orders a request).
  std::string via = "caf";
  uint64_t http_connections = 16;
  std::string merchant_sim_binary;  ///< with --via http*: callbacks go to this simulator
  bool via_http() const { return via != "caf"; }
};

int64_t wall_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

double seconds_between(steady_time from, steady_time to) {
  return std::chrono::duration<double>(to - from).count();
}

// --- the driver actor -------------------------------------------------------------------------

struct driver_state {
  static constexpr const char* name = "bench_driver";
  workload load;
  std::shared_ptr<shared_book> shared;
  std::shared_ptr<const order_generator> orders;
  /// By node; null while not connected to it. Submissions go round the connected ones.
  std::vector<gateway_actor> gateways;
  size_t next_gateway = 0;
  steady_time start;
  std::chrono::milliseconds submit_timeout{10000};
};

using driver_pointer = caf::stateful_actor<driver_state>*;

/// The connected gateway whose turn it is; null when none is connected.
gateway_actor next_gateway(driver_state& st) {
  for (size_t tried = 0; tried < st.gateways.size(); ++tried) {
    auto& candidate = st.gateways[st.next_gateway++ % st.gateways.size()];
    if (candidate)
      return candidate;
  }
  return {};
}

bool any_connected(const driver_state& st) {
  return std::any_of(st.gateways.begin(), st.gateways.end(),
                     [](const gateway_actor& gateway) { return static_cast<bool>(gateway); });
}

/// What one order's answer means for the book; `retry_after` gets the node's hint, if any.
answer classify(const submit_result& result, shared_book& shared,
                std::chrono::milliseconds& retry_after) {
  retry_after = std::chrono::milliseconds{0};
  if (!result.error)
    return answer::acknowledged;
  auto failure = as_failure(result.error);
  auto code = failure ? std::string{to_string(failure->code)} : "other";
  if (failure) {
    switch (failure->code) {
      case errc::overloaded:
      case errc::unavailable:
      case errc::shutting_down:
        shared.note_refusal(code, true, {});
        retry_after = std::chrono::seconds{failure->retry_after_s};
        return answer::retry;
      default: break;
    }
  }
  shared.note_refusal(code, false, describe(result.error));
  return answer::refused;
}

/// Offers what the loop allows now and sends everything queued, in messages of `batch`.
void pump(driver_pointer self) {
  auto& st = self->state;
  auto& shared = *st.shared;
  std::vector<submission_book::batch> batches;
  {
    std::lock_guard<std::mutex> lock{shared.mutex};
    batches = due_messages(st.load, shared.book, st.start, steady_clock::now(),
                           any_connected(st), st.load.batch);
  }
  for (auto& batch : batches) {
    std::vector<order_request> requests;
    requests.reserve(batch.orders.size());
    for (auto n : batch.orders)
      requests.push_back(st.orders->nth(n));
    auto id = batch.id;
    self->request(next_gateway(st), st.submit_timeout, submit_atom::value, std::move(requests))
      .then(
        [self, id](std::vector<submit_result>& results) {
          auto& shared_state = *self->state.shared;
          bool retrying = false;
          {
            std::lock_guard<std::mutex> lock{shared_state.mutex};
            std::vector<answer> answers;
            std::vector<std::chrono::milliseconds> hints(results.size());
            answers.reserve(results.size());
            for (size_t i = 0; i < results.size(); ++i) {
              answers.push_back(classify(results[i], shared_state, hints[i]));
              retrying |= answers.back() == answer::retry;
            }
            shared_state.book.answered(id, answers, hints, steady_clock::now());
          }
          // Orders the node pushed back wait for the next tick: a short pause, not a spin.
          if (!retrying)
            pump(self);
        },
        [self, id](caf::error&) {
          std::lock_guard<std::mutex> lock{self->state.shared->mutex};
          self->state.shared->book.unanswered(id);
        });
  }
}

caf::behavior driver(driver_pointer self, workload load, std::shared_ptr<shared_book> shared,
                     std::shared_ptr<const order_generator> orders, steady_time start,
                     std::chrono::milliseconds submit_timeout) {
  auto& st = self->state;
  st.load = std::move(load);
  st.gateways.resize(shared->connected.size());
  st.shared = std::move(shared);
  st.orders = std::move(orders);
  st.start = start;
  st.submit_timeout = submit_timeout;
  self->set_down_handler([self](caf::down_msg& down) {
    auto& state = self->state;
    auto lost = std::find_if(state.gateways.begin(), state.gateways.end(),
                             [&](const gateway_actor& gateway) {
                               return gateway && gateway.address() == down.source;
                             });
    if (lost == state.gateways.end())
      return;
    // Requests to a dead proxy end only at their timeout: give them up now and offer their
    // orders again, to the nodes still connected or once connected anew (answers that still
    // come are ignored; a resubmission of an order another node accepted is answered with
    // it, by idempotency).
    *lost = nullptr;
    state.shared->connected[static_cast<size_t>(lost - state.gateways.begin())] = false;
    std::lock_guard<std::mutex> lock{state.shared->mutex};
    state.shared->book.disconnected();
  });
  self->send(self, bench_tick_atom::value);
  return {
    [self](bench_tick_atom) {
      pump(self);
      self->delayed_send(self, tick_interval, bench_tick_atom::value);
    },
    [self](uint64_t node, gateway_actor& gateway) {
      self->monitor(gateway);
      self->state.gateways.at(node) = std::move(gateway);
      pump(self);
    },
  };
}

// --- connecting -------------------------------------------------------------------------------

/// Connects and checks the protocol, trying again until `timeout`.
std::optional<gateway_actor> connect_node(caf::actor_system& system, const std::string& host,
                                          uint16_t port, std::chrono::milliseconds timeout,
                                          const caf::actor_addr& stale = {},
                                          bool quiet = false) {
  caf::scoped_actor self{system};
  auto until = steady_clock::now() + timeout;
  std::string last_error = "no attempt";
  while (steady_clock::now() < until) {
    auto gateway = system.middleman().remote_actor<gateway_actor>(host, port);
    // The middleman caches a proxy per host:port until it noticed the old node is gone.
    if (gateway && (!stale || gateway->address() != stale)) {
      bool ok = false;
      self->request(*gateway, std::chrono::seconds(5), hello_atom::value, protocol_version)
        .receive(
          [&](uint32_t node_protocol, std::string&) {
            ok = node_protocol == protocol_version;
            if (!ok)
              last_error = "node speaks protocol " + std::to_string(node_protocol);
          },
          [&](caf::error& error) { last_error = system.render(error); });
      if (ok)
        return *gateway;
    } else if (!gateway) {
      last_error = system.render(gateway.error());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (quiet)
    spdlog::debug("cannot connect to the node at {}:{}: {}", host, port, last_error);
  else
    spdlog::error("cannot connect to the node at {}:{}: {}", host, port, last_error);
  return std::nullopt;
}

// --- the provider simulator ------------------------------------------------------------------

/// GET `target` from an HTTP server on `host`:`port`; the body of a 200 answer, throws
/// otherwise.
std::string http_get(const std::string& host, uint16_t port, const std::string& target) {
  namespace beast = boost::beast;
  namespace http = beast::http;
  boost::asio::io_context io;
  boost::asio::ip::tcp::resolver resolver{io};
  boost::asio::ip::tcp::socket socket{io};
  boost::asio::connect(socket, resolver.resolve(host, std::to_string(port)));
  http::request<http::empty_body> request{http::verb::get, target, 11};
  request.set(http::field::host, host);
  http::write(socket, request);
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  http::read(socket, buffer, response);
  if (response.result() != http::status::ok)
    throw std::runtime_error("GET " + target + " answered "
                             + std::to_string(response.result_int()));
  return response.body();
}

void write_json_file(const fs::path& path, const nlohmann::json& value) {
  std::ofstream out{path, std::ios::trunc};
  out << value.dump(2) << "\n";
  out.close();
  if (!out)
    throw std::runtime_error("cannot write " + path.string());
}

// --- the engine inside the bench (--in-process) -----------------------------------------------

struct in_process_engine {
  in_process_engine(caf::actor_system& system, const config& cfg) : self(system) {
    auto time = std::make_shared<system_clock>();
    auto options = make_supervisor_options(cfg, time);
    auto events = options.events;
    node_supervisor = system.spawn(supervisor, std::move(options), time);
    hub = system.spawn(watch_hub, events);
    events->attach(hub);
    entry = system.spawn(gateway, cfg.node.name, gateway_address(cfg.node), node_supervisor, hub,
                         std::make_shared<std::atomic<bool>>(true));
  }
  void stop() {
    for (auto handle : {caf::actor_cast<caf::actor>(entry), caf::actor_cast<caf::actor>(hub),
                        caf::actor_cast<caf::actor>(node_supervisor)})
      self->send_exit(handle, caf::exit_reason::user_shutdown);
  }
  caf::scoped_actor self;
  supervisor_actor node_supervisor;
  watch_hub_actor hub;
  gateway_actor entry;
};

// --- run ----------------------------------------------------------------------------------------

/// Relative store and ledger paths of the configuration, made absolute under `dir` (where
/// the bench runs the node).
void anchor_paths(config& cfg, const fs::path& dir) {
  auto anchor = [&](std::string& path) {
    if (!path.empty() && fs::path{path}.is_relative())
      path = (dir / path).lexically_normal().string();
  };
  anchor(cfg.store.sqlite_path);
  for (auto& provider : cfg.providers)
    if (auto sim = std::get_if<simulated_adapter_config>(&provider.adapter))
      anchor(sim->ledger_path);
}

std::vector<std::string> ledger_files(const config& cfg) {
  std::vector<std::string> files;
  for (const auto& provider : cfg.providers)
    if (auto sim = std::get_if<simulated_adapter_config>(&provider.adapter))
      if (!sim->ledger_path.empty())
        files.push_back(sim->ledger_path);
  return files;
}

workload build_workload(const bench_options& o) {
  auto w = *workload_named(o.workload_name);
  if (o.rate)
    w.rate = *o.rate;
  if (o.duration_s && w.loop == loop_kind::open)
    w.orders = static_cast<uint64_t>(w.rate * *o.duration_s);
  if (w.give_up_at_s)
    w.give_up_at_s = w.duration_s();  // the end of the load, whatever its rate and length
  if (o.orders)
    w.orders = *o.orders;
  if (o.outstanding)
    w.outstanding = *o.outstanding;
  if (o.batch)
    w.batch = *o.batch;
  if (o.kill_at_s)
    w.kill_at_s = *o.kill_at_s;
  if (o.restart_at_s)
    w.restart_at_s = *o.restart_at_s;
  if (o.deadline_ms)
    w.deadline_ms = *o.deadline_ms;
  return w;
}

class bench_run {
public:
  bench_run(bench_options options, workload load, config cfg, fs::path run_dir)
    : o_(std::move(options)), load_(std::move(load)), cfg_(std::move(cfg)),
      run_dir_(std::move(run_dir)), node_config_paths_{fs::absolute(o_.config_path)},
      orders_(std::make_shared<order_generator>(
        run_ref_prefix(load_.name, static_cast<uint64_t>(wall_now_ms())), o_.seed)),
      throttle_(::isatty(STDERR_FILENO) == 1) {}

  int run();

  /// Kills the nodes and simulator this run started and that still run (after a failure).
  void kill_children() {
    for (auto& node : nodes_)
      if (node)
        node->kill();
    if (sim_)
      sim_->kill();
    if (merchant_sim_)
      merchant_sim_->kill();
  }

private:
  bool clustered() const { return !o_.postgresql.empty(); }
  bool start_provider_sim();
  bool prepare_http_api();
  void start_submitting(size_t node_count, const std::vector<gateway_actor>& gateways);
  void wait_for_callbacks();
  void add_callback_figures(nlohmann::json& line, const std::vector<stored_order>& rows);
  bool prepare_cluster();
  bool start_node(size_t index);
  std::string node_log(size_t index) const;
  bool interrupted() const { return stop_requested.load(); }
  void run_load();
  void reconnect(size_t index, steady_time now);
  std::vector<size_t> nodes_to_kill();
  void watch_failover(steady_time now);
  void hold_restart();
  void fetch_sim_ledger();
  void audit_run(run_report& r, const std::vector<audited_order>& orders);
  void note_peak_rss();
  void show_progress(steady_time now, const std::string& phase, bool force = false);
  uint64_t terminal_now();
  void wait_for_completion();
  void stop_nodes();
  int report();
  int report_hold();
  /// Copies what the order book knows (offers, acks, retries, ack latency) into a report.
  template <class Report>
  void take_intake_figures(Report& r);

  bench_options o_;
  workload load_;
  config cfg_;  ///< the first node's configuration: where the store and ledgers are
  fs::path run_dir_;
  std::vector<fs::path> node_config_paths_;  ///< by node: the file it is started with
  std::shared_ptr<order_generator> orders_;
  progress_throttle throttle_;

  std::unique_ptr<caf::actor_system_config> caf_cfg_;
  std::unique_ptr<caf::actor_system> system_;
  std::unique_ptr<in_process_engine> engine_;
  std::vector<std::unique_ptr<server_process>> nodes_;
  std::unique_ptr<server_process> sim_;
  std::unique_ptr<server_process> merchant_sim_;
  std::string merchant_ledger_path_;
  http_api_target http_target_;
  std::unique_ptr<http_submitter> http_;
  std::optional<ledger_summary> sim_ledger_;
  std::string sim_ledger_path_;  ///< the simulator's one ledger file
  hold_report hold_;
  /// By node: where its gateway listens, the gateway last connected (a reconnect must not
  /// get the middleman's cached proxy of a killed node back), and since when it is lost.
  std::vector<std::pair<std::string, uint16_t>> endpoints_;
  std::vector<caf::actor_addr> last_gateways_;
  std::vector<std::optional<steady_time>> lost_since_;
  std::vector<uint64_t> peak_rss_by_node_;
  uint64_t node_starts_ = 0;
  uint64_t reconnects_ = 0;
  uint64_t failed_connects_ = 0;
  std::optional<uint64_t> peak_rss_;
  std::unique_ptr<bench::store_reader> store_;

  // Cluster: the kill of the watched provider's owner and what followed.
  std::unique_ptr<lease_store> leases_;
  std::vector<std::string> provider_names_;
  std::optional<cluster_figures> cluster_;
  std::vector<size_t> killed_;  ///< the nodes SIGKILLed (W3)
  int64_t killed_epoch_ = 0;    ///< of the watched provider's lease at the kill
  steady_time killed_at_{};
  int64_t killed_at_wall_ms_ = 0;
  bool restarted_ = false;

  std::shared_ptr<shared_book> shared_;
  caf::actor driver_;
  steady_time start_;
  int64_t start_wall_ms_ = 0;
  double node_start_to_load_ms_ = 0;
  bool wait_timed_out_ = false;
  uint64_t last_done_ = 0;
  steady_time last_done_poll_{};
  bool interrupted_ = false;
  uint64_t rate_base_ = 0;
  steady_time rate_at_{};
  double rate_ = 0;
};

bool bench_run::start_provider_sim() {
  try {
    // The providers the configuration simulates in the node, played by the simulator instead.
    auto node_document = json_config::parse_document(json_config::read_file(o_.config_path));
    auto sim_config_path = run_dir_ / "provider-sim.json";
    fs::create_directories(run_dir_ / "data");
    sim_ledger_path_ = (run_dir_ / "data" / "provider-ledger.db").string();
    write_json_file(sim_config_path, sim_config_for(node_document, sim_ledger_path_));
    sim_ = std::make_unique<server_process>(
      "topup-provider-sim",
      std::vector<std::string>{o_.provider_sim_binary, "--config", sim_config_path.string()},
      run_dir_.string(), (run_dir_ / "provider-sim.log").string());
    auto base_url = "http://" + sim_->host() + ":" + std::to_string(sim_->port());
    node_config_paths_ = {run_dir_ / "node-config.json"};
    write_json_file(node_config_paths_[0],
                    with_http_providers(std::move(node_document), base_url));
    cfg_ = load_config_file(node_config_paths_[0].string());
    anchor_paths(cfg_, run_dir_);
    spdlog::info("provider simulator listening at {}, node configuration {}", base_url,
                 node_config_paths_[0].string());
    return true;
  } catch (const std::exception& error) {
    spdlog::error("cannot run the providers out of process: {}", error.what());
    return false;
  }
}

/// One configuration per node, from the workload's (or the simulator's variant of it): the
/// nodes share the PostgreSQL store and know each other's ports before any starts.
bool bench_run::prepare_cluster() {
  try {
    auto base = json_config::parse_document(json_config::read_file(node_config_paths_[0]));
    provider_names_ = provider_names(base);
    std::vector<uint16_t> ports;
    for (uint64_t i = 0; i < o_.nodes; ++i)
      ports.push_back(process::free_port());
    node_config_paths_.clear();
    for (size_t i = 0; i < ports.size(); ++i) {
      auto path = run_dir_ / (bench_node_name(i) + ".json");
      write_json_file(path, cluster_node_config(base, i, ports, o_.postgresql, o_.timing));
      node_config_paths_.push_back(path);
    }
    cfg_ = load_config_file(node_config_paths_[0].string());
    anchor_paths(cfg_, run_dir_);
    leases_ = std::make_unique<lease_store>(cfg_.store);
    cluster_.emplace();
    cluster_->nodes = o_.nodes;
    cluster_->heartbeat_interval_ms = o_.timing.heartbeat_interval_ms;
    cluster_->down_after_ms = o_.timing.down_after_ms;
    cluster_->lease_ttl_ms = o_.timing.lease_ttl_ms;
    cluster_->watched_provider = o_.kill_owner_of;
    return true;
  } catch (const std::exception& error) {
    spdlog::error("cannot set the cluster up: {}", error.what());
    return false;
  }
}

/// --via http*: the node's configuration with its HTTP API on a free port and, with
/// --merchant-sim-binary, the merchant's callbacks sent to a topup-merchant-sim started here.
bool bench_run::prepare_http_api() {
  try {
    auto document = json_config::parse_document(json_config::read_file(node_config_paths_[0]));
    auto [merchant, secret] = signing_merchant(document);
    std::string callback_url;
    if (!o_.merchant_sim_binary.empty()) {
      fs::create_directories(run_dir_ / "data");
      merchant_ledger_path_ = (run_dir_ / "data" / "merchant-ledger.db").string();
      merchant_sim_ = std::make_unique<server_process>(
        "topup-merchant-sim",
        std::vector<std::string>{o_.merchant_sim_binary, "--merchant", merchant, "--secret",
                                 secret, "--ledger", merchant_ledger_path_, "--listen",
                                 "127.0.0.1:0"},
        run_dir_.string(), (run_dir_ / "merchant-sim.log").string());
      callback_url = "http://" + merchant_sim_->host() + ":"
                     + std::to_string(merchant_sim_->port()) + "/topup/result";
    }
    http_target_ = {"127.0.0.1", process::free_port(), merchant, secret};
    auto path = run_dir_ / "node-http.json";
    write_json_file(path, with_http_api(std::move(document), http_target_.port, callback_url));
    node_config_paths_ = {path};
    cfg_ = load_config_file(path.string());
    anchor_paths(cfg_, run_dir_);
    spdlog::info("orders go to the HTTP API at {}:{} ({}), signed for merchant {}{}",
                 http_target_.host, http_target_.port, o_.via, merchant,
                 callback_url.empty() ? "" : ", callbacks to " + callback_url);
    return true;
  } catch (const std::exception& error) {
    spdlog::error("cannot set the HTTP API up: {}", error.what());
    return false;
  }
}

/// The submitters: the CAF driver on the gateways, or the HTTP connections.
void bench_run::start_submitting(size_t node_count, const std::vector<gateway_actor>& gateways) {
  for (size_t i = 0; i < node_count; ++i) {
    last_gateways_[i] = gateways[i].address();
    shared_->connected[i] = true;
  }
  if (o_.via_http()) {
    http_ = std::make_unique<http_submitter>(
      shared_, load_, orders_, http_target_,
      o_.via == "http" ? http_submit_kind::single : http_submit_kind::batch,
      o_.http_connections, start_, std::chrono::milliseconds(o_.submit_timeout_ms));
    return;
  }
  driver_ = system_->spawn(driver, load_, shared_, orders_, start_,
                           std::chrono::milliseconds(o_.submit_timeout_ms));
  for (size_t i = 0; i < node_count; ++i)
    caf::anon_send(driver_, uint64_t{i}, gateways[i]);
}

/// With the merchant simulator: waits until it received the final notification of every
/// final order (its GET /report), at most a minute, before the node stops sending them.
void bench_run::wait_for_callbacks() {
  if (!merchant_sim_)
    return;
  auto finals = terminal_now();
  auto until = steady_clock::now() + std::chrono::seconds(60);
  while (!interrupted() && steady_clock::now() < until) {
    try {
      auto report = nlohmann::json::parse(
        http_get(merchant_sim_->host(), merchant_sim_->port(), "/report"));
      if (report.value("final_orders", uint64_t{0}) >= finals)
        return;
    } catch (const std::exception& error) {
      spdlog::debug("merchant simulator: {}", error.what());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  spdlog::warn("not every final order's notification arrived within a minute");
}

void bench_run::add_callback_figures(nlohmann::json& line, const std::vector<stored_order>& rows) {
  if (merchant_ledger_path_.empty())
    return;
  try {
    merchant_sim::receipt_ledger ledger{merchant_ledger_path_};
    line["callbacks"] = to_json(callback_figures_of(rows, ledger.all()));
  } catch (const std::exception& error) {
    spdlog::error("cannot read the merchant simulator's ledger: {}", error.what());
  }
}

void bench_run::fetch_sim_ledger() {
  if (!sim_ || sim_->pid() <= 0)
    return;
  try {
    sim_ledger_ = parse_ledger_summary(http_get(sim_->host(), sim_->port(), "/ledger"));
  } catch (const std::exception& error) {
    spdlog::error("cannot read the provider simulator's ledger: {}", error.what());
  }
}

/// Every stored order of the run against every recharge in the providers' ledgers: the
/// simulator's one file, or the files of the providers simulated in the node. The ledgers
/// of a node the bench did not start (--connect) hold earlier runs too: only this run's
/// orders are judged there.
void bench_run::audit_run(run_report& r, const std::vector<audited_order>& orders) {
  auto files = sim_ ? std::vector<std::string>{sim_ledger_path_} : ledger_files(cfg_);
  try {
    auto recharges = ledger::records(files);
    if (!o_.connect.empty()) {
      std::set<std::string> ours;
      for (const auto& order : orders)
        ours.insert(order.id);
      recharges.erase(std::remove_if(recharges.begin(), recharges.end(),
                                     [&](const ledger_record& row) {
                                       return !ours.count(row.order_id);
                                     }),
                      recharges.end());
    }
    r.audit = audit_ledgers(orders, recharges);
  } catch (const std::exception& error) {
    r.audit_error = std::string{"cannot read the ledgers: "} + error.what();
    spdlog::error("{}", r.audit_error);
  }
}

std::string bench_run::node_log(size_t index) const {
  return (run_dir_ / (clustered() ? bench_node_name(index) + ".log" : "node.log")).string();
}

bool bench_run::start_node(size_t index) {
  std::vector<std::string> command{o_.node_binary, "--config",
                                   node_config_paths_.at(index).string()};
  // The hold workload waits for the router's recovery line, logged at info.
  if (load_.name == "hold")
    command.insert(command.end(), {"--log-level", "info"});
  try {
    nodes_.at(index) = std::make_unique<server_process>("topup-node", std::move(command),
                                                        run_dir_.string(), node_log(index));
  } catch (const std::exception& error) {
    spdlog::error("{}", error.what());
    return false;
  }
  ++node_starts_;
  endpoints_.at(index) = {nodes_[index]->host(), nodes_[index]->port()};
  return true;
}

void bench_run::note_peak_rss() {
  auto note = [&](std::optional<uint64_t> now, std::optional<size_t> node = {}) {
    if (!now)
      return;
    peak_rss_ = std::max(peak_rss_.value_or(0), *now);
    if (node)
      peak_rss_by_node_.at(*node) = std::max(peak_rss_by_node_.at(*node), *now);
  };
  if (engine_)
    note(peak_rss_kib(::getpid()));
  else if (o_.node_pid > 0)
    note(peak_rss_kib(static_cast<pid_t>(o_.node_pid)));
  for (size_t i = 0; i < nodes_.size(); ++i)
    if (nodes_[i] && nodes_[i]->pid() > 0)
      note(peak_rss_kib(nodes_[i]->pid()), i);
}

uint64_t bench_run::terminal_now() {
  // Counting a million pending orders every second would only slow the node that holds them.
  if (load_.name == "hold")
    return 0;
  auto now = steady_clock::now();
  if (now - last_done_poll_ < std::chrono::seconds(1))
    return last_done_;
  last_done_poll_ = now;
  try {
    if (!store_ && (clustered() || fs::exists(cfg_.store.sqlite_path)))
      store_ = std::make_unique<bench::store_reader>(cfg_.store);
    if (store_)
      last_done_ = store_->count_terminal(orders_->ref_prefix());
  } catch (const std::exception& error) {
    spdlog::debug("progress: {}", error.what());
  }
  return last_done_;
}

void bench_run::show_progress(steady_time now, const std::string& phase, bool force) {
  progress_sample sample;
  {
    std::lock_guard<std::mutex> lock{shared_->mutex};
    const auto& book = shared_->book;
    sample.offered = book.offered();
    sample.accepted = book.acknowledged();
    sample.in_flight = book.in_flight();
    sample.total = book.total();
  }
  if (now - rate_at_ >= std::chrono::seconds(1)) {
    rate_ = static_cast<double>(sample.accepted - rate_base_) / seconds_between(rate_at_, now);
    rate_base_ = sample.accepted;
    rate_at_ = now;
  }
  sample.done = terminal_now();
  sample.rate = rate_;
  sample.elapsed_s = seconds_between(start_, now);
  sample.phase = phase;
  if (!throttle_.due(now) && !force)
    return;
  auto line = render_progress_line(sample);
  if (throttle_.terminal())
    std::cerr << '\r' << line << "\033[K" << std::flush;
  else
    std::cerr << "topup-bench: " << line << std::endl;
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
  last_done_poll_ = {};
  while (terminal_now() < acked && !interrupted()) {
    auto now = steady_clock::now();
    if (now >= until) {
      wait_timed_out_ = true;
      break;
    }
    note_peak_rss();
    show_progress(now, "draining");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  show_progress(steady_clock::now(), "done", true);
  if (throttle_.terminal())
    std::cerr << '\n';
}

void bench_run::stop_nodes() {
  note_peak_rss();
  if (driver_)
    caf::anon_send_exit(driver_, caf::exit_reason::user_shutdown);
  if (http_)
    http_->stop();
  if (engine_)
    engine_->stop();
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (!nodes_[i])
      continue;
    auto code = nodes_[i]->stop(std::chrono::seconds(20));
    if (code != 0)
      spdlog::warn("the node did not stop cleanly on SIGTERM (see {})", node_log(i));
  }
  if (sim_) {
    fetch_sim_ledger();
    if (sim_->stop(std::chrono::seconds(10)) != 0)
      spdlog::warn("the provider simulator did not stop cleanly on SIGTERM (see {})",
                   (run_dir_ / "provider-sim.log").string());
  }
  if (merchant_sim_ && merchant_sim_->stop(std::chrono::seconds(10)) != 0)
    spdlog::warn("the merchant simulator did not stop cleanly on SIGTERM (see {})",
                 (run_dir_ / "merchant-sim.log").string());
}

int bench_run::run() {
  caf_cfg_ = std::make_unique<caf::actor_system_config>();
  configure_caf(*caf_cfg_, o_.in_process ? cfg_.node.scheduler_threads : 2,
                cfg_.node.heartbeat_interval_ms, cfg_.node.connection_timeout_ms);
  system_ = std::make_unique<caf::actor_system>(*caf_cfg_);

  if (!o_.provider_sim_binary.empty() && !start_provider_sim())
    return exit_failed;
  if (clustered() && !prepare_cluster())
    return exit_failed;
  if (o_.via_http() && !prepare_http_api())
    return exit_failed;
  auto node_count = o_.in_process || !o_.connect.empty() ? size_t{1} : size_t{o_.nodes};
  nodes_.resize(node_count);
  endpoints_.resize(node_count);
  last_gateways_.resize(node_count);
  lost_since_.resize(node_count);
  peak_rss_by_node_.resize(node_count, 0);
  steady_time node_ready;
  std::vector<gateway_actor> gateways(node_count);
  if (o_.in_process) {
    engine_ = std::make_unique<in_process_engine>(*system_, cfg_);
    node_ready = steady_clock::now();
    gateways[0] = engine_->entry;
  } else {
    if (!o_.node_binary.empty()) {
      for (size_t i = 0; i < node_count; ++i)
        if (!start_node(i)) {
          stop_nodes();
          return exit_failed;
        }
      node_ready = nodes_.back()->ready_at();
    } else {
      auto node = *parse_host_port(o_.connect).address;  // checked with the options
      endpoints_[0] = {node.host, node.port};
    }
    for (size_t i = 0; i < node_count; ++i) {
      auto gateway = connect_node(*system_, endpoints_[i].first, endpoints_[i].second,
                                  std::chrono::seconds(10));
      if (!gateway) {
        stop_nodes();
        return exit_failed;
      }
      gateways[i] = *gateway;
    }
    if (o_.node_binary.empty())
      node_ready = steady_clock::now();
  }
  start_ = steady_clock::now();
  start_wall_ms_ = wall_now_ms();
  node_start_to_load_ms_ = std::chrono::duration<double, std::milli>(start_ - node_ready).count();
  if (sim_)
    spdlog::info("load starts {:.0f} ms after the provider simulator reported listening (its "
                 "outage windows count from its start)",
                 std::chrono::duration<double, std::milli>(start_ - sim_->ready_at()).count());
  else if (!nodes_.empty() && nodes_[0])
    spdlog::info("load starts {:.0f} ms after the node reported listening (provider outage "
                 "windows count from the node's start)",
                 node_start_to_load_ms_);
  rate_at_ = start_;
  shared_ = std::make_shared<shared_book>(load_.orders, start_, node_count);
  start_submitting(node_count, gateways);
  run_load();
  interrupted_ = interrupted();
  if (load_.name == "hold") {
    if (!interrupted_)
      hold_restart();
    stop_nodes();
    return report_hold();
  }
  if (!interrupted_)
    wait_for_completion();
  if (http_)
    http_->stop();
  if (!interrupted())
    wait_for_callbacks();
  interrupted_ = interrupted();
  stop_nodes();
  return report();
}

/// The nodes to SIGKILL: every one (WORKLOAD's W3 kills the whole engine), or in a cluster
/// with --kill-owner-only the holder of the watched provider's lease alone (a node failure:
/// the survivors take its providers over).
std::vector<size_t> bench_run::nodes_to_kill() {
  std::vector<size_t> every(nodes_.size());
  std::iota(every.begin(), every.end(), size_t{0});
  if (!clustered())
    return every;
  try {
    auto holder = leases_->holder(o_.kill_owner_of);
    if (!holder) {
      spdlog::error("no node holds provider {} at the kill", o_.kill_owner_of);
      return o_.kill_owner_only ? std::vector<size_t>{} : every;
    }
    killed_epoch_ = holder->epoch;
    cluster_->killed_node = holder->owner;
    if (!o_.kill_owner_only)
      return every;
    for (size_t i = 0; i < nodes_.size(); ++i)
      if (bench_node_name(i) == holder->owner)
        return {i};
    spdlog::error("provider {} is held by {}, not a node of this run", o_.kill_owner_of,
                  holder->owner);
  } catch (const std::exception& error) {
    spdlog::error("cannot read who holds provider {}: {}", o_.kill_owner_of, error.what());
  }
  return {};
}

/// Cluster, after the kill: when a live node holds the watched provider's lease again (a
/// newer epoch: a survivor, or when every node was killed a restarted one), and after the
/// restart, when every provider is held by its planned owner.
void bench_run::watch_failover(steady_time now) {
  if (!cluster_ || killed_.empty())
    return;
  auto since = [](steady_time from, steady_time to) {
    return std::chrono::duration<double, std::milli>(to - from).count();
  };
  try {
    if (!cluster_->failover_ms) {
      auto holder = leases_->holder(o_.kill_owner_of);
      if (holder && holder->epoch > killed_epoch_) {
        cluster_->failover_ms = since(killed_at_, now);
        spdlog::info("provider {} moved from {} to {} {:.0f} ms after the kill",
                     o_.kill_owner_of, cluster_->killed_node, holder->owner,
                     *cluster_->failover_ms);
      }
    }
    auto all_back = std::all_of(killed_.begin(), killed_.end(), [&](size_t i) {
      return nodes_[i] && nodes_[i]->pid() > 0;
    });
    if (restarted_ && !cluster_->rebalanced_ms && all_back) {
      std::vector<std::string> names;
      for (size_t i = 0; i < nodes_.size(); ++i)
        names.push_back(bench_node_name(i));
      auto planned = assign_owners(provider_names_, names);
      bool settled = std::all_of(planned.begin(), planned.end(), [&](const auto& entry) {
        auto holder = leases_->holder(entry.first);
        return holder && holder->owner == entry.second;
      });
      if (settled) {
        cluster_->rebalanced_ms = since(nodes_[killed_.back()]->ready_at(), now);
        spdlog::info("every provider with its planned owner {:.0f} ms after the restart",
                     *cluster_->rebalanced_ms);
      }
    }
  } catch (const std::exception& error) {
    spdlog::debug("cannot read the leases: {}", error.what());
  }
}

/// A node lost (killed, or its connection broke): try again, as a client that does not know
/// when it comes back would; orders meanwhile go to the other nodes or queue in the driver.
void bench_run::reconnect(size_t index, steady_time now) {
  auto again = connect_node(*system_, endpoints_[index].first, endpoints_[index].second,
                            std::chrono::milliseconds(200), last_gateways_[index],
                            /*quiet=*/true);
  if (again) {
    last_gateways_[index] = again->address();
    lost_since_[index].reset();
    ++reconnects_;
    spdlog::info("t={:.1f}s: connected to {}:{} again", seconds_between(start_, now),
                 endpoints_[index].first, endpoints_[index].second);
    shared_->connected[index] = true;
    caf::anon_send(driver_, uint64_t{index}, *again);
    return;
  }
  ++failed_connects_;
  if (!lost_since_[index])
    lost_since_[index] = now;
}

void bench_run::run_load() {
  // The load: progress, the W3 timeline, reconnects.
  bool kill_done = false;
  std::vector<steady_time> next_connect(nodes_.size(), start_);
  // A node that went away without a planned kill gets this long to come back.
  const auto lost_node_limit = std::chrono::seconds(30);
  while (!interrupted()) {
    auto now = steady_clock::now();
    auto t = seconds_between(start_, now);
    {
      std::lock_guard<std::mutex> lock{shared_->mutex};
      if (shared_->book.finished())
        break;
    }
    if (nodes_[0] && load_.kill_at_s && !kill_done && t >= *load_.kill_at_s) {
      kill_done = true;
      note_peak_rss();
      killed_ = nodes_to_kill();
      for (auto i : killed_)
        nodes_[i]->kill();
      killed_at_ = steady_clock::now();
      killed_at_wall_ms_ = wall_now_ms();
      if (cluster_)
        cluster_->killed_nodes = killed_.size();
      spdlog::info("t={:.1f}s: {} of {} nodes killed (SIGKILL)", t, killed_.size(),
                   nodes_.size());
    }
    if (!killed_.empty() && load_.restart_at_s && !restarted_ && t >= *load_.restart_at_s) {
      restarted_ = true;
      bool started = true;
      for (auto i : killed_) {
        started = started && start_node(i);
        if (started)
          spdlog::info("t={:.1f}s: node restarted, listening on {}:{}", t, endpoints_[i].first,
                       endpoints_[i].second);
      }
      if (!started)
        break;
    }
    watch_failover(now);
    bool all_up = true;
    bool gave_up = false;
    for (size_t i = 0; i < nodes_.size(); ++i) {
      all_up &= !nodes_[i] || nodes_[i]->pid() > 0;
      if (shared_->connected[i] || engine_ || now < next_connect[i])
        continue;
      reconnect(i, now);
      next_connect[i] = now + std::chrono::milliseconds(100);
      auto killed = std::find(killed_.begin(), killed_.end(), i) != killed_.end();
      auto planned_gap = killed && !restarted_ && load_.restart_at_s;
      if (lost_since_[i] && !planned_gap && now - *lost_since_[i] > lost_node_limit) {
        spdlog::error("the node at {}:{} is gone for more than {} s; giving up",
                      endpoints_[i].first, endpoints_[i].second,
                      std::chrono::duration_cast<std::chrono::seconds>(lost_node_limit).count());
        gave_up = true;
      }
    }
    if (gave_up)
      break;
    note_peak_rss();
    show_progress(now, all_up ? "load" : "node down");
    // Finer steps while a failover is timed.
    auto timing_failover =
      !killed_.empty() && cluster_ && !(cluster_->failover_ms && cluster_->rebalanced_ms);
    std::this_thread::sleep_for(std::chrono::milliseconds(timing_failover ? 10 : 50));
  }
  if (throttle_.terminal())
    std::cerr << '\n';
}

void bench_run::hold_restart() {
  auto& node = nodes_[0];
  if (!node || node->pid() <= 0) {
    spdlog::error("the node is gone before its restart");
    return;
  }
  hold_.rss_kib = status_kib(node->pid(), "VmRSS");
  hold_.peak_rss_kib = peak_rss_kib(node->pid());
  caf::anon_send_exit(driver_, caf::exit_reason::user_shutdown);
  driver_ = nullptr;
  node->kill();
  spdlog::info("node holding the orders killed (SIGKILL), RSS {} KiB; restarting it",
               hold_.rss_kib.value_or(0));
  // Only what the new process logs counts: the log so far is skipped.
  fs::path log_path = node_log(0);
  std::error_code no_log;
  auto log_offset = fs::file_size(log_path, no_log);
  if (no_log)
    log_offset = 0;
  if (!start_node(0))
    return;
  auto restarted_at = node->started_at();
  hold_.restart_listening_ms =
    std::chrono::duration<double, std::milli>(node->ready_at() - restarted_at).count();
  // The router logs its recovery once it read and queued every pending order.
  const auto limit = std::chrono::minutes(10);
  std::ifstream log_stream{log_path};
  log_stream.seekg(static_cast<std::streamoff>(log_offset));
  std::string partial;
  while (!interrupted() && node->pid() > 0 && steady_clock::now() - restarted_at < limit) {
    std::string line;
    while (std::getline(log_stream, line)) {
      if (log_stream.eof()) {  // a line still being written
        partial += line;
        break;
      }
      partial += line;
      if (auto recovery = parse_router_recovery(partial)) {
        hold_.recovered = recovery;
        hold_.restart_recovered_ms =
          std::chrono::duration<double, std::milli>(steady_clock::now() - restarted_at).count();
      }
      partial.clear();
    }
    if (hold_.recovered)
      break;
    log_stream.clear();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (!hold_.recovered) {
    spdlog::error("the restarted node did not log its recovery (see {})", log_path.string());
    return;
  }
  spdlog::info("restarted node recovered {} waiting orders and {} in flight after {:.0f} ms",
               hold_.recovered->waiting, hold_.recovered->in_flight,
               *hold_.restart_recovered_ms);
  // Queuing what was recovered may allocate a little longer than the log line.
  std::this_thread::sleep_for(std::chrono::seconds(2));
  hold_.rss_after_restart_kib = status_kib(node->pid(), "VmRSS");
  hold_.peak_rss_after_restart_kib = peak_rss_kib(node->pid());
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

int bench_run::report() {
  run_report r;
  r.load = load_;
  r.mode = o_.in_process ? "in-process" : clustered() ? "cluster" : o_.via_http() ? o_.via : "remote";
  take_intake_figures(r);
  r.run_seconds = seconds_between(start_, steady_clock::now());
  r.node_start_to_load_ms = node_start_to_load_ms_;
  r.peak_rss_kib = peak_rss_;
  r.node_starts = node_starts_;
  if (cluster_) {
    cluster_->peak_rss_kib = peak_rss_by_node_;
    r.cluster = cluster_;
  }
  r.reconnects = reconnects_;
  r.failed_connects = failed_connects_;
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
  try {
    bench::store_reader reader{cfg_.store};
    audited_orders.emplace();
    std::set<std::string> counted;
    for (auto& [ref, row] : reader.orders(orders_->ref_prefix())) {
      audited_orders->push_back(audited(row));
      auto n = orders_->number_of(ref);
      if (n && shared_->book.is_acknowledged(*n) && counted.insert(ref).second)
        rows.push_back(std::move(row));
    }
    if (!sim_)
      for (auto& [provider, starts] : reader.call_starts_by_provider(orders_->ref_prefix()))
        r.busiest_second[provider] = max_in_window(starts, 1000);
    if (r.cluster && !killed_.empty())
      if (auto first = reader.first_call_after(o_.kill_owner_of, killed_at_wall_ms_))
        r.cluster->calls_resumed_ms = static_cast<double>(*first - killed_at_wall_ms_);
  } catch (const std::exception& error) {
    spdlog::error("cannot read the store {}: {}", describe_target(cfg_.store), error.what());
    r.audit_error = std::string{"cannot read the store: "} + error.what();
  }
  for (const auto& provider : cfg_.providers)
    r.provider_rates[provider.name] = provider.rate;
  if (sim_ledger_) {
    // The simulator counts status queries too, and its ledger outlived every node process.
    r.sim_ledger = sim_ledger_;
    for (const auto& provider : sim_ledger_->providers)
      r.busiest_second[provider.name] = provider.max_calls_in_1s_window;
  }
  if (audited_orders)
    audit_run(r, *audited_orders);
  auto figures = compute_completion(rows, r.acknowledged, load_, start_wall_ms_);
  auto violations = judge(r, figures);
  auto line = to_json(r, figures);
  line.update(verdict_json(violations));
  add_callback_figures(line, rows);
  std::cout << line.dump() << std::endl;
  for (const auto& v : violations)
    std::cerr << "topup-bench: FAIL " << v.check << ": " << v.reason << "\n";
  if (violations.empty())
    std::cerr << "topup-bench: PASS " << load_.name << ": " << describe(*r.audit) << "\n";

  if (!o_.svg_path.empty()) {
    chart_input chart;
    chart.title = load_.name + " " + r.mode + ": " + std::to_string(r.acknowledged)
                  + " orders accepted, " + std::to_string(figures.terminal) + " terminal";
    chart.completions_per_second = figures.completions_per_second;
    chart.completion = &figures.all;
    if (load_.kill_at_s)
      chart.markers_s.push_back(*load_.kill_at_s);
    if (load_.restart_at_s)
      chart.markers_s.push_back(*load_.restart_at_s);
    std::ofstream out{o_.svg_path};
    out << render_svg(chart);
    if (!out)
      spdlog::error("cannot write {}", o_.svg_path);
  }
  if (interrupted_)
    return exit_interrupted;
  return violations.empty() ? exit_ok : exit_failed;
}

int bench_run::report_hold() {
  auto& r = hold_;
  r.load = load_;
  r.interrupted = interrupted();
  r.ref_prefix = orders_->ref_prefix();
  take_intake_figures(r);
  std::cout << to_json(r).dump() << std::endl;
  if (r.interrupted)
    return exit_interrupted;
  return r.acknowledged == load_.orders && r.recovered ? exit_ok : exit_failed;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"topup-bench: runs a workload (bench/README.md, \"The workloads\") against a "
               "topup node and prints its figures as one JSON line on stdout (progress on stderr)."};
  bench_options o;
  app.add_option("-w,--workload", o.workload_name, "w1, w2, w3, w4 or hold (see below)")
    ->required()
    ->check(CLI::IsMember({"w1", "w2", "w3", "w4", "hold"}));
  app.add_option("--node-binary", o.node_binary,
                 "start this topup-node with --config in --run-dir, stop it with SIGTERM at "
                 "the end (w3: SIGKILL and restart it)");
  app.add_option("-c,--config", o.config_path,
                 "the node's JSON configuration (config/bench-wN.json); the bench reads the "
                 "store and ledger paths from it, relative ones under --run-dir")
    ->required()
    ->check(CLI::ExistingFile);
  app.add_option("--provider-sim-binary", o.provider_sim_binary,
                 "run the configuration's simulated providers out of process: start this "
                 "topup-provider-sim first (configuration written to the run directory), give "
                 "the node http adapters to it, read duplicates and the busiest second from "
                 "its GET /ledger, stop it at the end (required for w3, optional for w2)");
  app.add_flag("--in-node-providers", o.in_node_providers,
               "w3 only: keep the providers simulated inside the node (their ledgers and "
               "outage windows restart with it), instead of --provider-sim-binary");
  app.add_option("--connect", o.connect,
                 "HOST:PORT of a running node instead of starting one (not for w3)");
  app.add_option("--node-pid", o.node_pid, "with --connect: the node's pid, for its peak RSS");
  app.add_flag("--in-process", o.in_process,
               "run the engine inside the bench (no network hop), to compare with w1 remote");
  app.add_option("--run-dir", o.run_dir,
                 "directory for the node's store, ledgers and log (must not hold an earlier "
                 "run's store; default: a new directory under the system's temp dir)");
  app.add_option("--orders", o.orders,
                 "orders to submit (w1: 200000; w2/w3: rate x duration; hold: 1000000)");
  app.add_option("--outstanding", o.outstanding,
                 "closed loop: orders in flight (w1: 256, hold: 4000)");
  app.add_option("--batch", o.batch, "orders per submit message at most (64; hold: 500)")
    ->check(CLI::PositiveNumber);
  app.add_option("--rate", o.rate, "open loop: orders per second (w2: 500, w3: 200, w4: 5500)")
    ->check(CLI::PositiveNumber);
  app.add_option("--duration", o.duration_s, "open loop: seconds of load (60)")
    ->check(CLI::PositiveNumber);
  app.add_option("--kill-at", o.kill_at_s, "seconds after load start to SIGKILL the node (w3: 20)");
  app.add_option("--restart-at", o.restart_at_s, "seconds after load start to restart it (w3: 25)");
  app.add_option("--deadline-ms", o.deadline_ms,
                 "the deadline the 'within' shares use; match the node's deadline.limit_ms "
                 "(180000)");
  app.add_option("--completion-wait", o.completion_wait_s,
                 "after the last ack, wait at most this many seconds for every order to be "
                 "terminal (default: deadline + grace + 10 s)");
  app.add_option("--submit-timeout-ms", o.submit_timeout_ms,
                 "a submit message unanswered this long is sent again (10000)")
    ->check(CLI::PositiveNumber);
  app.add_option("--seed", o.seed, "picks the phones and amounts of the orders (1)");
  app.add_option("--svg", o.svg_path,
                 "write an SVG chart: completions per second over time, completion-time CDF");
  app.add_option("--nodes", o.nodes,
                 "start this many topup-node processes as one cluster on 127.0.0.1 sharing "
                 "--postgresql, and spread the submissions over them (1)")
    ->check(CLI::Range(1, 9));
  app.add_option("--postgresql", o.postgresql,
                 "libpq connection string of an empty PostgreSQL database: the nodes run as a "
                 "cluster on it (required with --nodes above 1)");
  o.kill_owner_of = "p-cmcc";
  app.add_option("--kill-owner-of", o.kill_owner_of,
                 "cluster w3: the provider whose lease is watched after the kill (p-cmcc)");
  app.add_flag("--kill-owner-only", o.kill_owner_only,
               "cluster w3: SIGKILL (and restart) only the node holding --kill-owner-of's "
               "lease, not every node: a node failure the others take over");
  app.add_option("--heartbeat-ms", o.timing.heartbeat_interval_ms,
                 "cluster: the nodes' heartbeat_interval_ms (500)")
    ->check(CLI::PositiveNumber);
  app.add_option("--down-after-ms", o.timing.down_after_ms,
                 "cluster: the nodes' down_after_ms (2000)")
    ->check(CLI::PositiveNumber);
  app.add_option("--lease-ttl-ms", o.timing.lease_ttl_ms,
                 "cluster: the nodes' lease_ttl_ms (2000)")
    ->check(CLI::PositiveNumber);
  app.add_option("--via", o.via,
                 "how orders reach the node: caf (the remote protocol), http (each its own "
                 "signed POST /v1/orders) or http-batch (POST /v1/orders/batch of --batch); "
                 "http* needs a configuration with merchants and http_api "
                 "(config/bench-w1-http.json), whose API the bench puts on a free port")
    ->check(CLI::IsMember({"caf", "http", "http-batch"}));
  app.add_option("--http-connections", o.http_connections,
                 "--via http*: keep-alive connections, each with one request in flight (16)")
    ->check(CLI::Range(1, 512));
  app.add_option("--merchant-sim-binary", o.merchant_sim_binary,
                 "--via http*: start this topup-merchant-sim as the merchant's callback "
                 "endpoint, wait (at most 60 s) for every final order's notification, and "
                 "add \"callbacks\" to the figures: deliveries_per_s, final_to_delivered_ms, "
                 "duplicates, missing_orders (gaps), bad_signatures");
  app.add_option("--log-level", o.log_level, "stderr log level: info shows the timeline (warn)");
  app.footer(describe_workloads()
             + "\nThe JSON line holds the parameters and: accepted, accepted_per_s, completed, "
               "completed_per_s, succeeded, failed, lost, duplicates, shares within the "
               "deadline, failed_at_deadline and its share (closed at the deadline, or no time "
               "left to retry), refusals_by_error (every refusal answer), given_up (w4: never "
               "acknowledged), accept_latency_ms and completion_ms (p50/p90/p99/max), "
               "failover_orders (latest attempt on p-agg), max_provider_calls_per_1s (recharge "
               "calls from the store's attempt rows, status queries not included; with "
               "--provider-sim-binary the simulator's count of calls and queries), "
               "providers (node or provider-sim), provider_ledger (the simulator's counts per "
               "provider), interrupted, "
               "peak_rss_kib (VmHWM), retries, and with --postgresql cluster: nodes, their "
               "timing, peak_rss_kib per node, and for w3 killed_nodes, killed_node (the "
               "holder of --kill-owner-of at the kill), failover_ms (SIGKILL to a live node "
               "holding that lease anew: a survivor, or a restarted node when all were "
               "killed), "
               "calls_resumed_ms (to its first call after the kill) and rebalanced_ms (the "
               "restarted node listening to every provider back with its planned owner).\n"
               "hold prints accepted, accepted_per_s, rss_kib and peak_rss_kib (VmRSS/VmHWM "
               "holding the orders), restart_listening_ms, restart_recovered_ms, recovered "
               "(waiting, in_flight), rss_after_restart_kib, peak_rss_after_restart_kib.\n"
               "SIGINT/SIGTERM: stop offering, stop the node and simulator, print the figures "
               "so far, exit 130.\n"
               "Verdict: the line ends with \"verdict\" (pass or fail) and \"violations\", each "
               "also printed on stderr: lost orders, duplicates and any other disagreement "
               "between the store and the ledgers order by order (ledger_audit), calls the "
               "simulator deduplicated, a provider above its rate + 10% in any second "
               "(provider_busiest_second), a completion wait that timed out, and for w1-w3 "
               "refused, unacknowledged, failed or late orders (w4: every order acknowledged "
               "or given up, at least 99% final in time).\n"
               "Exit codes: 0 the verdict is pass, 1 the run failed or a violation was found, "
               "2 bad usage, 130 interrupted.");
  CLI11_PARSE(app, argc, argv);

  auto modes = int{!o.node_binary.empty()} + int{!o.connect.empty()} + int{o.in_process};
  if (modes != 1) {
    std::cerr << "topup-bench: give exactly one of --node-binary, --connect, --in-process\n";
    return exit_usage;
  }
  if ((o.workload_name == "w3" || o.workload_name == "hold") && o.node_binary.empty()) {
    std::cerr << "topup-bench: " << o.workload_name
              << " kills and restarts the node: it needs --node-binary\n";
    return exit_usage;
  }
  if (o.workload_name == "w3" && o.provider_sim_binary.empty() && !o.in_node_providers) {
    std::cerr << "topup-bench: w3 runs its providers out of process: give "
                 "--provider-sim-binary (or --in-node-providers for the old variant)\n";
    return exit_usage;
  }
  if (!o.provider_sim_binary.empty() && o.in_node_providers) {
    std::cerr << "topup-bench: give --provider-sim-binary or --in-node-providers, not both\n";
    return exit_usage;
  }
  if (!o.provider_sim_binary.empty() && (!o.connect.empty() || o.workload_name == "hold")) {
    std::cerr << "topup-bench: --provider-sim-binary needs a node the bench starts (not "
                 "--connect, not hold)\n";
    return exit_usage;
  }
  if (o.nodes > 1 && o.postgresql.empty()) {
    std::cerr << "topup-bench: several nodes share one store: give --postgresql\n";
    return exit_usage;
  }
  if (!o.postgresql.empty() && (o.node_binary.empty() || o.workload_name == "hold")) {
    std::cerr << "topup-bench: --postgresql runs a cluster of nodes the bench starts "
                 "(--node-binary; w1, w2 or w3)\n";
    return exit_usage;
  }
  if (o.via_http() && (o.node_binary.empty() || o.nodes > 1 || o.workload_name == "hold")) {
    std::cerr << "topup-bench: --via http needs one node the bench starts (--node-binary; "
                 "w1, w2, w3 or w4)\n";
    return exit_usage;
  }
  if (!o.merchant_sim_binary.empty() && !o.via_http()) {
    std::cerr << "topup-bench: --merchant-sim-binary goes with --via http or http-batch\n";
    return exit_usage;
  }
  if (auto reading = parse_host_port(o.connect); !o.connect.empty() && !reading) {
    std::cerr << "topup-bench: --connect " << reading.error << "\n";
    return exit_usage;
  }
  log_to_stderr("topup-bench", o.log_level);
  // The node runs in the run directory: a relative path would be looked up there.
  if (!o.node_binary.empty())
    o.node_binary = fs::absolute(o.node_binary).string();
  if (!o.provider_sim_binary.empty())
    o.provider_sim_binary = fs::absolute(o.provider_sim_binary).string();
  if (!o.merchant_sim_binary.empty())
    o.merchant_sim_binary = fs::absolute(o.merchant_sim_binary).string();
  auto load = build_workload(o);
  config cfg;
  try {
    cfg = load_config_file(o.config_path);
  } catch (const config_error& error) {
    std::cerr << "topup-bench: configuration " << o.config_path << ": " << error.what() << "\n";
    return exit_usage;
  }
  fs::path run_dir;
  if (!o.run_dir.empty())
    run_dir = fs::absolute(o.run_dir);
  else if (o.connect.empty())
    run_dir = fs::temp_directory_path() / ("topup-bench-" + load.name + "-"
                                           + std::to_string(wall_now_ms()));
  else
    run_dir = fs::current_path();
  anchor_paths(cfg, run_dir);
  if (o.connect.empty()) {
    if (o.postgresql.empty() && fs::exists(cfg.store.sqlite_path)) {
      std::cerr << "topup-bench: " << cfg.store.sqlite_path
                << " exists: give a --run-dir without an earlier run's store\n";
      return exit_usage;
    }
    std::error_code ignored;
    fs::create_directories(fs::path{cfg.store.sqlite_path}.parent_path(), ignored);
    for (const auto& file : ledger_files(cfg))
      fs::create_directories(fs::path{file}.parent_path(), ignored);
  }
  spdlog::info("run directory {}", run_dir.string());

  install_stop_handlers();
  int code = exit_failed;
  auto run = std::make_unique<bench_run>(o, load, cfg, run_dir);
  try {
    code = run->run();
  } catch (const std::exception& error) {
    spdlog::error("{}", error.what());
  }
  run->kill_children();
  // The run is deliberately not destroyed: ~actor_system waits for every actor, and a
  // middleman thread of CAF 0.17 sometimes stays referenced after a remote connection (see
  // topup_node.cpp). Everything is printed by now.
  run.release();
  std::cout.flush();
  spdlog::default_logger()->flush();
  std::_Exit(code);
}
