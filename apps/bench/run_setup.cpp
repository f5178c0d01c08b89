#include "apps/bench/run_setup.hpp"

#include "apps/bench/pacing.hpp"
#include "config/json_reader.hpp"

#include <fstream>
#include <stdexcept>
#include <variant>

namespace topup::bench {

namespace fs = std::filesystem;

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

config load_node_config(const fs::path& path, const fs::path& run_dir) {
  auto cfg = load_config_file(path.string());
  anchor_paths(cfg, run_dir);
  return cfg;
}

std::vector<std::string> ledger_files(const config& cfg) {
  std::vector<std::string> files;
  for (const auto& provider : cfg.providers)
    if (auto sim = std::get_if<simulated_adapter_config>(&provider.adapter))
      if (!sim->ledger_path.empty())
        files.push_back(sim->ledger_path);
  return files;
}

void write_json_file(const fs::path& path, const nlohmann::json& value) {
  std::ofstream out{path, std::ios::trunc};
  out << value.dump(2) << "\n";
  out.close();
  if (!out)
    throw std::runtime_error("cannot write " + path.string());
}

fs::path choose_run_dir(const bench_options& options, const std::string& workload_name) {
  if (!options.run_dir.empty())
    return fs::absolute(options.run_dir);
  if (options.connect.empty())
    return fs::temp_directory_path()
           / ("topup-bench-" + workload_name + "-" + std::to_string(wall_now_ms()));
  return fs::current_path();
}

std::optional<std::string> prepare_store_directories(const config& cfg, bool clustered) {
  if (!clustered && fs::exists(cfg.store.sqlite_path))
    return cfg.store.sqlite_path + " exists: give a --run-dir without an earlier run's store";
  std::error_code ignored;
  fs::create_directories(fs::path{cfg.store.sqlite_path}.parent_path(), ignored);
  for (const auto& file : ledger_files(cfg))
    fs::create_directories(fs::path{file}.parent_path(), ignored);
  return std::nullopt;
}

} // namespace topup::bench
