#pragma once

// The decisions of the queue ingresses (the Redis-list and RabbitMQ-queue consumers), without
// any broker or actor: what becomes of each message once intake answered or did not, what a
// dead letter and a written result look like, and where a result writer resumes after a
// crash. How long they wait before trying again is domain/retry_backoff's. The consumers (actors/queue_ingress) are shells that
// move bytes between a broker and these functions.

#include "domain/errors.hpp"
#include "domain/order.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace topup {

/// The name an ingress records on the orders it submits (order::ingress).
inline constexpr std::string_view redis_ingress_name = "redis";
inline constexpr std::string_view rabbitmq_ingress_name = "rabbitmq";

// -- what becomes of a message ------------------------------------------------------------------

enum class message_fate {
  done,         ///< intake answered for good (accepted, existing): remove / acknowledge it
  dead_letter,  ///< refused for good (malformed, invalid, conflicting): dead letter, then remove
  retry,        ///< not now (overloaded, unavailable, shutting_down, no answer): keep it, retry
};

std::string_view to_string(message_fate fate);

/// The fate of a message that intake answered with `refusal` (none: accepted or existing).
/// The refusals a client may retry (errc is_retryable) keep the message; every other one is
/// final and sends it to the dead letters.
message_fate fate_of(const std::optional<failure>& refusal);

/// What happened to one message of a batch.
struct message_outcome {
  message_fate fate = message_fate::retry;
  failure why;  ///< the refusal (dead_letter, retry); empty for done
};

/// A batch of messages on its way to intake: each is parsed once (parse_order_json); the
/// ones that parse become the batch's requests, the others are dead letters whatever intake
/// says.
class ingress_batch {
public:
  explicit ingress_batch(const std::vector<std::string>& messages);

  /// The order requests for intake, one per message that parsed, in message order.
  const std::vector<order_request>& requests() const { return requests_; }

  /// Every message's outcome given intake's answer to requests(): one refusal (or none) per
  /// request, in the same order. An answer of another length is treated as no answer.
  std::vector<message_outcome> settle(const std::vector<std::optional<failure>>& answers) const;

  /// Every message's outcome when intake gave no answer (a timeout, intake down): the
  /// parsed ones are retried with `why`, the malformed ones are dead letters all the same.
  std::vector<message_outcome> unanswered(const failure& why) const;

private:
  std::vector<std::optional<failure>> parse_failures_;  ///< per message
  std::vector<order_request> requests_;
};

/// Counts of a batch's outcomes, for logs and tests.
struct fate_counts {
  size_t done = 0;
  size_t dead_letters = 0;
  size_t retries = 0;
};
fate_counts count_fates(const std::vector<message_outcome>& outcomes);

/// A Redis dead-letter entry: a JSON object with the original message ("message", or
/// "message_base64" when it is not valid UTF-8, so that no byte is lost), the error code
/// ("error", e.g. "invalid_phone"), its reason, the node that refused it and when (ms since
/// the epoch).
std::string dead_letter_json(std::string_view message, const failure& why, std::string_view node,
                             int64_t at_ms);

/// The headers of a RabbitMQ dead letter, whose body is the refused message untouched:
/// x-topup-error (the error code, e.g. "invalid_phone"), x-topup-reason, x-topup-node (the
/// node that refused it) and x-topup-at-ms (when, ms since the epoch), all text.
std::vector<std::pair<std::string, std::string>>
dead_letter_headers(const failure& why, std::string_view node, int64_t at_ms);

// -- results ------------------------------------------------------------------------------------

/// What a result says about a final order, as field/value pairs (a Redis hash) in this order:
/// client_ref, order_id, status, amount_fen, carrier, provider, error (the order's last
/// error, empty for a success), accepted_at_ms, finished_at_ms. The phone number is left out:
/// the producer has it, and a result store is one more place it would leak from.
std::vector<std::pair<std::string, std::string>> result_fields(const order& o);

/// The same fields as one JSON object (a published result), amount and times as numbers.
std::string result_json(const order& o);

/// True for the orders a result writer of `ingress` writes: those that came in through it,
/// once they are final (succeeded or failed; `unknown` is not final and is written when the
/// provider's answer makes it so).
bool wants_result(const order& o, std::string_view ingress);

/// Where a result writer resumes after a crash: results of orders that became final at or
/// after this wall time (ms) may not have been written. Written results are not tracked one
/// by one: the point trails the oldest result not yet written (`oldest_unwritten_ms`; none:
/// `now_ms`) by `margin_ms`, which covers the time between the moment an order's final state
/// is stamped and the moment its change reaches the writer (the commit, and clock differences
/// between the nodes of a cluster). It never goes back from `previous`.
int64_t result_resume_point(int64_t previous, int64_t now_ms,
                            std::optional<int64_t> oldest_unwritten_ms, int64_t margin_ms);

// -- names with placeholders --------------------------------------------------------------------

/// Checks a name template ("topup:result:{client_ref}"): every '{' opens a placeholder closed
/// by '}' and named in `placeholders`; no stray '}'. The problem, or none.
std::optional<std::string> check_name_template(std::string_view text,
                                               const std::vector<std::string_view>& placeholders);

/// A template checked by check_name_template with each placeholder replaced by `value(name)`.
std::string expand_name_template(std::string_view text,
                                 const std::function<std::string(std::string_view)>& value);

/// The placeholders of result keys, channels and routing keys, and their values.
inline const std::vector<std::string_view> result_placeholders{"client_ref", "order_id",
                                                               "status", "merchant"};
std::string expand_result_template(std::string_view text, const order& o);

} // namespace topup
