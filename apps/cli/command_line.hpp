#pragma once

// The command line of topup-cli: every option and subcommand, read into one plain struct.
// CLI11 owns argv (CAF never sees it, so CAF's own --help and INI handling stay out).

#include "apps/cli/arguments.hpp"
#include "apps/cli/exit_codes.hpp"
#include "apps/cli/order_input.hpp"
#include "apps/cli/reconcile.hpp"
#include "apps/cli/store_commands.hpp"
#include "messages/protocol.hpp"

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>

namespace topup::cli {

/// How often the client sends BASP heartbeats; a silent connection is lost after
/// cli_options::connection_timeout, which must be longer.
constexpr int64_t heartbeat_interval_ms = 1000;

enum class command_kind {
  submit, status, list, stats, watch, cancel, members, reconcile, deliveries, redeliver,
  backup, archive  // on the store itself (store_commands.hpp), not through the node
};

/// Whether the command works on the node's store directly rather than through the node.
bool works_on_the_store(command_kind command);

std::string_view to_string(command_kind command);

/// Mutual TLS through CAF's OpenSSL module: all three files or none.
struct tls_options {
  bool enabled = false;
  std::string ca_file;
  std::string certificate;
  std::string key;
};

enum class verbosity { quiet, normal, verbose };

struct cli_options {
  command_kind command = command_kind::stats;
  node_address node{"127.0.0.1", 4242};
  bool json = false;
  time_zone zone = time_zone::local;
  /// Every request to the node waits at most this long for its answer.
  std::chrono::milliseconds timeout{std::chrono::seconds(10)};
  /// A connection with no traffic (heartbeats included) for this long is lost. Longer than
  /// the heartbeat interval of both sides (one second: the node's default and the client's).
  std::chrono::milliseconds connection_timeout{std::chrono::seconds(5)};
  tls_options tls;
  verbosity level = verbosity::normal;

  // submit
  std::optional<order_request> single_order;  ///< --ref/--phone/--amount
  std::string order_file;                     ///< --file; "-" is stdin
  input_format format = input_format::auto_detect;
  size_t batch_size = 500;
  size_t batches_in_flight = 4;
  bool skip_malformed = false;

  // status, cancel, watch, deliveries, redeliver
  std::string order_id;
  std::string delivery_id;  ///< redeliver --delivery
  std::string client_ref;  ///< status --ref
  std::string merchant;    ///< status --merchant: whose reference --ref is; submit --merchant
  bool history = false;    ///< status --history

  // list
  order_filter filter;

  // watch
  uint64_t event_count = 0;  ///< stop after this many changes; 0: until Ctrl-C

  // reconcile
  reconcile_options reconcile;

  // backup, archive
  store_command_options store;
};

/// The options to run with, or the exit code to end with right away (help was printed, or a
/// usage error was reported on `err`).
struct command_line {
  std::optional<cli_options> options;
  exit_code code = exit_code::ok;
};

/// Reads argv. `now_ms` resolves relative times ("list --since 15m").
command_line parse_command_line(int argc, const char* const* argv, int64_t now_ms,
                                std::ostream& out, std::ostream& err);

} // namespace topup::cli
