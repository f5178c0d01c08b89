#pragma once

// The adapter of a real provider: recharges and status queries as signed JSON over HTTP/1.1
// (providers/http_wire.hpp), through a keep-alive connection pool, without blocking any
// scheduler thread.
//
// What the recharge actor is told. The rule: a request that may have reached the provider has
// an UNKNOWN outcome, answered with the topup error errc::outcome_unknown;
// the recharge actor treats every error reply like a timeout (outcome_lost) and queries the
// order. Only a call that surely did nothing is a failure.
//
//   what happened                                          recharge reply
//   -----------------------------------------------------  ------------------------------
//   200, body parses                                       the parsed reply
//   connection refused, DNS failure, connect timeout       transient_failure (not sent)
//   no pooled connection free within 3/4 of the budget     transient_failure (not sent: so
//                                                            late it would most likely end
//                                                            unanswered, i.e. unknown)
//   request not completely written (a server acts only     transient_failure (not sent);
//     on a complete request)                                 on a reused keep-alive
//                                                            connection first re-sent once
//                                                            on a fresh one
//   the call's origin.send_by (its lease's validity)       error stale_owner (not sent:
//     passed before the request could be written             a node paused or kept waiting
//                                                            past its lease never calls)
//   401 / 403                                              transient_failure ("provider
//                                                            rejected the signature (401)")
//   other 4xx                                              transient_failure (refused, not
//                                                            performed)
//   5xx; 1xx, 3xx, 2xx other than 200                      unknown
//   200 with a body that does not parse                    unknown
//   reset / EOF / read error after the request was written unknown (never re-sent)
//   no answer within the call budget                       unknown
//
// A status query is safe to repeat, so every failure of one (including 4xx and unparseable
// bodies) is a query_reply query_failed with the reason in detail; one not sent because its
// send_by passed is the error stale_owner, as for a recharge.
//
// The call budget. The recharge actor's own request times out after the provider's
// timeout_ms, counted from when it sent the message. The adapter gives each call
// http_call_budget(timeout_ms), slightly less, counted from when it receives the message: the
// answer it then gives (e.g. "no connection freed up: transient_failure") still reaches the
// recharge actor before that request's timeout, across the mailbox hops in between, instead of
// racing it and being dropped (which would turn a call that surely did nothing into an unknown
// outcome and a needless query). A longer budget would only hold a pooled connection for an
// answer nobody waits for anymore.
//
// Threads. The adapter is an event-based actor; its http_client runs one io_context on a thread
// of its own, shared by every call. Finished exchanges go into a mutex-protected queue and the
// client wakes the actor with its commit_atom; the actor drains the queue and delivers the
// response promises in its own context (never from the asio thread). The client is stopped and
// its thread joined when the actor's state is destroyed.

#include "config/config.hpp"
#include "domain/clock.hpp"
#include "messages/interfaces.hpp"

#include <cstdint>
#include <map>
#include <memory>
#include <string>

namespace topup {

class http_client;

/// The time one call may take in the adapter: timeout_ms less a margin (a tenth of it, at
/// most 50 ms) so that the adapter's own answer arrives before the caller's timeout.
milliseconds http_call_budget(milliseconds call_timeout);

/// What one HTTP adapter has done since it started; logged when it stops.
struct http_provider_counters {
  uint64_t calls = 0;
  uint64_t queries = 0;
  uint64_t answered = 0;     ///< recharges answered with a parsed reply
  uint64_t not_sent = 0;     ///< recharges answered transient_failure without reaching it
  uint64_t refused = 0;      ///< recharges the provider refused with a 4xx
  uint64_t unknown = 0;      ///< recharges answered with the unknown-outcome error
  uint64_t query_failed = 0;
};

struct http_provider_state {
  static constexpr const char* name = "http_provider";

  std::string provider;
  std::string base_url;
  std::string secret;
  std::string recharge_target;  ///< path_prefix + /recharge
  std::string query_target;
  milliseconds budget{0};
  std::shared_ptr<const clock> time;
  std::unique_ptr<http_client> client;

  uint64_t last_call_id = 0;
  std::map<uint64_t, caf::typed_response_promise<recharge_reply>> recharges;
  std::map<uint64_t, caf::typed_response_promise<query_reply>> queries;
  http_provider_counters counters;

  http_provider_state();
  ~http_provider_state();
};

/// The HTTP adapter of `provider` (see the top of this file). `call_timeout` is the provider's
/// timeout_ms, the one its recharge actor's requests use. Throws std::invalid_argument when
/// cfg.base_url is not a plain http:// URL.
provider_actor::behavior_type
http_provider(provider_actor::stateful_pointer<http_provider_state> self, std::string provider,
              http_adapter_config cfg, milliseconds call_timeout,
              std::shared_ptr<const clock> time);

/// Spawns http_provider; throws std::invalid_argument when cfg.base_url cannot be used.
provider_actor spawn_http_provider(caf::actor_system& system, std::string provider,
                                   http_adapter_config cfg, milliseconds call_timeout,
                                   std::shared_ptr<const clock> time);

} // namespace topup
