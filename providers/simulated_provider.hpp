#pragma once

#include "config/config.hpp"
#include "domain/clock.hpp"
#include "messages/interfaces.hpp"
#include "messages/mailbox_pass.hpp"
#include "providers/ledger.hpp"
#include "providers/outcome_model.hpp"

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace topup {

/// What a simulated provider has done since it started; logged when it stops.
struct simulated_provider_counters {
  uint64_t calls = 0;               ///< recharge calls received
  uint64_t queries = 0;             ///< status queries received
  uint64_t outage_refusals = 0;     ///< calls and queries refused at once during an outage
  uint64_t not_sent_lapsed = 0;     ///< calls and queries not taken: their lease had lapsed
  uint64_t answered_success = 0;
  uint64_t answered_transient = 0;  ///< drawn ones, outage refusals, failed ledger writes
  uint64_t answered_permanent = 0;
  uint64_t answered_wrong_carrier = 0;
  uint64_t unanswered = 0;          ///< unknown outcomes: never answered
  uint64_t unknown_performed = 0;   ///< of those, recharged all the same
  uint64_t answered_recharged = 0;  ///< queries answered `recharged`
  uint64_t answered_not_recharged = 0;
  uint64_t answered_query_failed = 0;
  uint64_t ledger_commits = 0;
  uint64_t ledger_rows = 0;
  uint64_t ledger_failures = 0;     ///< commits rolled back: their recharges did not happen
};

struct simulated_provider_state {
  static constexpr const char* name = "simulated_provider";

  using time_point = caf::actor_clock::time_point;

  /// A recharge answer waiting for its latency to pass.
  struct pending_recharge {
    caf::typed_response_promise<recharge_reply> promise;
    recharge_reply reply;
  };

  /// A status query waiting for its latency to pass; answered from the ledger then.
  struct pending_query {
    caf::typed_response_promise<query_reply> promise;
    std::string request_id;
  };

  /// Keyed by when the answer is due, on CAF's actor clock (the clock of scheduled_send).
  using recharge_queue = std::multimap<time_point, pending_recharge>;
  using query_queue = std::multimap<time_point, pending_query>;
  using silent_queue = std::multimap<time_point, caf::typed_response_promise<recharge_reply>>;

  std::string provider;
  std::string ledger_path;
  /// How long a call with an unknown outcome goes unanswered (see simulated_provider).
  nanoseconds silence{};
  std::shared_ptr<const clock> time;
  mono_time started{};  ///< outage windows count from here (injected clock)
  std::optional<outcome_model> model;

  std::unique_ptr<ledger> book;  ///< null while the ledger cannot be opened
  mono_time last_open_failure{};
  bool open_failed_once = false;
  std::string last_failure;
  uint64_t last_txn = 0;  ///< transaction numbers continue from the rows already in the file

  /// Recharges performed since the last commit. `batch_replies` are the success answers
  /// that depend on them: they go out only once the batch is durable, and become transient
  /// failures if it is rolled back. (multimap iterators stay valid until their own erase.)
  std::vector<ledger_record> batch;
  std::vector<recharge_queue::iterator> batch_replies;
  mailbox_pass_end<commit_atom> commit_pass;

  recharge_queue recharges;
  query_queue queries;
  silent_queue unanswered;  ///< calls with an unknown outcome, failed once `silence` passed
  std::set<time_point> wakeups;  ///< ticks with a reminder scheduled (see wake_after)
  simulated_provider_counters counters;

  ~simulated_provider_state();
};

/// Ledger rows per commit at most; more in the mailbox ride the next one.
constexpr size_t provider_ledger_max_batch = 1000;

/// How long after a failed open the ledger is not tried again.
constexpr milliseconds provider_ledger_reopen_interval{500};

/// A simulated provider: outages, latency and outcomes from `model`, real recharges in its
/// ledger (group-committed like the store: every recharge in the mailbox rides one commit).
///
/// - Outage: a recharge is answered transient_failure and a query query_failed at once.
/// - success: the ledger row is committed, then the answer goes out once the drawn latency
///   (counted from the call's arrival) has passed; never before the commit.
/// - transient / permanent failure: answered after the latency, no ledger row.
/// - unknown: recorded in the ledger if performed, and not answered within the caller's call
///   timeout. Only at twice that does the caller get an error (outcome_unknown): a caller
///   that gave up on the call keeps no state for it then.
/// - Query: answered after a drawn latency from the ledger, including rows an earlier
///   process wrote to the same file: recharged with the transaction, or not_recharged.
/// - A call or query whose origin's send_by has passed (by `time`) is not taken at all:
///   error stale_owner, as the HTTP adapter answers one it did not send. Ledger rows record
///   the origin's node and epoch.
///
/// Latency is timed with CAF's actor clock (scheduled_send), outage windows with the injected
/// clock `time`; the two agree for the system clock. Spawn it detached
/// (spawn_simulated_provider): ledger writes block.
provider_actor::behavior_type
simulated_provider(provider_actor::stateful_pointer<simulated_provider_state> self,
                   std::string provider, outcome_model model, std::string ledger_path,
                   milliseconds call_timeout, std::shared_ptr<const clock> time);

/// Spawns a simulated provider named `provider` (the name prefixes its transaction ids).
/// `call_timeout` is the caller's (the provider's timeout_ms). Throws std::invalid_argument
/// when `cfg` cannot be simulated.
provider_actor spawn_simulated_provider(caf::actor_system& system, std::string provider,
                                        simulated_adapter_config cfg, milliseconds call_timeout,
                                        std::shared_ptr<const clock> time);

} // namespace topup
