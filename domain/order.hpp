#pragma once

#include "domain/clock.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace topup {

/// Where an order is in its lifecycle (next_status in domain/order_state_machine decides;
/// ARCHITECTURE.md draws it).
/// Values are stored in the database as their names, never as numbers.
enum class order_status : uint8_t {
  accepted,    ///< durable, waiting for a provider call
  dispatched,  ///< attempt written ahead, provider call in flight
  succeeded,   ///< terminal: the provider recharged the number
  failed,      ///< terminal: permanent error, deadline or cancel; the amount is refunded
  unknown,     ///< the last call's outcome is unknown; queried until the provider answers
};

inline constexpr order_status all_order_statuses[] = {
  order_status::accepted, order_status::dispatched, order_status::succeeded,
  order_status::failed, order_status::unknown};

std::string_view to_string(order_status status);
std::optional<order_status> order_status_from_string(std::string_view name);

/// True for states no event leaves: succeeded and failed. `unknown` is not final: a later
/// status query still resolves it.
bool is_final(order_status status);

/// What a client submits. Amounts are integers in fen (1/100 yuan).
struct order_request {
  std::string client_ref;  ///< the client's idempotency key, unique per merchant
  std::string phone;
  int64_t amount_fen = 0;
  /// Who the order is for; empty: the node's default merchant (intake fills it in).
  std::string merchant{};
  /// Where its result is sent; empty: the merchant's default callback URL. Must lie under
  /// one of the merchant's allowed prefixes (domain/merchant).
  std::string notify_url{};
  /// The carrier the number is with, when the client knows better than its prefix (a number
  /// ported to another carrier); empty: the carrier its prefix belongs to.
  std::string carrier{};
};

/// An accepted order as the store keeps it. Times are milliseconds since the Unix epoch.
struct order {
  std::string id;
  std::string client_ref;
  std::string phone;
  std::string carrier;
  int64_t amount_fen = 0;
  std::string provider;  ///< provider of the latest attempt (empty before the first one)
  order_status status = order_status::accepted;
  int32_t attempts = 0;
  int64_t accepted_at_ms = 0;
  int64_t deadline_ms = 0;
  int64_t updated_at_ms = 0;
  std::string last_error;
  /// Where deadline_ms lies on this process's steady clock: what every expiry decision of
  /// the running engine compares with (see clock.hpp). Neither stored nor sent to another
  /// node: set at acceptance, or by anchor_deadline when the order enters the process from
  /// the store or another node.
  std::optional<mono_time> steady_deadline;
  /// How the order came in: "" for the remote protocol (topup-cli, C++ clients, other
  /// nodes), "redis" or "rabbitmq" for the queue ingresses, which write their results back.
  std::string ingress;
  /// The merchant the order belongs to: with client_ref, the idempotency key.
  std::string merchant;
  /// The order's own callback URL; empty: the merchant's default.
  std::string notify_url;
  /// Providers that answered "wrong carrier" for this number (it was ported away from the
  /// carriers they serve), in the order they answered. Routing never sends the order to
  /// them again (domain/routing); the store keeps the list with the order.
  std::vector<std::string> wrong_carrier_at{};

  /// Same phone, amount, reference, merchant and callback URL, and the same carrier if the
  /// request names one: a resubmission of this order rather than a conflict.
  bool same_content(const order_request& request) const;
};

/// Maps the order's stored deadline onto the steady clock unless that was done already:
/// once per order and process, as early as possible (see steady_time_of).
void anchor_deadline(order& o, const clock& time);

/// The steady deadline of an order that was anchored; throws std::logic_error otherwise (an
/// order reached a queue without passing an entry point of the engine).
mono_time steady_deadline_of(const order& o);

/// How the engine's reasons for failing an order at (or for) its deadline begin: it waited
/// until its deadline, or the deadline left no time to try again after a failure.
inline constexpr std::string_view deadline_reached = "deadline reached";
inline constexpr std::string_view no_time_to_retry = "no time left to retry";

/// Whether an order's last_error is one of those: it failed for lack of time.
bool failed_at_deadline(std::string_view last_error);

/// How wrong_carrier_at is stored: each provider name followed by a line break, so that
/// the store appends one with plain string concatenation in the statement of the change.
std::string stored_provider_entry(std::string_view provider);
std::string encode_provider_list(const std::vector<std::string>& providers);
std::vector<std::string> decode_provider_list(std::string_view stored);

/// "138****0000": what logs may show of a phone number. The first three and the last four
/// characters stay (shown with text::printable) and every character between them becomes
/// one '*'; with seven characters or fewer, every character does.
std::string mask_phone(std::string_view phone);

/// `text` with every occurrence of `phone` masked: the node's error reasons may quote the
/// number, and what people read never shows one in full.
std::string mask_phone_in(std::string text, std::string_view phone);

} // namespace topup
