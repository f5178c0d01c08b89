#pragma once

// `topup-cli reconcile` (对账) without the actor system: its options, the bookkeeping of a
// run (the attempt pages asked one after the other, the orders looked up, the settle
// report), and its output as a table, CSV or JSON. topup_cli.cpp sends the requests this
// says to send; domain/reconciliation does the comparing.
//
// A run: read and check the statement file (nothing is sent when it has problems), ask the
// node to settle the provider's unknown outcomes (the node holding the provider queries them
// now and answers once they are known or --settle-wait is over), read the provider's
// attempts of the period page by page, ask the node about the orders of statement rows that
// match no attempt (does it have them at all?), compare, print; exit 0 when every request
// agrees, 6 (disagreements) otherwise.

#include "apps/cli/arguments.hpp"
#include "apps/cli/exit_codes.hpp"
#include "domain/reconciliation.hpp"
#include "domain/statement.hpp"
#include "messages/protocol.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace topup::cli {

enum class report_format {
  table,       ///< summary lines, the disagreements and the totals as text tables
  csv,         ///< the disagreements, one CSV row each
  csv_totals,  ///< the totals per provider and day, one CSV row each
  json,        ///< everything as one JSON object on one line
};

struct reconcile_options {
  std::string provider;
  int64_t from_ms = 0;
  int64_t to_ms = 0;
  int utc_offset_minutes = 0;
  std::string statement_path;  ///< "-" is stdin
  report_format format = report_format::table;
  /// How long the node may spend settling unknown outcomes; 0 skips settling.
  std::chrono::milliseconds settle_wait{std::chrono::seconds(10)};
  /// Attempts started this long before or after the period are read too, to match the
  /// statement rows of calls across its boundaries.
  std::chrono::milliseconds margin{std::chrono::minutes(10)};
  uint32_t page_size = 1000;
};

/// The reconcile options as text, read by CLI11 and made into reconcile_options after.
struct reconcile_arguments {
  std::string from, to, utc_offset, format = "table", settle_wait = "10s", margin = "10m";
};

/// Adds the `reconcile` subcommand to `app`, reading into `options` and `texts`.
CLI::App* add_reconcile_command(CLI::App& app, reconcile_options& options,
                                reconcile_arguments& texts);

/// Completes `options` from `texts` once parsed: times, offset, format (--json means json),
/// durations. `now_ms` resolves relative times; without --utc-offset, days are counted at
/// UTC when `utc` is set, else at the local zone's offset now. Returns a usage error or
/// nothing.
std::optional<std::string> finish_reconcile_options(reconcile_options& options,
                                                    const reconcile_arguments& texts,
                                                    int64_t now_ms, bool utc, bool json);

/// Reads --from/--to: ISO 8601 (without a zone: at `utc_offset_minutes`), milliseconds since
/// the epoch, or a duration ago ("1d").
parsed<int64_t> parse_reconcile_time(std::string_view text, int64_t now_ms,
                                     int utc_offset_minutes);

/// What a reconciliation run gathers, and what it asks next.
class reconcile_job {
public:
  reconcile_job(reconcile_options options, std::vector<statement_row> statement);

  const reconcile_options& options() const { return options_; }

  /// The settle request to send first (when options().settle_wait > 0).
  settle_request settle() const;
  void settled(settle_report report);
  /// Settling failed; the run goes on (unknown outcomes are reported as such).
  void settle_failed(std::string why);

  /// The first page of attempts to ask for.
  attempt_query first_page() const;
  /// Takes a page; returns the query of the next one, or nothing when this was the last.
  std::optional<attempt_query> page_arrived(const std::vector<attempt_record>& page);

  /// After the last page: the orders of statement rows that no attempt matches, to look up.
  std::vector<std::string> orders_to_look_up() const;
  /// The engine has this order (a lookup found it).
  void order_known(const std::string& id);

  /// The comparison of everything gathered.
  reconciliation compare();

  size_t attempts_read() const { return engine_.attempts(); }
  size_t pages_read() const { return pages_; }
  /// The node's settle report, when it gave one.
  const std::optional<settle_report>& settled_report() const { return settled_; }
  /// Why settling failed or was skipped; empty when it was done.
  const std::string& settle_failure() const { return settle_failure_; }
  size_t statement_rows() const { return statement_.size(); }

private:
  reconcile_options options_;
  std::vector<statement_row> statement_;
  engine_requests engine_;
  std::vector<engine_request> requests_;  ///< folded after the last page
  std::set<std::string> known_orders_;
  std::optional<settle_report> settled_;
  std::string settle_failure_;
  size_t pages_ = 0;
};

/// The exit code of a finished run: ok when every request agrees, disagreements otherwise.
exit_code exit_code_of(const reconciliation& result);

/// The run's report in `options().format`, ending with a newline.
std::string render(const reconcile_job& job, const reconciliation& result);

} // namespace topup::cli
