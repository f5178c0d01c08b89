#pragma once

// --via http / http-batch: orders through the node's HTTP API, which the bench puts on a
// free port, signed as the configuration's merchant; with --merchant-sim-binary the
// merchant's result callbacks go to a topup-merchant-sim the bench starts, and the JSON line
// gets their figures ("callbacks").

#include "apps/bench/bench_options.hpp"
#include "apps/bench/figures.hpp"
#include "apps/bench/http_submitter.hpp"
#include "apps/bench/server_process.hpp"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace topup::bench {

class http_route {
public:
  /// Writes the node's configuration with its HTTP API on a free port and, with
  /// --merchant-sim-binary, its callbacks to a topup-merchant-sim started here (files and
  /// logs in `run_dir`). Throws when either fails.
  http_route(const bench_options& options, const std::filesystem::path& node_config,
             const std::filesystem::path& run_dir);

  /// The configuration to start the node with.
  const std::filesystem::path& node_config_path() const { return node_config_path_; }

  /// Starts the keep-alive connections that send the book's orders.
  void start_submitting(std::shared_ptr<shared_book> shared, const workload& load,
                        std::shared_ptr<const order_generator> orders, steady_time start);
  void stop_submitting();

  /// Whether the merchant's callbacks go to a merchant simulator of the bench.
  bool calls_back() const { return merchant_sim_ != nullptr; }
  /// Waits until the merchant simulator received the final notification of each of
  /// `final_orders` (its GET /report), at most a minute, before the node stops sending them.
  void wait_for_callbacks(uint64_t final_orders);
  /// "callbacks" of the JSON line, from the merchant simulator's ledger against the store.
  void add_callback_figures(nlohmann::json& line, const std::vector<stored_order>& rows) const;

  void stop_merchant_sim();
  void kill_merchant_sim();

private:
  std::filesystem::path run_dir_;
  std::string via_;
  uint64_t connections_;
  std::chrono::milliseconds request_timeout_;
  std::filesystem::path node_config_path_;
  std::unique_ptr<server_process> merchant_sim_;
  std::string merchant_ledger_path_;
  http_api_target target_;
  std::unique_ptr<http_submitter> submitter_;
};

} // namespace topup::bench
