#include "apps/bench/hold_scenario.hpp"

#include "apps/bench/stop_signal.hpp"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <thread>

namespace topup::bench {

namespace fs = std::filesystem;

bool measure_holding(const node_fleet& fleet, hold_report& report) {
  auto node = fleet.process(0);
  if (!node || node->pid() <= 0) {
    spdlog::error("the node is gone before its restart");
    return false;
  }
  report.rss_kib = status_kib(node->pid(), "VmRSS");
  report.peak_rss_kib = peak_rss_kib(node->pid());
  return true;
}

void restart_and_measure(node_fleet& fleet, hold_report& report) {
  fleet.kill(0);
  spdlog::info("node holding the orders killed (SIGKILL), RSS {} KiB; restarting it",
               report.rss_kib.value_or(0));
  // Only what the new process logs counts: the log so far is skipped.
  fs::path log_path = fleet.log_path(0);
  std::error_code no_log;
  auto log_offset = fs::file_size(log_path, no_log);
  if (no_log)
    log_offset = 0;
  if (!fleet.start(0))
    return;
  auto node = fleet.process(0);
  auto restarted_at = node->started_at();
  report.restart_listening_ms =
    std::chrono::duration<double, std::milli>(node->ready_at() - restarted_at).count();
  // The router logs its recovery once it read and queued every pending order.
  const auto limit = std::chrono::minutes(10);
  std::ifstream log_stream{log_path};
  log_stream.seekg(static_cast<std::streamoff>(log_offset));
  std::string partial;
  while (!stop_requested() && node->pid() > 0
         && std::chrono::steady_clock::now() - restarted_at < limit) {
    std::string line;
    while (std::getline(log_stream, line)) {
      if (log_stream.eof()) {  // a line still being written
        partial += line;
        break;
      }
      partial += line;
      if (auto recovery = parse_router_recovery(partial)) {
        report.recovered = recovery;
        report.restart_recovered_ms = std::chrono::duration<double, std::milli>(
                                        std::chrono::steady_clock::now() - restarted_at)
                                        .count();
      }
      partial.clear();
    }
    if (report.recovered)
      break;
    log_stream.clear();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (!report.recovered) {
    spdlog::error("the restarted node did not log its recovery (see {})", log_path.string());
    return;
  }
  spdlog::info("restarted node recovered {} waiting orders and {} in flight after {:.0f} ms",
               report.recovered->waiting, report.recovered->in_flight,
               *report.restart_recovered_ms);
  // Queuing what was recovered may allocate a little longer than the log line.
  std::this_thread::sleep_for(std::chrono::seconds(2));
  report.rss_after_restart_kib = status_kib(node->pid(), "VmRSS");
  report.peak_rss_after_restart_kib = peak_rss_kib(node->pid());
}

} // namespace topup::bench
