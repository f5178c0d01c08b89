// topup-provider-sim: plays one or more recharge providers over HTTP, speaking the protocol
// of providers/http_wire.hpp, with the latency, outcomes and outages of topup's simulated
// adapters and a ledger of every recharge it really performed.

#include "apps/app_support.hpp"
#include "apps/provider_sim/server.hpp"
#include "apps/provider_sim/sim_config.hpp"
#include "apps/provider_sim/simulator.hpp"
#include "providers/ledger.hpp"

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <spdlog/spdlog.h>

#include <csignal>
#include <iostream>
#include <memory>

namespace {

using namespace topup;
using namespace topup::provider_sim;

const char* const description = R"(topup-provider-sim: recharge providers over HTTP/1.1 for topup.

Each provider of the configuration file answers at http://HOST:PORT/<name> (the base_url of
an "http" adapter in topup's configuration):
  POST /<name>/recharge, POST /<name>/query   signed as in providers/http_wire.hpp
and the simulator itself at:
  GET  /health                                200 while it runs
  GET  /ledger[?detail=1]                     JSON summary: recharges, duplicates, and per
                                              provider calls, queries, deduplicated calls,
                                              outage refusals, most calls in one second
  POST /admin/outage {"provider":"p-cucc","down":true}   switch a provider down or up

Configuration file:
  {"listen": "127.0.0.1:9100", "ledger": "var/provider-ledger.db",
   "providers": [{"name": "p-cmcc", "secret": "...",
                  "model": {<the fields of a "simulated" adapter but "type" and "ledger">}}]}

On start it prints one line, "listening on HOST:PORT", to stdout. SIGINT or SIGTERM stop it.

Exit codes: 0 stopped by SIGINT/SIGTERM with every recharge in its ledger, 1 could not run or
a ledger commit failed (the ledger misses recharges it performed), 2 bad configuration.)";

struct options {
  std::string config_path;
  std::string listen;
  std::string ledger_path;
  std::string log_level = "info";
};

void log_counters(const simulator& sim, const server& srv) {
  for (size_t i = 0; i < sim.provider_count(); ++i) {
    const auto& c = sim.counters(i);
    spdlog::info("provider-sim {}: {} calls, {} queries, {} deduplicated, {} refused in outages, "
                 "{} refused unsigned, {} malformed, {} failed, {} wrong carrier, {} unanswered "
                 "({} performed)",
                 sim.provider_name(i), c.calls, c.queries, c.deduplicated, c.refused_outage,
                 c.refused_auth, c.malformed, c.answered_failed, c.answered_wrong_carrier,
                 c.unanswered, c.unknown_performed);
  }
  const auto& commits = srv.commits();
  spdlog::info("provider-sim wrote {} recharges in {} commits, {} commits failed", commits.rows,
               commits.commits, commits.failures);
}

int run(const options& opts) {
  auto cfg = load_sim_config(opts.config_path);
  if (!opts.listen.empty())
    cfg.listen = parse_listen_address(opts.listen);  // checked by the option already
  if (!opts.ledger_path.empty())
    cfg.ledger_path = opts.ledger_path;

  ledger book{cfg.ledger_path};
  auto performed = book.records();
  simulator sim{cfg.providers, std::make_shared<system_clock>(), performed};
  boost::asio::io_context io{1};
  server srv{io, cfg.listen, sim, book};

  boost::asio::signal_set signals{io, SIGINT, SIGTERM};
  signals.async_wait([&](const boost::system::error_code& error, int signal) {
    if (error)
      return;
    spdlog::info("provider-sim stops on signal {}", signal);
    srv.stop();
    io.stop();
  });
  srv.start();
  auto endpoint = srv.local_endpoint();
  spdlog::info("provider-sim plays {} providers, ledger {} ({} recharges)", sim.provider_count(),
               book.target(), performed.size());
  std::cout << "listening on "
            << host_port{endpoint.address().to_string(), endpoint.port()}.to_string() << std::endl;
  io.run();
  log_counters(sim, srv);
  // A lost commit was logged when it happened; a run that lost one is not a success.
  if (srv.commits().failures > 0) {
    spdlog::error("provider-sim: {} ledger commits failed; the ledger misses recharges that "
                  "were performed",
                  srv.commits().failures);
    return 1;
  }
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{description, "topup-provider-sim"};
  options opts;
  app.add_option("--config", opts.config_path, "JSON file of the providers to play")
    ->required()
    ->check(CLI::ExistingFile);
  app.add_option("--listen", opts.listen,
                 "HOST:PORT to listen on, instead of the file's \"listen\" (port 0: any free "
                 "port)")
    ->check(
      [](const std::string& text) {
        try {
          parse_listen_address(text);
          return std::string{};
        } catch (const std::invalid_argument& error) {
          return std::string{error.what()};
        }
      },
      "HOST:PORT");
  app.add_option("--ledger", opts.ledger_path,
                 "SQLite file of performed recharges, instead of the file's \"ledger\"");
  app.add_option("--log-level", opts.log_level, "How much to log on stderr")
    ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
    ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  log_to_stderr("topup-provider-sim", opts.log_level);
  // A client that resets its connection must not kill the simulator mid-write.
  std::signal(SIGPIPE, SIG_IGN);
  try {
    return run(opts);
  } catch (const config_error& error) {
    spdlog::error("provider-sim: configuration {}: {}", opts.config_path, error.what());
    return 2;
  } catch (const std::exception& error) {
    spdlog::error("provider-sim cannot run: {}", error.what());
    return 1;
  }
}
