#include "apps/provider_sim/sim_config.hpp"

#include "config/json_reader.hpp"

#include <algorithm>
#include <set>
#include <stdexcept>

namespace topup::provider_sim {
namespace {

using json_config::json;
using json_config::object_reader;

/// Paths the simulator answers itself; a provider of that name would be unreachable.
const std::set<std::string> reserved_names{"admin", "ledger", "health"};

bool url_safe(const std::string& name) {
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'
           || c == '_' || c == '.';
  });
}

sim_provider read_provider(const json& value, const std::string& path) {
  object_reader reader{value, path};
  sim_provider provider;
  provider.name = reader.required_string("name");
  if (provider.name.empty() || !url_safe(provider.name))
    throw config_error(reader.path_of("name"),
                       "'" + provider.name
                         + "' is not a provider name: use letters, digits, '-', '_' and '.'");
  if (reserved_names.count(provider.name) != 0)
    throw config_error(reader.path_of("name"),
                       "'" + provider.name + "' is a path of the simulator itself");
  provider.secret = reader.required_string("secret");
  if (provider.secret.empty())
    throw config_error(reader.path_of("secret"), "must not be empty");
  if (auto model = reader.find("model")) {
    auto model_path = reader.path_of("model");
    if (model->is_object() && model->contains("ledger"))
      throw config_error(model_path + "/ledger",
                         "the simulator keeps one ledger for all its providers: set the "
                         "top-level \"ledger\" instead");
    provider.model = parse_simulated_adapter(*model, model_path);
  }
  reader.finish();
  return provider;
}

} // namespace

listen_address parse_listen_address(const std::string& text) {
  auto reading = parse_host_port(text, {std::nullopt, true});
  if (!reading)
    throw std::invalid_argument(reading.error);
  return *reading.address;
}

sim_config parse_sim_config(const std::string& json_text) {
  auto document = json_config::parse_document(json_text);
  object_reader reader{document, ""};
  sim_config cfg;
  if (auto listen = reader.find("listen")) {
    auto text = object_reader::as_string(*listen, "/listen");
    try {
      cfg.listen = parse_listen_address(text);
    } catch (const std::invalid_argument& error) {
      throw config_error("/listen", error.what());
    }
  }
  cfg.ledger_path = reader.string("ledger", cfg.ledger_path);
  if (cfg.ledger_path.empty())
    throw config_error("/ledger", "must not be empty");
  const auto& providers = json_config::as_array(reader.require("providers"), "/providers");
  if (providers.empty())
    throw config_error("/providers", "at least one provider is required");
  for (size_t i = 0; i < providers.size(); ++i) {
    auto path = "/providers/" + std::to_string(i);
    cfg.providers.push_back(read_provider(providers[i], path));
    for (size_t j = 0; j < i; ++j)
      if (cfg.providers[j].name == cfg.providers[i].name)
        throw config_error(path + "/name",
                           "provider name '" + cfg.providers[i].name + "' is used twice");
  }
  reader.finish();
  return cfg;
}

sim_config load_sim_config(const std::string& path) {
  return parse_sim_config(json_config::read_file(path));
}

} // namespace topup::provider_sim
