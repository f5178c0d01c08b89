#pragma once

// The callback sender: delivers the merchants' result notifications from the outbox the store
// writes in the commit of each final state change (persistence/callback_outbox).
// - Every poll_interval_ms (and whenever calls end) it takes, per merchant, the pending
//   notifications that are due, up to that merchant's free call slots
//   (concurrency_per_merchant): a merchant whose endpoint is slow or down fills only
//   its own slots, never another merchant's, and never touches recharging (which does not
//   wait for callbacks at all). On PostgreSQL it claims them, keeping other nodes' senders
//   off those rows during the call; on SQLite (one sender per file) it only reads them and
//   its `in_flight` set keeps them from a second call, so that it takes SQLite's one write
//   lock from the order store's commits only to record outcomes.
// - Each call is a signed POST (api/merchant_api, callback_headers) through an http_client
//   (providers/http_client: asio on a thread of its own, one per destination origin and CA
//   file; TLS with the certificate checked for https://), bounded by timeout_ms.
// - Each outcome is recorded in the outbox (domain/merchant_callback,
//   callback_attempt_outcome): delivered, pending with the next attempt time, or abandoned;
//   the outcomes of the calls that ended together in one transaction per shard.
// - It answers `stats` (its counts, the outbox's pending ones) and, for topup-cli through the
//   gateway, lists an order's notifications and makes one due again (redeliver).
// - Old delivered and abandoned notifications (keep_finished_s) are removed a small batch
//   per tick (callback_outbox::prune_finished); pending ones never.
// - After a restart it simply reads the outbox again: a call cut off by the crash (or whose
//   outcome was not written yet) is made again (same delivery id): on SQLite at once, on
//   PostgreSQL once its claim lapses.
// The actor is detached: its outbox reads and writes block its own thread only.

#include "config/config.hpp"
#include "domain/clock.hpp"
#include "messages/interfaces.hpp"
#include "metrics/node_metrics.hpp"

#include <memory>

namespace topup {

struct callback_sender_options {
  store_config store;
  merchant_directory merchants;
  callback_config callbacks;
  /// The node's metrics (the duration of each call); null: not measured.
  std::shared_ptr<node_metrics> metrics{};
};

callback_sender_actor spawn_callback_sender(caf::actor_system& system,
                                            callback_sender_options options,
                                            std::shared_ptr<const clock> time);

} // namespace topup
