#include "apps/bench/in_process_engine.hpp"

#include "actors/gateway.hpp"
#include "actors/supervisor.hpp"
#include "actors/watch_hub.hpp"
#include "domain/clock.hpp"

#include <atomic>
#include <memory>

namespace topup::bench {

in_process_engine::in_process_engine(caf::actor_system& system, const config& cfg)
  : self(system) {
  auto time = std::make_shared<system_clock>();
  auto options = make_supervisor_options(cfg, time);
  auto events = options.events;
  node_supervisor = system.spawn(supervisor, std::move(options), time);
  hub = system.spawn(watch_hub, events);
  events->attach(hub);
  entry = system.spawn(gateway, cfg.node.name, gateway_address(cfg.node), node_supervisor, hub,
                       std::make_shared<std::atomic<bool>>(true));
}

void in_process_engine::stop() {
  for (auto handle : {caf::actor_cast<caf::actor>(entry), caf::actor_cast<caf::actor>(hub),
                      caf::actor_cast<caf::actor>(node_supervisor)})
    self->send_exit(handle, caf::exit_reason::user_shutdown);
}

} // namespace topup::bench
