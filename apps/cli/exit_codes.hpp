#pragma once

// How topup-cli ends: its exit codes, and how an error from the node or from CAF becomes one.

#include <caf/error.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace topup::cli {

/// The process exit codes; scripts rely on them, so existing values never change meaning.
enum class exit_code : int {
  ok = 0,
  rejected = 1,      ///< the node refused: an order rejected, an order not found, a cancel refused
  bad_input = 2,     ///< bad arguments, or a malformed line in an order file
  unreachable = 3,   ///< cannot connect, the node went down, or a request timed out
  internal = 4,      ///< protocol mismatch, an unexpected answer, a bug
  retry_later = 5,   ///< the node refused for now: overloaded, unavailable, shutting_down
  disagreements = 6, ///< reconcile ran to the end and found disagreements with the statement
  interrupted = 130, ///< Ctrl-C stopped a submission before every order was sent
};

/// The code to exit with when both apply: the more severe one. Severity, lowest first: ok,
/// disagreements, rejected, bad_input, retry_later, unreachable, internal, interrupted
/// (disagreements are a complete answer, every other code a run that did not finish;
/// interrupted above
/// all, since then the run's result is incomplete by the user's choice). retry_later ranks
/// above rejected and bad_input so that a script sees that running again may help.
exit_code worse(exit_code a, exit_code b);

/// The exit code table for `--help`.
std::string exit_codes_help();

/// A failure as the client reports it: the exit code it implies, a stable machine-readable
/// kind ("invalid_phone", "request_timeout", "node_down") and a sentence for humans.
struct failure_report {
  exit_code code = exit_code::internal;
  std::string kind;
  std::string message;
  /// overloaded: the node's hint, in seconds, after which submitting again may succeed (0: none).
  int64_t retry_after_s = 0;
};

/// Classifies an error answered by the node or produced by CAF: topup errors the node
/// answers with are `rejected`, except the retryable ones (overloaded, unavailable,
/// shutting_down: `retry_later`) and those meaning a node-side bug (`internal`); lost
/// connections and timeouts are `unreachable`, talking to something that is not a topup
/// gateway is `internal`.
failure_report classify(const caf::error& error);

/// True when the node answered with a refusal (`rejected` or `retry_later`): the order was
/// surely not accepted, as opposed to an unknown outcome.
bool is_refusal(exit_code code);

/// The report for a gateway that went down (its down_msg reason) while `doing` something.
failure_report node_down(std::string_view node, const caf::error& reason);

} // namespace topup::cli
