#include "apps/bench/cluster_setup.hpp"

#include <stdexcept>

namespace topup::bench {

using nlohmann::json;

std::string bench_node_name(size_t index) {
  return "bench-node-" + std::to_string(index + 1);
}

json cluster_node_config(json base, size_t index, const std::vector<uint16_t>& ports,
                         const std::string& postgresql_connection,
                         const cluster_timing& timing) {
  if (index >= ports.size())
    throw std::invalid_argument("node " + std::to_string(index + 1) + " of a cluster of "
                                + std::to_string(ports.size()));
  auto& node = base["node"];
  node["name"] = bench_node_name(index);
  // The address is written into the membership table: a fixed port, never 0.
  node["listen"] = {{"host", "127.0.0.1"}, {"port", ports[index]}};
  auto& store = base["store"];
  store["backend"] = "postgresql";
  store.erase("sqlite");
  store["postgresql"] = {{"connection", postgresql_connection}};
  auto seeds = json::array();
  for (size_t other = 0; other < ports.size(); ++other)
    if (other != index)
      seeds.push_back("127.0.0.1:" + std::to_string(ports[other]));
  base["cluster"] = {{"seeds", seeds},
                     {"heartbeat_interval_ms", timing.heartbeat_interval_ms},
                     {"down_after_ms", timing.down_after_ms},
                     {"lease_ttl_ms", timing.lease_ttl_ms}};
  return base;
}

std::vector<std::string> provider_names(const json& node_config) {
  std::vector<std::string> names;
  for (const auto& provider : node_config.at("providers"))
    names.push_back(provider.at("name").get<std::string>());
  return names;
}

} // namespace topup::bench
