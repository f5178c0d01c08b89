#pragma once

// Admission: intake refuses (`overloaded`) an order that no provider serving its carrier is
// expected to start in time, instead of accepting it and failing it at its deadline. The
// router knows the providers' load (their recharge actors report it); intake decides for every
// order. The router hands intake a snapshot of that load on every report; intake adds what it
// admitted since (each order charged to the provider routing will pick), so a burst between
// two snapshots is counted as it comes. Pure logic: no actor, no clock. What an order costs a
// provider in calls is measured by its recharge actor (domain/call_cost_meter.hpp).

#include "domain/errors.hpp"
#include "domain/routing.hpp"

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

namespace topup {

/// How long after its acceptance a new order's first call should start at the latest: early
/// enough that the call times out before the deadline, and before the order's first re-send
/// point, where the engine deems an order still waiting late and moves it ahead of every other
/// (were queues longer than that, every order would become such a re-send and a retry, which
/// goes back behind them, would wait for its deadline); less `margin_ms`, left for retries and
/// for the model's error: by default a tenth of that time (108 s of 120 s). Never below zero.
int64_t latest_first_start_ms(int64_t deadline_limit_ms, std::optional<int64_t> first_resend_ms,
                              int64_t call_timeout_ms, std::optional<int64_t> margin_ms);

/// The share of new orders refused while the store lags `lag_ms` behind with its state
/// changes: none up to half the limit, then more and more, every order from the limit on
/// (0 when `limit_ms` is 0: no limit). Shedding begins early and gradually so that the store
/// never runs out of work while clients back off.
double store_refusal_share(double lag_ms, double limit_ms);

/// What the router knows of its providers' load, for intake's admission.
struct admission_snapshot {
  /// New orders the router has taken from intake (dispatch messages), in all: intake's orders
  /// beyond this count are not in `providers` yet.
  uint64_t orders_received = 0;
  /// The router's budget for new orders (see choose_provider): intake picks as it does.
  double routing_budget_ms = 0;
  /// By provider index: the load as the router knows it (the lanes' last reports, plus what
  /// the router sent them since).
  std::vector<provider_view> providers;
  /// By provider index: latest_first_start_ms for that provider.
  std::vector<double> latest_start_ms;
  /// The store lag (the largest provider's store_lag_ms) from which every new order is
  /// refused, a share of them from half of it on (store_refusal_share); 0: no limit. The
  /// store is the bound then: what it has not written yet is not to wait longer.
  double store_lag_limit_ms = 0;
};

/// Intake's side of admission: the latest snapshot, plus the orders intake admitted that the
/// snapshot does not count yet. Every admitted order is charged to the provider routing will
/// pick for it, from its admission until a snapshot counts it (or it turns out not to reach
/// the router: a resubmission, a failed insert). Without a snapshot every order is admitted.
class admission_control {
public:
  /// The provider an admitted order is charged to; none when no load is known for it.
  using charge = std::optional<uint16_t>;

  struct verdict {
    bool admitted = true;
    charge charged;
    /// Not admitted: errc::overloaded, why, and when trying again may succeed.
    failure refusal;
  };

  /// Whether an order of `carrier` may be accepted now: yes when the store keeps up (none of
  /// store_refusal_share is due) and some provider serving it (one with a closed
  /// breaker, if any has) can start it within its latest start, or its load is not known
  /// here (another node holds it). An admitted order is charged at once.
  /// O(providers), no allocation unless refused.
  verdict admit(const std::string& carrier);

  /// The admitted order was stored and handed to the router, in this order.
  void handed_on(charge charged);

  /// The admitted order does not reach the router (it existed already, or was not stored).
  void withdraw(charge charged);

  /// A snapshot from the router intake hands its orders to.
  void update(admission_snapshot snapshot);

  /// Intake hands its orders to another router from now on (a restarted one): the orders
  /// handed to the old one are its replacement's to recover from the store, and its counts
  /// start from zero.
  void router_changed();

  /// Orders charged and not yet counted by a snapshot, in all (for tests and stats).
  uint64_t uncounted() const;

private:
  void add_charge(uint16_t provider, int64_t delta);

  admission_snapshot snapshot_;            ///< with the charges added to `queued`
  std::vector<uint64_t> charged_;          ///< by provider: admitted, not in the snapshot
  std::deque<charge> handed_;              ///< handed to the router, not yet counted by it
  /// Handed to the router before the first snapshot (uncharged), not yet counted by it: kept
  /// as a number, so that without snapshots (admission off) nothing accumulates.
  uint64_t untracked_ = 0;
  uint64_t counted_ = 0;                   ///< the last snapshot's orders_received
  /// store_refusal_share summed over the orders asked about: one is refused per whole one.
  double store_refusals_ = 0;
};

} // namespace topup
