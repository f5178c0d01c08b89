#pragma once

#include "actors/watch_hub.hpp"
#include "config/config.hpp"
#include "domain/clock.hpp"
#include "domain/provider_lane.hpp"
#include "messages/interfaces.hpp"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace topup {

/// Spawns the provider adapter a recharge actor calls (the simulated provider, an HTTP
/// client, or a test double). The recharge actor links to it: they fail together.
using provider_factory = std::function<provider_actor(caf::actor_system&)>;

struct recharge_options {
  std::string provider;
  lane_settings lane;
  milliseconds report_interval{100};
  /// How long to wait before writing again when the store is unavailable.
  milliseconds store_retry{200};
  caf::duration store_timeout = caf::duration{std::chrono::seconds(60)};
  /// Where state changes are published for watching clients; may be null.
  std::shared_ptr<event_feed> events;
};

/// Builds the options of one provider's recharge actor from configuration.
recharge_options make_recharge_options(const provider_config& provider,
                                       const deadline_config& deadline);

struct recharge_state {
  static constexpr const char* name = "recharge";
  recharge_options options;
  std::shared_ptr<const clock> time;
  std::unique_ptr<provider_lane> lane;
  provider_actor provider;
  store_actor store;
  router_actor router;
  uint64_t timer_generation = 0;
  std::optional<mono_time> timer_due;
  bool breaker_was_open = false;
  double latency_ms = 50;  ///< moving average of call latency, for routing
  provider_stats stats;
  /// A state change the store could not take yet, with what to do once it is written.
  struct unwritten_change {
    order before;
    transition change;
    std::function<void()> then;
  };
  std::vector<unwritten_change> unwritten;
};

/// The recharge actor of one provider. Every call is written ahead (dispatch transition)
/// before it starts; a call that times out leaves the outcome unknown, and only a status
/// query resolves it: never a new attempt or a failover meanwhile (guarantee 3).
recharge_actor::behavior_type recharge(recharge_actor::stateful_pointer<recharge_state> self,
                                       recharge_options options,
                                       std::shared_ptr<const clock> time, store_actor store,
                                       router_actor router, provider_factory make_provider);

/// The provider request id of an order at a provider: the same for every attempt there, so
/// a provider that deduplicates recharges at most once.
std::string provider_request_id(const std::string& order_id, const std::string& provider);

} // namespace topup
