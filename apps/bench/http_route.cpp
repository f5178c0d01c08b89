#include "apps/bench/http_route.hpp"

#include "apps/bench/http_get.hpp"
#include "apps/bench/merchant_setup.hpp"
#include "apps/bench/run_setup.hpp"
#include "apps/bench/stop_signal.hpp"
#include "apps/merchant_sim/receipt_ledger.hpp"
#include "apps/process/child_process.hpp"
#include "config/json_reader.hpp"

#include <spdlog/spdlog.h>

#include <thread>

namespace topup::bench {

namespace fs = std::filesystem;

http_route::http_route(const bench_options& options, const fs::path& node_config,
                       const fs::path& run_dir)
  : run_dir_(run_dir), via_(options.via), connections_(options.http_connections),
    request_timeout_(options.submit_timeout_ms), node_config_path_(run_dir / "node-http.json") {
  auto document = json_config::parse_document(json_config::read_file(node_config));
  auto [merchant, secret] = signing_merchant(document);
  std::string callback_url;
  if (!options.merchant_sim_binary.empty()) {
    fs::create_directories(run_dir_ / "data");
    merchant_ledger_path_ = (run_dir_ / "data" / "merchant-ledger.db").string();
    merchant_sim_ = std::make_unique<server_process>(
      "topup-merchant-sim",
      std::vector<std::string>{options.merchant_sim_binary, "--merchant", merchant, "--secret",
                               secret, "--ledger", merchant_ledger_path_, "--listen",
                               "127.0.0.1:0"},
      run_dir_.string(), (run_dir_ / "merchant-sim.log").string());
    callback_url = "http://" + merchant_sim_->host() + ":"
                   + std::to_string(merchant_sim_->port()) + "/topup/result";
  }
  target_ = {"127.0.0.1", process::free_port(), merchant, secret};
  write_json_file(node_config_path_,
                  with_http_api(std::move(document), target_.port, callback_url));
  spdlog::info("orders go to the HTTP API at {}:{} ({}), signed for merchant {}{}", target_.host,
               target_.port, via_, merchant,
               callback_url.empty() ? "" : ", callbacks to " + callback_url);
}

void http_route::start_submitting(std::shared_ptr<shared_book> shared, const workload& load,
                                  std::shared_ptr<const order_generator> orders,
                                  steady_time start) {
  submitter_ = std::make_unique<http_submitter>(
    std::move(shared), load, std::move(orders), target_,
    via_ == "http" ? http_submit_kind::single : http_submit_kind::batch, connections_, start,
    request_timeout_);
}

void http_route::stop_submitting() {
  if (submitter_)
    submitter_->stop();
}

void http_route::wait_for_callbacks(uint64_t final_orders) {
  if (!merchant_sim_)
    return;
  auto until = steady_clock::now() + std::chrono::seconds(60);
  while (!stop_requested() && steady_clock::now() < until) {
    try {
      auto report = nlohmann::json::parse(
        http_get(merchant_sim_->host(), merchant_sim_->port(), "/report"));
      if (report.value("final_orders", uint64_t{0}) >= final_orders)
        return;
    } catch (const std::exception& error) {
      spdlog::debug("merchant simulator: {}", error.what());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  spdlog::warn("not every final order's notification arrived within a minute");
}

void http_route::add_callback_figures(nlohmann::json& line,
                                      const std::vector<stored_order>& rows) const {
  if (merchant_ledger_path_.empty())
    return;
  try {
    merchant_sim::receipt_ledger ledger{merchant_ledger_path_};
    line["callbacks"] = to_json(callback_figures_of(rows, ledger.all()));
  } catch (const std::exception& error) {
    spdlog::error("cannot read the merchant simulator's ledger: {}", error.what());
  }
}

void http_route::stop_merchant_sim() {
  if (merchant_sim_ && merchant_sim_->stop(std::chrono::seconds(10)) != 0)
    spdlog::warn("the merchant simulator did not stop cleanly on SIGTERM (see {})",
                 (run_dir_ / "merchant-sim.log").string());
}

void http_route::kill_merchant_sim() {
  if (merchant_sim_)
    merchant_sim_->kill();
}

} // namespace topup::bench
