#pragma once

// `topup-cli submit` without the sending: the fate of each input order, and the bookkeeping
// of a pipelined submission (batches in flight, results released in input order, what became
// of orders when the node stops answering). The CAF actor in topup_cli.cpp only moves
// messages between this and the gateway.

#include "apps/cli/exit_codes.hpp"
#include "apps/cli/order_input.hpp"
#include "messages/protocol.hpp"

#include <cstddef>
#include <map>
#include <optional>
#include <string_view>
#include <vector>

namespace topup::cli {

enum class submit_outcome {
  accepted,  ///< a new order, durable on the node
  existing,  ///< the reference was known with the same content: the stored order
  rejected,  ///< the node refused it (invalid input, conflict, overload)
  unknown,   ///< sent, but no answer: it may or may not have been accepted
  not_sent,  ///< never sent (the node went away first, or Ctrl-C)
};

std::string_view to_string(submit_outcome outcome);

/// What became of one input order.
struct submission {
  size_t line = 0;  ///< its input line; 0 for the order given with --ref/--phone/--amount
  order_request request;
  submit_outcome outcome = submit_outcome::not_sent;
  order stored;             ///< accepted and existing: the node's order
  failure_report failure;   ///< rejected, unknown and not_sent: why
};

/// The exit code one submission calls for.
exit_code exit_code_of(const submission& s);

/// Counts of a submission run, for the summary line and the exit code.
struct submit_tally {
  size_t accepted = 0;
  size_t existing = 0;
  size_t rejected = 0;
  size_t unknown = 0;
  size_t not_sent = 0;
  exit_code code = exit_code::ok;

  void add(const submission& s);
  size_t total() const;
};

/// Every order of `orders` not sent because of `why` (no connection to the node), in input
/// order: their result lines.
std::vector<submission> unsent_submissions(const std::vector<numbered_request>& orders,
                                           const failure_report& why);

/// "1000 orders in 0.52 s (1923/s): 990 accepted, 5 existing, 5 rejected" (unknown and not
/// sent only when there are any).
std::string summary_line(const submit_tally& tally, double seconds);

/// One batch to send: the index of its first order and the requests.
struct batch {
  size_t first = 0;
  std::vector<order_request> requests;
};

/// Sends input orders in batches with a bounded number of batches in flight and hands back
/// their results in input order, whatever order the answers come in.
class submit_pipeline {
public:
  submit_pipeline(std::vector<numbered_request> orders, size_t batch_size,
                  size_t max_batches_in_flight);

  /// The next batch to send, while the window has room, orders are left and the run has not
  /// been stopped.
  std::optional<batch> next_batch();

  /// The node's answer to the batch starting at `first`. An answer with the wrong number of
  /// results counts as the whole batch failing with an internal error.
  void answered(size_t first, const std::vector<submit_result>& results);

  /// The batch starting at `first` failed as a whole: every order in it is rejected (the node
  /// refused the batch) or unknown (no answer). No answer also stops the run: sending more to
  /// a node that does not answer would only multiply the unknown orders.
  void failed(size_t first, const failure_report& why);

  /// Sends nothing more; orders not yet sent become not_sent with `why` (Ctrl-C).
  void stop(const failure_report& why);

  /// The node is gone: batches in flight become unknown, unsent orders not_sent, both `why`.
  void abandon(const failure_report& why);

  /// Settled submissions not yet taken, in input order, up to the first unsettled order.
  std::vector<submission> take_ready();

  /// True when every order is settled (answered, given up or not sent).
  bool finished() const;

  size_t total() const { return orders_.size(); }
  size_t settled() const { return settled_; }
  size_t batches_in_flight() const { return in_flight_.size(); }
  const submit_tally& tally() const { return tally_; }

private:
  void settle(size_t index, submission s);
  void give_up_unsent(const failure_report& why);

  std::vector<numbered_request> orders_;
  size_t batch_size_;
  size_t max_batches_in_flight_;
  size_t next_unsent_ = 0;
  size_t next_to_release_ = 0;
  size_t settled_ = 0;
  bool stopped_ = false;
  std::map<size_t, size_t> in_flight_;     ///< first index -> size of each batch in flight
  std::map<size_t, submission> settled_unreleased_;  ///< by index, waiting for earlier ones
  submit_tally tally_;
};

} // namespace topup::cli
