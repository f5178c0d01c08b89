#pragma once

#include "config/config.hpp"
#include "domain/clock.hpp"
#include "domain/deadline_schedule.hpp"
#include "messages/interfaces.hpp"

#include <memory>
#include <optional>

namespace topup {

struct deadline_state {
  static constexpr const char* name = "deadline";
  std::unique_ptr<deadline_schedule> schedule;
  std::shared_ptr<const clock> time;
  router_actor router;
  uint64_t timer_generation = 0;
  std::optional<int64_t> timer_due_ms;  ///< steady time (steady_ms) the pending timer fires at
};

/// Reminds the router of every tracked order at its re-send points (default 120 s and 160 s
/// after acceptance) and at its deadline (180 s). Deadlines are stored with the orders; this
/// actor only holds reminders, rebuilt from the store after a restart. Reminders run on the
/// steady clock (deadline_entry), so stepping the wall clock neither brings them forward nor
/// holds them back. One CAF timer is armed at a time, for the earliest reminder (see
/// deadline_schedule).
deadline_actor::behavior_type deadline(deadline_actor::stateful_pointer<deadline_state> self,
                                       deadline_config cfg, std::shared_ptr<const clock> time,
                                       router_actor router);

} // namespace topup
