#pragma once

#include "config/config.hpp"
#include "domain/clock.hpp"
#include "messages/interfaces.hpp"

#include <functional>
#include <map>
#include <memory>
#include <string>

namespace topup {

/// Spawns the provider adapter a recharge actor calls (the simulated provider, an HTTP
/// client, or a test double). The recharge actor links to it: they fail together.
using provider_factory = std::function<provider_actor(caf::actor_system&)>;

/// Builds the adapters the configuration names: simulated providers and HTTP clients.
std::map<std::string, provider_factory> configured_adapters(const config& cfg,
                                                            std::shared_ptr<const clock> time);

} // namespace topup
