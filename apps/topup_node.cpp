// topup-node: one node of the top-up engine. Starts the supervisor tree from a JSON
// configuration and publishes the gateway (the remote protocol) on the configured address.

#include "actors/gateway.hpp"
#include "actors/queue_ingress.hpp"
#include "actors/supervisor.hpp"
#include "actors/watch_hub.hpp"
#include "apps/app_support.hpp"
#include "config/config.hpp"
#include "messages/errors.hpp"

#include <CLI/CLI.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>
#include <spdlog/spdlog.h>

#include <csignal>
#include <filesystem>
#include <iostream>
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

/// The router of the node, if the supervisor can name it.
router_actor current_router(caf::scoped_actor& self, const caf::actor& supervisor) {
  router_actor router;
  self->request(supervisor, std::chrono::seconds(5), caf::get_atom::value)
    .receive([&](node_handles& handles) { router = handles.router; }, [](caf::error&) {});
  return router;
}

/// Calls still running at the providers, summed over all of them.
uint64_t calls_in_flight(caf::scoped_actor& self, const caf::actor& supervisor) {
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

int run(const config& cfg, milliseconds drain_timeout) {
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
  auto time = std::make_shared<system_clock>();
  auto options = make_supervisor_options(cfg, time);
  auto events = options.events;
  auto accepting = std::make_shared<std::atomic<bool>>(true);
  caf::scoped_actor self{system};
  auto supervisor_actor = system.spawn(supervisor, std::move(options), time);
  self->monitor(supervisor_actor);
  auto hub = system.spawn(watch_hub, events);
  events->attach(hub);
  // The queue ingresses (none unless configured): their result writers listen to `events`
  // from here on, before any order of theirs can become final.
  auto ingresses = start_ingresses(system, cfg, supervisor_actor, *events, time);
  auto entry = system.spawn(gateway, cfg.node.name, gateway_address(cfg.node), supervisor_actor,
                            hub, accepting);
  auto stop_all = [&] {
    for (const auto& consumer : ingresses.consumers)
      self->send_exit(consumer, caf::exit_reason::user_shutdown);
    for (const auto& writer : ingresses.writers)
      self->send_exit(writer, caf::exit_reason::user_shutdown);
    for (auto handle : {caf::actor_cast<caf::actor>(entry), caf::actor_cast<caf::actor>(hub),
                        supervisor_actor})
      self->send_exit(handle, caf::exit_reason::user_shutdown);
  };
  auto published = cfg.node.tls.enabled()
                     ? caf::openssl::publish(entry, cfg.node.port, cfg.node.host.c_str(), true)
                     : system.middleman().publish(entry, cfg.node.port, cfg.node.host.c_str(), true);
  if (!published) {
    spdlog::critical("node cannot listen on {}:{}: {}", cfg.node.host, cfg.node.port,
                     system.render(published.error()));
    stop_all();
    return exit_failed;
  }
  std::cout << "listening on " << cfg.node.host << ":" << *published
            << (cfg.node.tls.enabled() ? " (tls)" : "") << std::endl;
  spdlog::info("node {} ready: {} providers, store {}", cfg.node.name, cfg.providers.size(),
               cfg.store.backend == store_config::backend_kind::sqlite ? cfg.store.sqlite_path
                                                                        : "postgresql");
  // Signals were blocked before any thread started; only this loop takes them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  timespec poll_interval{0, 100'000'000};
  bool supervisor_failed = false;
  for (;;) {
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
    stop_consumers(self, ingresses);
    if (auto router = current_router(self, supervisor_actor))
      self->send(router, caf::close_atom::value);
    auto until = std::chrono::steady_clock::now() + drain_timeout;
    uint64_t running = 0;
    while ((running = calls_in_flight(self, supervisor_actor)) > 0
           && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (running > 0)
      spdlog::warn("node stops with {} calls in flight; they are queried at the next start",
                   running);
  }
  system.middleman().unpublish(entry, *published);
  stop_all();
  spdlog::info("node {} stopped", cfg.node.name);
  auto code = supervisor_failed ? exit_failed : exit_ok;
  // ~actor_system waits for every actor and thread. After a client was connected, CAF 0.17
  // sometimes keeps one middleman thread referenced and that wait never ends; everything
  // durable is written by now, so a bounded wait ends the process with the right code.
  std::thread([code] {
    std::this_thread::sleep_for(std::chrono::seconds(5));
    spdlog::warn("node: the actor system did not shut down within 5 s; exiting anyway");
    spdlog::default_logger()->flush();
    std::_Exit(code);
  }).detach();
  return code;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"topup-node: a node of the topup engine. Accepts top-up orders over CAF's "
               "remote actor protocol (see topup-cli), stores them durably and recharges each "
               "through its providers within the configured deadline."};
  std::string config_path;
  std::string log_level;
  bool check_only = false;
  int64_t drain_ms = 5000;
  app.add_option("-c,--config", config_path, "JSON configuration file (see config/)")
    ->required();
  app.add_option("--log-level", log_level,
                 "trace, debug, info, warn, error or off (default: node.log_level)");
  app.add_flag("--check", check_only, "validate the configuration and exit");
  app.add_option("--drain-ms", drain_ms,
                 "on SIGINT/SIGTERM, how long to let running provider calls finish")
    ->check(CLI::NonNegativeNumber);
  app.footer("Exit codes: 0 stopped by SIGINT/SIGTERM, 1 could not start or the supervisor "
             "gave up after repeated failures, 2 bad configuration.");
  CLI11_PARSE(app, argc, argv);

  config cfg;
  try {
    cfg = load_config_file(config_path);
  } catch (const config_error& error) {
    std::cerr << "topup-node: configuration " << config_path << ": " << error.what() << "\n";
    return exit_bad_config;
  }
  // The members find each other at the address each writes into the membership table: the
  // configured one, so it cannot be a port chosen at start.
  if (cfg.cluster && cfg.node.port == 0) {
    std::cerr << "topup-node: configuration " << config_path
              << ": /node/port: a cluster node needs a fixed port (got 0)\n";
    return exit_bad_config;
  }
  if (check_only) {
    std::cout << "configuration " << config_path << " is valid\n";
    return exit_ok;
  }
  log_to_stderr("topup-node", log_level.empty() ? cfg.node.log_level : log_level);
  try {
    create_data_directories(cfg);
  } catch (const std::exception& error) {
    spdlog::critical("node cannot create its data directories: {}", error.what());
    return exit_failed;
  }
  // Block the stop signals in every thread (CAF's threads inherit this mask); the main loop
  // takes them with sigtimedwait.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  return run(cfg, milliseconds{drain_ms});
}
