#pragma once

// What topup-provider-sim does with each HTTP request, without sockets: routing, signature
// and timestamp checks, the outcome model's decision, deduplication by request id, the
// ledger rows waiting for their commit, and the summary of GET /ledger. The server
// (server.hpp) only moves bytes and keeps time.

#include "apps/provider_sim/rate_window.hpp"
#include "apps/provider_sim/sim_config.hpp"
#include "domain/clock.hpp"
#include "messages/protocol.hpp"
#include "providers/ledger.hpp"
#include "providers/outcome_model.hpp"

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace topup::provider_sim {

/// The parts of an HTTP request the simulator looks at.
struct sim_request {
  std::string method;     ///< "GET", "POST", ...
  std::string target;     ///< "/p-cmcc/recharge", "/ledger?detail=1"
  std::string timestamp;  ///< X-Topup-Timestamp; empty when absent
  std::string signature;  ///< X-Topup-Signature; empty when absent
  std::string body;
};

/// What the server does with one request.
struct sim_action {
  enum class kind : uint8_t {
    answer,   ///< write `status` and the body once `delay` has passed
    reset,    ///< the provider is down: reset the connection without a word
    hold,     ///< an unknown outcome: never answer (until the client gives up)
    summary,  ///< GET /ledger: answer summary(), which needs the ledger's counts per order
    /// GET /statement: answer statement_csv() of the ledger's rows of `provider` with times
    /// in [from_ms, to_ms)
    statement,
  };
  /// Where the body of an answer comes from: fixed now, or read from the recharges when the
  /// answer goes out, after the ledger rows it reports on are durable.
  enum class body_source : uint8_t { fixed, recharge, query };

  kind what = kind::answer;
  unsigned status = 200;
  nanoseconds delay{0};
  body_source source = body_source::fixed;
  std::string body;        ///< source fixed
  size_t provider = 0;     ///< source recharge / query: index in the configuration
  std::string request_id;  ///< source recharge / query: the request the body reports on
  std::string txn;         ///< source recharge: the transaction the success answer names
  bool detail = false;     ///< summary: with the recharges per request id
  std::string statement_provider;  ///< statement: whose rows
  int64_t from_ms = 0;             ///< statement: the period
  int64_t to_ms = 0;
};

/// What one provider has seen since the simulator started.
struct provider_counters {
  uint64_t calls = 0;           ///< recharge calls, refused ones included
  uint64_t queries = 0;         ///< status queries, refused ones included
  uint64_t recharges = 0;       ///< rows in the ledger, those of earlier runs included
  uint64_t deduplicated = 0;    ///< calls for a request already performed, not performed again
  uint64_t refused_outage = 0;  ///< calls and queries reset while down
  uint64_t refused_auth = 0;    ///< bad or missing signature, stale timestamp (401)
  uint64_t malformed = 0;       ///< bodies not following the protocol (400)
  uint64_t answered_failed = 0; ///< drawn transient and permanent failures
  uint64_t answered_wrong_carrier = 0;  ///< calls for numbers configured as wrong_carrier
  uint64_t unanswered = 0;      ///< drawn unknown outcomes: held without an answer
  uint64_t unknown_performed = 0;  ///< of those, recharged all the same
};

/// What one caller (a node, under one epoch of its lease on the provider; "" and 0 for a
/// single node) asked of one provider: every call and query the provider read, so that a
/// test can tell under which lease each was made and when the last one of an epoch came.
struct caller_counters {
  uint64_t calls = 0;
  uint64_t queries = 0;
  int64_t first_at_ms = 0;  ///< arrival of its first call or query (wall ms, this clock)
  int64_t last_at_ms = 0;   ///< arrival of its last one
};

/// A caller of a provider: its node and epoch.
using caller_key = std::pair<std::string, int64_t>;

/// All providers of one simulator. Not thread-safe: one event loop drives it.
class simulator {
public:
  /// `performed` are the rows already in the ledger file: their request ids are not
  /// performed again, and transaction numbers continue after them. Throws
  /// std::invalid_argument for a model that cannot be drawn from.
  simulator(std::vector<sim_provider> providers, std::shared_ptr<const clock> time,
            const std::vector<ledger_record>& performed);

  /// Decides one request. Recharges performed by it are in take_unwritten() until
  /// written.
  sim_action handle(const sim_request& request);

  /// The body of an answer, read now. A success whose ledger row was lost (see
  /// unwritten_lost) turns into a transient failure: that recharge never happened.
  std::string render(const sim_action& action) const;

  /// True while performed recharges wait for their ledger commit.
  bool has_unwritten() const { return !unwritten_.empty(); }

  /// The performed recharges not yet handed out for writing, oldest first.
  std::vector<ledger_record> take_unwritten();

  /// A commit of these rows failed: they did not happen. Their request ids are forgotten
  /// so that a retry performs them, and answers about them tell the truth.
  void unwritten_lost(const std::vector<ledger_record>& rows);

  /// Switches a provider fully down (every call reset) or back up; configured outage
  /// windows apply in addition. False for an unknown provider.
  bool set_down(const std::string& provider, bool down);

  /// GET /ledger's body: totals from `per_order` (the ledger file's rows per order, every
  /// provider included), and per provider its counters, whether it is down now (switched
  /// down or in a configured window), the most calls and queries it saw in one second, and
  /// its callers (`callers`: node, epoch, calls, queries, first_at_ms, last_at_ms, sorted by
  /// node and epoch); with `detail`, its rows per request id.
  nlohmann::json summary(const recharge_counts& per_order, bool detail) const;

  size_t provider_count() const { return providers_.size(); }
  const std::string& provider_name(size_t index) const { return providers_[index].config.name; }
  const provider_counters& counters(size_t index) const { return providers_[index].counters; }
  const std::map<caller_key, caller_counters>& callers(size_t index) const {
    return providers_[index].callers;
  }

private:
  struct performed_request {
    std::string txn;    ///< of the first row
    uint64_t rows = 0;  ///< more than 1 only for rows an earlier, buggier writer left
  };

  struct provider_state {
    sim_provider config;
    outcome_model model;
    bool down = false;
    provider_counters counters;
    rate_window window;
    std::unordered_map<std::string, performed_request> performed;
    std::map<caller_key, caller_counters> callers;
  };

  /// Books a call (or query) the provider read against its caller.
  void attribute(provider_state& provider, const call_origin& origin, bool recharge);

  sim_action call(size_t index, bool recharge, const sim_request& request);
  sim_action admin_outage(const sim_request& request);
  sim_action statement_request(std::string_view query);
  void perform(provider_state& provider, const recharge_call& call, const std::string& txn);
  provider_state* find(const std::string& name);

  std::vector<provider_state> providers_;
  std::shared_ptr<const clock> time_;
  mono_time started_;  ///< configured outage windows count from here
  uint64_t last_txn_ = 0;
  std::vector<ledger_record> unwritten_;
};

/// {"error": message}, the body of every refusal.
std::string error_body(const std::string& message);

/// The statement a provider supplies for reconciliation (domain/statement.hpp) of these
/// ledger rows: the header and one success row per recharge, its phone masked.
std::string statement_csv(const std::vector<ledger_record>& rows);

} // namespace topup::provider_sim
