#include "providers/adapters.hpp"

#include "providers/http_provider.hpp"
#include "providers/simulated_provider.hpp"

namespace topup {

using std::chrono::milliseconds;

std::map<std::string, provider_factory> configured_adapters(const config& cfg,
                                                            std::shared_ptr<const clock> time) {
  std::map<std::string, provider_factory> adapters;
  for (const auto& provider : cfg.providers) {
    if (auto simulated = std::get_if<simulated_adapter_config>(&provider.adapter)) {
      adapters[provider.name] = [name = provider.name, sim = *simulated,
                                 call_timeout = milliseconds{provider.timeout_ms},
                                 time](caf::actor_system& system) {
        return spawn_simulated_provider(system, name, sim, call_timeout, time);
      };
    } else if (auto http = std::get_if<http_adapter_config>(&provider.adapter)) {
      adapters[provider.name] = [name = provider.name, http = *http,
                                 call_timeout = milliseconds{provider.timeout_ms},
                                 time](caf::actor_system& system) {
        return spawn_http_provider(system, name, http, call_timeout, time);
      };
    }
  }
  return adapters;
}

} // namespace topup
