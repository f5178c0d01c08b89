#include "apps/bench/provider_simulator.hpp"

#include "apps/bench/http_get.hpp"
#include "apps/bench/run_setup.hpp"
#include "config/json_reader.hpp"

#include <spdlog/spdlog.h>

namespace topup::bench {

namespace fs = std::filesystem;

provider_simulator::provider_simulator(const std::string& binary, const fs::path& node_config,
                                       const fs::path& run_dir)
  : run_dir_(run_dir), ledger_path_((run_dir / "data" / "provider-ledger.db").string()),
    node_config_path_(run_dir / "node-config.json") {
  auto node_document = json_config::parse_document(json_config::read_file(node_config));
  auto sim_config_path = run_dir_ / "provider-sim.json";
  fs::create_directories(run_dir_ / "data");
  write_json_file(sim_config_path, sim_config_for(node_document, ledger_path_));
  process_ = std::make_unique<server_process>(
    "topup-provider-sim", std::vector<std::string>{binary, "--config", sim_config_path.string()},
    run_dir_.string(), (run_dir_ / "provider-sim.log").string());
  auto base_url = "http://" + process_->host() + ":" + std::to_string(process_->port());
  write_json_file(node_config_path_, with_http_providers(std::move(node_document), base_url));
  spdlog::info("provider simulator listening at {}, node configuration {}", base_url,
               node_config_path_.string());
}

void provider_simulator::stop() {
  if (process_->pid() > 0) {
    try {
      ledger_ = parse_ledger_summary(http_get(process_->host(), process_->port(), "/ledger"));
    } catch (const std::exception& error) {
      spdlog::error("cannot read the provider simulator's ledger: {}", error.what());
    }
  }
  if (process_->stop(std::chrono::seconds(10)) != 0)
    spdlog::warn("the provider simulator did not stop cleanly on SIGTERM (see {})",
                 (run_dir_ / "provider-sim.log").string());
}

} // namespace topup::bench
