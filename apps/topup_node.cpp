// topup-node: one node of the top-up engine. Starts the supervisor tree from a JSON
// configuration and publishes the gateway (the remote protocol) on the configured address.

#include "actors/gateway.hpp"
#include "actors/http_api.hpp"
#include "actors/queue_ingress.hpp"
#include "actors/supervisor.hpp"
#include "actors/watch_hub.hpp"
#include "apps/app_support.hpp"
#include "apps/node/front_listener.hpp"
#include "apps/node/open_files.hpp"
#include "apps/node/service_notify.hpp"
#include "apps/node/startup_checks.hpp"
#include "config/config.hpp"
#include "domain/error_text.hpp"
#include "domain/host_port.hpp"
#include "messages/errors.hpp"
#include "persistence/store_layout.hpp"
#include "persistence/sql_backend.hpp"

#include <CLI/CLI.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>
#include <thread>

using namespace topup;

namespace {

constexpr int exit_ok = 0;
constexpr int exit_failed = 1;       // the node could not start, or stopped on its own
constexpr int exit_bad_config = 2;

/// SQLite files the configuration names: their directories are created if missing.
void create_data_directories(const config& cfg) {
  std::vector<std::string> files;
  if (cfg.store.backend == store_config::backend_kind::sqlite)
    files.push_back(cfg.store.sqlite_path);
  for (const auto& provider : cfg.providers)
    if (auto sim = std::get_if<simulated_adapter_config>(&provider.adapter))
      if (!sim->ledger_path.empty())
        files.push_back(sim->ledger_path);
  for (const auto& file : files) {
    auto parent = std::filesystem::path{file}.parent_path();
    if (!parent.empty())
      std::filesystem::create_directories(parent);
  }
}

/// The positive whole number in the environment variable `name`; 0 when it is unset or
/// anything else.
long long positive_test_setting(const char* name) {
  auto text = std::getenv(name);
  if (!text)
    return 0;
  char* end = nullptr;
  auto value = std::strtoll(text, &end, 10);
  return end == text || *end != '\0' || value <= 0 ? 0 : value;
}

/// Tests only: TOPUP_TEST_SEND_HOLD_MS holds every provider call and status query that long
/// between its write-ahead and its send, a window a test can pause the node in. Unset (or
/// not a positive number): no hold.
milliseconds test_send_hold() {
  auto ms = positive_test_setting("TOPUP_TEST_SEND_HOLD_MS");
  if (ms == 0)
    return milliseconds{0};
  spdlog::warn("node holds every provider call {} ms before it leaves "
               "(TOPUP_TEST_SEND_HOLD_MS: for tests only)", ms);
  return milliseconds{ms};
}

/// Tests only: TOPUP_TEST_LOST_FORWARDS is how many batches of orders forwarded to another
/// member the node loses unsent, as a dropped connection would. Unset (or not a positive
/// number): none.
uint32_t test_lost_forwards() {
  auto count = std::min<long long>(positive_test_setting("TOPUP_TEST_LOST_FORWARDS"), 1'000'000);
  if (count > 0)
    spdlog::warn("node loses the first {} batches of orders it forwards "
                 "(TOPUP_TEST_LOST_FORWARDS: for tests only)", count);
  return static_cast<uint32_t>(count);
}

/// The router of the node, if the supervisor can name it.
router_actor current_router(caf::scoped_actor& self, const supervisor_actor& supervisor) {
  router_actor router;
  self->request(supervisor, std::chrono::seconds(5), caf::get_atom::value)
    .receive([&](node_handles& handles) { router = handles.router; }, [](caf::error&) {});
  return router;
}

/// Calls still running at the providers, summed over all of them.
uint64_t calls_in_flight(caf::scoped_actor& self, const supervisor_actor& supervisor) {
  uint64_t in_flight = 0;
  if (auto router = current_router(self, supervisor))
    self->request(router, std::chrono::seconds(5), stats_atom::value)
          .receive(
            [&](std::vector<provider_stats>& providers) {
              for (const auto& p : providers)
                in_flight += p.in_flight;
            },
            [](caf::error&) {});
  return in_flight;
}

/// Whether the router has handed on every unfinished order of the start-up recovery; none
/// when the supervisor or the router does not answer within `timeout`.
std::optional<bool> recovery_done(caf::scoped_actor& self, const supervisor_actor& supervisor,
                                  milliseconds timeout) {
  std::optional<bool> done;
  router_actor router;
  self->request(supervisor, timeout, caf::get_atom::value)
    .receive([&](node_handles& handles) { router = handles.router; }, [](caf::error&) {});
  if (router)
    self->request(router, timeout, recover_atom::value, caf::get_atom::value)
      .receive([&](bool answer) { done = answer; }, [](caf::error&) {});
  return done;
}

/// Asks each queue consumer to stop taking messages and waits (bounded) until each settled
/// the batch in hand: a message intake answered is removed now rather than submitted again
/// at the next start.
void stop_consumers(caf::scoped_actor& self, const ingress_actors& ingresses) {
  if (ingresses.consumers.empty())
    return;
  for (const auto& consumer : ingresses.consumers) {
    self->monitor(consumer);
    self->send(consumer, caf::close_atom::value);
  }
  size_t stopped = 0;
  bool waiting = true;
  while (waiting && stopped < ingresses.consumers.size())
    self->receive(
      [&](caf::down_msg& down) {
        for (const auto& consumer : ingresses.consumers)
          if (down.source == consumer.address())
            ++stopped;
      },
      caf::after(std::chrono::seconds(10)) >> [&] { waiting = false; });
  if (stopped < ingresses.consumers.size())
    spdlog::warn("node stops with a queue batch unsettled; it is submitted again at the next "
                 "start");
}

/// The public port's settings: the configured address in front of the middleman's
/// loopback listener at `upstream_port`, with as many connections as the open-files limit
/// leaves room for.
front_settings port_settings(const config& cfg, uint16_t upstream_port,
                             const open_files_limit& files) {
  front_settings settings;
  settings.host = cfg.node.host;
  settings.port = cfg.node.port;
  settings.upstream_port = upstream_port;
  settings.tls = cfg.node.tls.enabled();
  settings.max_connections = connection_cap(cfg.node.max_connections, files.soft,
                                            reserved_descriptors(cfg),
                                            descriptors_per_connection);
  settings.handshake_timeout = milliseconds{cfg.node.handshake_timeout_ms};
  settings.limits.max_message_payload = cfg.node.max_message_bytes;
  return settings;
}

/// Runs the node in `system` until SIGINT/SIGTERM or the supervisor gives up, then tells
/// every actor it started to stop; the exit code.
int serve(caf::actor_system& system, const config& cfg, milliseconds drain_timeout,
          const open_files_limit& files) {
  auto time = std::make_shared<system_clock>();
  auto options = make_supervisor_options(cfg, time);
  options.engine.send_hold = test_send_hold();
  if (options.cluster)
    options.cluster->test_lost_forwards = test_lost_forwards();
  // Measured only where they can be read: GET /metrics on the HTTP API's listener.
  std::shared_ptr<node_metrics> metrics;
  if (cfg.http_api) {
    metrics = std::make_shared<node_metrics>(cfg.node.name, protocol_version);
    with_metrics(options, metrics);
  }
  auto events = options.events;
  auto accepting = std::make_shared<std::atomic<bool>>(true);
  caf::scoped_actor self{system};
  auto node_supervisor = system.spawn(supervisor, std::move(options), time);
  self->monitor(node_supervisor);
  auto hub = system.spawn(watch_hub, events);
  events->attach(hub);
  // The queue ingresses (none unless configured): their result writers listen to `events`
  // from here on, before any order of theirs can become final.
  auto ingresses = start_ingresses(system, cfg, node_supervisor, *events, time);
  auto entry = system.spawn(gateway, cfg.node.name, gateway_address(cfg.node), node_supervisor,
                            hub, accepting);
  auto stop_all = [&] {
    for (const auto& consumer : ingresses.consumers)
      self->send_exit(consumer, caf::exit_reason::user_shutdown);
    for (const auto& writer : ingresses.writers)
      self->send_exit(writer, caf::exit_reason::user_shutdown);
    for (auto handle : {caf::actor_cast<caf::actor>(entry), caf::actor_cast<caf::actor>(hub),
                        caf::actor_cast<caf::actor>(node_supervisor)})
      self->send_exit(handle, caf::exit_reason::user_shutdown);
  };
  // The middleman listens on loopback only; the public address belongs to the front
  // listener, which relays to it what passes its checks.
  auto published = cfg.node.tls.enabled()
                     ? caf::openssl::publish(entry, 0, "127.0.0.1", true)
                     : system.middleman().publish(entry, 0, "127.0.0.1", true);
  if (!published) {
    spdlog::critical("node cannot publish its gateway on 127.0.0.1: {}",
                     system.render(published.error()));
    stop_all();
    return exit_failed;
  }
  auto settings = port_settings(cfg, *published, files);
  if (settings.max_connections == 0) {
    spdlog::critical("node cannot take connections: the open-files limit ({}) leaves no room "
                     "beside the {} descriptors the node needs for itself",
                     files.soft, reserved_descriptors(cfg));
    stop_all();
    return exit_failed;
  }
  std::unique_ptr<front_listener> port;
  try {
    port = std::make_unique<front_listener>(settings);
  } catch (const std::exception& error) {
    spdlog::critical("node cannot listen on {}:{}: {}", cfg.node.host, cfg.node.port,
                     one_line_reason(error.what()));
    stop_all();
    return exit_failed;
  }
  port->start();
  std::unique_ptr<http_api_listener> http_api;
  if (cfg.http_api) {
    try {
      http_api = std::make_unique<http_api_listener>(
        system, entry,
        http_api_options{*cfg.http_api, cfg.merchants,
                         [time] { return time->wall_ms() / 1000; }, metrics, cfg.providers,
                         cfg.cluster.has_value()});
    } catch (const std::exception& error) {
      spdlog::critical("node cannot listen for the HTTP API on {}:{}: {}", cfg.http_api->host,
                       cfg.http_api->port, one_line_reason(error.what()));
      port->stop();
      stop_all();
      return exit_failed;
    }
    http_api->start();
  }
  std::cout << "listening on " << host_port{cfg.node.host, port->port()}.to_string()
            << (cfg.node.tls.enabled() ? " (tls)" : "") << std::endl;
  // After the line above, which tests and scripts read the node's port from.
  if (http_api) {
    auto http_address = host_port{cfg.http_api->host, http_api->port()}.to_string();
    std::cout << "http api on " << http_address << std::endl;
    if (!cfg.http_api->admin_token.empty())
      spdlog::info("web console on http://{}/", http_address);
  }
  spdlog::info("node {} ready: {} providers, store {}", cfg.node.name, cfg.providers.size(),
               cfg.store.backend == store_config::backend_kind::sqlite ? cfg.store.sqlite_path
                                                                        : "postgresql");
  spdlog::info("port keeps at most {} connections, closes those without a handshake after "
               "{} ms, refuses messages over {} bytes",
               settings.max_connections, settings.handshake_timeout.count(),
               settings.limits.max_message_payload);
  // Signals were blocked before any thread started; only this loop takes them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  timespec poll_interval{0, 100'000'000};
  bool supervisor_failed = false;
  // systemd (Type=notify): READY once the recovery is done too; a watchdog ping only when the
  // router answers, so a node whose actors hang is restarted.
  service_notifier notifier;
  bool ready = false;
  auto watchdog_interval = notifier.watchdog_interval();
  auto next_ping = std::chrono::steady_clock::now();
  auto ping_if_alive = [&] {
    if (!watchdog_interval || std::chrono::steady_clock::now() < next_ping)
      return;
    auto answer_within = std::chrono::duration_cast<milliseconds>(*watchdog_interval / 2);
    if (!recovery_done(self, node_supervisor, answer_within))
      return;  // the supervisor or the router does not answer: no ping
    notifier.watchdog();
    next_ping = std::chrono::steady_clock::now() + *watchdog_interval;
  };
  for (;;) {
    if (!ready && recovery_done(self, node_supervisor, milliseconds{1000}).value_or(false)) {
      ready = true;
      notifier.ready("serving on " + cfg.node.host + ":" + std::to_string(port->port()));
      spdlog::info("node {} recovered its unfinished orders", cfg.node.name);
    }
    ping_if_alive();
    int signal = sigtimedwait(&stop_signals, nullptr, &poll_interval);
    if (signal == SIGINT || signal == SIGTERM) {
      spdlog::info("node stopping on {}", signal == SIGINT ? "SIGINT" : "SIGTERM");
      break;
    }
    bool down = false;
    self->receive([&](caf::down_msg&) { down = true; }, caf::after(std::chrono::seconds(0)) >> [] {});
    if (down) {
      supervisor_failed = true;
      spdlog::critical("node stopping: the supervisor gave up");
      break;
    }
  }
  if (!supervisor_failed) {
    // New orders are refused and no new call starts; calls already running get to finish
    // (or stay recorded as in flight and are queried at the next start).
    accepting->store(false);
    notifier.stopping();
    stop_consumers(self, ingresses);
    if (auto router = current_router(self, node_supervisor))
      self->send(router, caf::close_atom::value);
    auto until = std::chrono::steady_clock::now() + drain_timeout;
    uint64_t running = 0;
    while ((running = calls_in_flight(self, node_supervisor)) > 0
           && std::chrono::steady_clock::now() < until) {
      ping_if_alive();
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (running > 0)
      spdlog::warn("node stops with {} calls in flight; they are queried at the next start",
                   running);
  }
  if (http_api)
    http_api->stop();
  port->stop();
  system.middleman().unpublish(entry, *published);
  stop_all();
  return supervisor_failed ? exit_failed : exit_ok;
}

int run(const config& cfg, milliseconds drain_timeout, const open_files_limit& files) {
  caf::actor_system_config caf_cfg;
  configure_caf(caf_cfg, cfg.node.scheduler_threads, cfg.node.heartbeat_interval_ms,
                cfg.node.connection_timeout_ms);
  if (cfg.node.tls.enabled()) {
    caf_cfg.load<caf::openssl::manager>();
    caf_cfg.openssl_certificate = cfg.node.tls.certificate;
    caf_cfg.openssl_key = cfg.node.tls.key;
    caf_cfg.openssl_cafile = cfg.node.tls.ca_file;
  }
  caf::actor_system system{caf_cfg};
  auto code = serve(system, cfg, drain_timeout, files);
  // A last resort, not the way out: everything durable is written by now, and a stop that
  // still hangs (an actor that ignores its exit, a connection CAF keeps) must not keep the
  // process, and with it the restart, waiting. The test of a stop under load fails if this
  // message is ever logged.
  std::thread([code] {
    std::this_thread::sleep_for(std::chrono::seconds(5));
    spdlog::warn("node: the actor system did not shut down within 5 s; exiting anyway");
    spdlog::default_logger()->flush();
    std::_Exit(code);
  }).detach();
  // Every actor of the node has been told to stop: once they have (the store has committed
  // its last writes), what the middleman still holds are connections whose peers are not
  // reading what is queued for them. ~actor_system would wait for those to be written out
  // (cut_remote_connections says why), so they are cut first.
  system.registry().await_running_count_equal(0);
  if (auto cut = cut_remote_connections(system); cut > 0)
    spdlog::debug("node closed {} remote connections", cut);
  spdlog::info("node {} stopped", cfg.node.name);
  return code;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"topup-node: a node of the topup engine. Accepts top-up orders over CAF's "
               "remote actor protocol (see topup-cli), stores them durably and recharges each "
               "through its providers within the configured deadline."};
  std::string config_path;
  std::string log_level;
  std::string log_format;
  bool check_only = false;
  int64_t drain_ms = 5000;
  app.add_option("-c,--config", config_path, "JSON configuration file (see config/)")
    ->required();
  app.add_option("--log-level", log_level,
                 "trace, debug, info, warn, error or off (default: node.log_level)");
  app.add_option("--log-format", log_format,
                 "text or json: one JSON object per line (default: node.log_format)")
    ->check(CLI::IsMember({"text", "json"}));
  app.add_flag("--check", check_only,
               "validate the configuration and load what it names (TLS files, the store, the "
               "listen address; nothing is created), then exit");
  app.add_option("--drain-ms", drain_ms,
                 "on SIGINT/SIGTERM, how long to let running provider calls finish")
    ->check(CLI::NonNegativeNumber);
  app.footer("Exit codes: 0 stopped by SIGINT/SIGTERM, 1 could not start (the store cannot be "
             "opened, the port is taken) or the supervisor gave up after repeated failures, "
             "2 bad configuration (including TLS files that do not load).");
  CLI11_PARSE(app, argc, argv);

  config cfg;
  try {
    cfg = load_config_file(config_path);
    // The members find each other at the address each writes into the membership table:
    // the configured one, so it cannot be a port chosen at start.
    if (cfg.cluster && cfg.node.port == 0)
      throw config_error("/node/listen/port", "a cluster node needs a fixed port (got 0)");
    // What the node will load, loaded now: TLS files, the store, the listen address.
    check_startup(cfg);
  } catch (const config_error& error) {
    std::cerr << "topup-node: configuration " << config_path << ": " << error.what() << "\n";
    return exit_bad_config;
  } catch (const std::exception& error) {
    std::cerr << "topup-node: configuration " << config_path
              << ": (document): cannot be read: " << one_line_reason(error.what()) << "\n";
    return exit_bad_config;
  }
  if (check_only) {
    std::cout << "configuration " << config_path << " is valid\n";
    return exit_ok;
  }
  log_to_stderr("topup-node", log_level.empty() ? cfg.node.log_level : log_level,
                log_format.empty() ? cfg.node.log_format : log_format);
  auto files = raise_open_files_limit();
  if (!files.failure.empty())
    spdlog::warn("node cannot raise its open-files limit from {} to {}: {}", files.before,
                 files.hard, files.failure);
  else if (files.soft != files.before)
    spdlog::info("node raised its open-files limit from {} to {}", files.before, files.soft);
  try {
    create_data_directories(cfg);
  } catch (const std::exception& error) {
    spdlog::critical("node cannot create its data directories: {}",
                     one_line_reason(error.what()));
    return exit_failed;
  }
  // A node that cannot open its store must not say it is ready: open (and migrate) every
  // shard once before anything starts, settling how many there are.
  try {
    cfg.store = open_store_shards(cfg.store);
    spdlog::info("node store {} has {} {}", describe_target(cfg.store), cfg.store.shards,
                 cfg.store.shards == 1 ? "shard" : "shards");
  } catch (const config_error& error) {
    spdlog::critical("node configuration {}: {}", config_path, error.what());
    return exit_bad_config;
  } catch (const std::exception& error) {
    spdlog::critical("node cannot open its store {}: {}", describe_target(cfg.store),
                     describe_database_error(error));
    return exit_failed;
  }
  // Block the stop signals in every thread (CAF's threads inherit this mask); the main loop
  // takes them with sigtimedwait.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  return run(cfg, milliseconds{drain_ms}, files);
}
