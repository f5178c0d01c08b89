#include "apps/bench/provider_setup.hpp"

#include <algorithm>
#include <stdexcept>

namespace topup::bench {

using nlohmann::json;

namespace {

bool is_simulated(const json& provider) {
  auto adapter = provider.find("adapter");
  return adapter != provider.end() && adapter->is_object() && adapter->value("type", "") == "simulated";
}

} // namespace

std::string sim_secret(const std::string& provider) {
  return provider + "-bench-secret";
}

json sim_config_for(const json& node_config, const std::string& ledger_path) {
  json providers = json::array();
  const auto& node_providers = node_config.at("providers");
  for (size_t i = 0; i < node_providers.size(); ++i) {
    const auto& provider = node_providers[i];
    if (!is_simulated(provider))
      continue;
    auto model = provider.at("adapter");
    // The simulator keeps one ledger for all; "type" is the node's business.
    model.erase("type");
    model.erase("ledger");
    if (!model.contains("seed"))
      model["seed"] = i + 1;
    auto name = provider.at("name").get<std::string>();
    providers.push_back({{"name", name}, {"secret", sim_secret(name)}, {"model", model}});
  }
  if (providers.empty())
    throw std::invalid_argument("the node configuration has no simulated provider to run "
                                "out of process");
  return {{"listen", "127.0.0.1:0"}, {"ledger", ledger_path}, {"providers", providers}};
}

json with_http_providers(json node_config, const std::string& base_url) {
  for (auto& provider : node_config.at("providers")) {
    if (!is_simulated(provider))
      continue;
    auto name = provider.at("name").get<std::string>();
    provider["adapter"] = {
      {"type", "http"}, {"base_url", base_url + "/" + name}, {"secret", sim_secret(name)}};
  }
  return node_config;
}

uint64_t ledger_summary::max_calls_in_1s_window() const {
  uint64_t most = 0;
  for (const auto& provider : providers)
    most = std::max(most, provider.max_calls_in_1s_window);
  return most;
}

ledger_summary parse_ledger_summary(const std::string& body) {
  json document;
  try {
    document = json::parse(body);
  } catch (const json::exception& error) {
    throw std::runtime_error(std::string{"the provider ledger answer is not JSON: "}
                             + error.what());
  }
  auto count = [](const json& object, const char* key, const std::string& where) {
    auto found = object.find(key);
    if (found == object.end() || !found->is_number_unsigned())
      throw std::runtime_error("the provider ledger answer has no count \"" + std::string{key}
                               + "\"" + where);
    return found->get<uint64_t>();
  };
  if (!document.is_object())
    throw std::runtime_error("the provider ledger answer is not a JSON object");
  ledger_summary summary;
  summary.total_recharges = count(document, "total_recharges", "");
  summary.orders = count(document, "orders", "");
  summary.duplicates = count(document, "duplicates", "");
  auto providers = document.find("providers");
  if (providers == document.end() || !providers->is_object())
    throw std::runtime_error("the provider ledger answer has no \"providers\" object");
  for (const auto& [name, entry] : providers->items()) {
    auto where = " for provider " + name;
    if (!entry.is_object())
      throw std::runtime_error("the provider ledger answer has no object" + where);
    provider_ledger provider;
    provider.name = name;
    provider.calls = count(entry, "calls", where);
    provider.queries = count(entry, "queries", where);
    provider.recharges = count(entry, "recharges", where);
    provider.deduplicated = count(entry, "deduplicated", where);
    provider.refused_outage = count(entry, "refused_outage", where);
    provider.max_calls_in_1s_window = count(entry, "max_calls_in_1s_window", where);
    summary.providers.push_back(std::move(provider));
  }
  return summary;
}

json to_json(const ledger_summary& summary) {
  json providers = json::object();
  for (const auto& p : summary.providers)
    providers[p.name] = {{"calls", p.calls},
                         {"queries", p.queries},
                         {"recharges", p.recharges},
                         {"deduplicated", p.deduplicated},
                         {"refused_outage", p.refused_outage},
                         {"max_calls_in_1s_window", p.max_calls_in_1s_window}};
  return providers;
}

} // namespace topup::bench
