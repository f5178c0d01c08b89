#pragma once

// Result callbacks to merchants as pure rules: which state changes are notified, where to,
// what the notification says, when a failed delivery is tried again, and what counts as the
// merchant's acknowledgement. The store records a notification in the commit of the state
// change (persistence/callback_outbox); the callback sender (actors/callback_sender) delivers
// it. See README.md, "Result callbacks".

#include "domain/clock.hpp"
#include "domain/merchant.hpp"
#include "domain/order.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace topup {

/// When a delivery that failed is tried again, and when it is given up.
struct callback_schedule {
  /// The wait after the 1st, 2nd, ... failed attempt (the first attempt is made as soon as
  /// the notification is due).
  std::vector<milliseconds> retry_after{std::chrono::seconds{15}, std::chrono::minutes{1},
                                        std::chrono::minutes{5}, std::chrono::minutes{30},
                                        std::chrono::hours{2}};
  /// The wait after every later failure.
  milliseconds repeat_every{std::chrono::hours{6}};
  /// No attempt is made later than this after the notification was due: it is abandoned.
  milliseconds give_up_after{std::chrono::hours{24}};
  /// Each wait is stretched or shrunk by up to this fraction, at random, so that the
  /// deliveries that failed together (a merchant's endpoint down) do not return together.
  double jitter = 0.1;
};

/// Where a delivery is: waiting for its next attempt, acknowledged, or given up.
enum class callback_state : uint8_t { pending, delivered, abandoned };

std::string_view to_string(callback_state state);

/// One notification in the outbox, as the callback sender reads it.
struct callback_delivery {
  std::string delivery_id;
  std::string order_id;
  std::string merchant;
  std::string url;
  std::string body;
  uint32_t attempts = 0;      ///< made so far
  int64_t due_at_ms = 0;      ///< when the first attempt was due
  int64_t next_attempt_at_ms = 0;
};

/// What one attempt came to, as the outbox records it.
struct callback_attempt {
  std::string delivery_id;
  callback_state state = callback_state::pending;  ///< after this attempt
  int64_t at_ms = 0;
  int64_t next_attempt_at_ms = 0;  ///< pending: when to try again
  unsigned http_status = 0;        ///< 0: no answer
  std::string error;               ///< why it failed; empty when delivered
};

/// The outcome of an attempt of `delivery` made at `now_ms` that got `http_status` (0: none)
/// and `body`, or failed with `error`: delivered when acknowledged (callback_acknowledged
/// with `ack`), else pending with the next attempt time, or abandoned past the schedule.
callback_attempt callback_attempt_outcome(const callback_delivery& delivery,
                                          const callback_schedule& schedule, std::string_view ack,
                                          int64_t now_ms, unsigned http_status,
                                          std::string_view body, std::string error,
                                          double random_unit);

/// When the next attempt of a delivery that was due at `due_at_ms` and has now failed
/// `failed_attempts` times (at least 1) is made, given the time of the last failure `now_ms`
/// and `random_unit` in [0, 1) for the jitter; none: it is abandoned (the next attempt would
/// come later than give_up_after past due_at_ms).
std::optional<int64_t> next_callback_attempt_ms(const callback_schedule& schedule,
                                                uint32_t failed_attempts, int64_t due_at_ms,
                                                int64_t now_ms, double random_unit);

/// Whether a change of an order from `from` to `to` is notified to its merchant: it became
/// succeeded or failed (also from unknown), or its outcome became unknown (that notification
/// is due at the order's deadline, and is dropped unsent if the order becomes final first).
bool notifies_merchant(order_status from, order_status to);

/// The delivery id of the notification of `order_id` reaching `status`: the same on every
/// attempt, so that a merchant can tell a repeat from news.
std::string callback_delivery_id(std::string_view order_id, order_status status);

/// Where an order's results go: its notify_url, else its merchant's callback_url, else ""
/// (nowhere; also for an order of a merchant the directory does not know).
std::string callback_destination(const merchant_directory& merchants, const order& o);

/// Whether any order can have a callback destination under `merchants`: some merchant has a
/// callback_url or allowed prefixes. When none can, the store does not look for one.
bool any_callback_destinations(const merchant_directory& merchants);

/// Pending notifications the callback sender leaves in the outbox: those of a merchant the
/// configuration no longer lists (the operator removed it), or that lists it without a
/// callback destination. They are kept, never abandoned: the merchant added back (with its
/// secret, which signs them) gets them all.
struct undeliverable_callbacks {
  std::string merchant;
  uint64_t pending = 0;
  bool listed = false;  ///< in the configuration, without callback_url or allowed prefixes
};

/// The merchants of `pending_by_merchant` (pending notifications per merchant id) whose
/// notifications no sender delivers under `merchants`, by id.
std::vector<undeliverable_callbacks>
undeliverable(const merchant_directory& merchants,
              const std::map<std::string, uint64_t>& pending_by_merchant);

/// The line an operator reads about them: how many, whose, why, and what to do.
std::string describe(const undeliverable_callbacks& held);

/// The notification's JSON body, for an order as stored right after the change: delivery_id,
/// order_id, merchant, client_ref, status, amount_fen, phone (masked: "138****0000"),
/// provider_txn, error, accepted_at_ms, deadline_ms, updated_at_ms (the time of the change).
/// The phone number is masked: the merchant has its own copy under client_ref, and the
/// notification is stored for up to a day and logged at the receiving end.
std::string callback_body(const order& o, std::string_view provider_txn);

/// Whether a merchant's answer acknowledges a notification: a 2xx status and, when `ack` is
/// not empty, a body that is `ack` (letter case and surrounding white space ignored: the
/// "success" of Chinese top-up APIs). Anything else is a failed attempt.
bool callback_acknowledged(unsigned status, std::string_view body, std::string_view ack);

} // namespace topup
